"""A connector's 1.6 status and error code, worked out from power's hardware facts and what the gateway owns
(availability, the session being prepared, the reservation). Pure: no bus, no clock.

The order is the one of the 1.6 status table: a fault first (a module still starting is Unavailable, not
Faulted), then inoperative, a needed service down (neither cuts a running charge), the energized states,
Finishing until the cable is out, Preparing, Reserved, Available.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocpp.v16.enums import ChargePointErrorCode as Error
from ocpp.v16.enums import ChargePointStatus as Status

from services.common.contract.hardware import Condition, HardwareFault
from services.common.contract.power import ConnectorState

Value = tuple[str, str, str | None]  # status, errorCode, vendorErrorCode

FAULT_CODES: dict[str, Error] = {
    HardwareFault.GROUND_FAILURE: Error.ground_failure,
    HardwareFault.OVER_CURRENT: Error.over_current_failure,
    HardwareFault.OVER_VOLTAGE: Error.over_voltage,
    HardwareFault.UNDER_VOLTAGE: Error.under_voltage,
    HardwareFault.HIGH_TEMPERATURE: Error.high_temperature,
    HardwareFault.POWER_SWITCH: Error.power_switch_failure,
    HardwareFault.CONNECTOR_LOCK: Error.connector_lock_failure,
    HardwareFault.POWER_METER: Error.power_meter_failure,
    HardwareFault.EV_COMMUNICATION: Error.ev_communication_error,
    HardwareFault.READER: Error.reader_failure,
    HardwareFault.INTERNAL: Error.internal_error,
    Condition.EMERGENCY_STOP: Error.other_error,
    Condition.MODULE_SILENT: Error.internal_error,
    Condition.EV_SILENT: Error.ev_communication_error,
    Condition.IO_SILENT: Error.internal_error,
}
SESSION_STATUSES = frozenset({Status.charging.value, Status.suspended_ev.value, Status.suspended_evse.value})


@dataclass(frozen=True)
class Owned:
    """What the gateway itself knows of a connector."""

    operative: bool = True
    preparing: bool = False  # an authorised session waits for the cable, or is being started
    reserved: bool = False


def work_out(state: ConnectorState, owned: Owned) -> Value:
    fault = state.fault
    if fault == Condition.MODULE_STARTING:
        return Status.unavailable.value, Error.no_error.value, fault
    if fault is not None:
        # a fault power knows and this table does not is still a fault
        return Status.faulted.value, FAULT_CODES.get(fault, Error.other_error).value, fault
    if not owned.operative and not state.energized:
        return Status.unavailable.value, Error.no_error.value, None
    if state.blocked_by is not None and not state.energized:
        return Status.unavailable.value, Error.no_error.value, f"{state.blocked_by}_down"
    if state.energized:
        if state.delivering:
            return Status.charging.value, Error.no_error.value, None
        if state.held_back:
            return Status.suspended_evse.value, Error.no_error.value, None
        return Status.suspended_ev.value, Error.no_error.value, None
    if state.awaiting_unplug and not owned.preparing:  # a new session on it leaves Finishing for Preparing
        return Status.finishing.value, Error.no_error.value, None
    if state.plugged or owned.preparing:
        return Status.preparing.value, Error.no_error.value, None
    if owned.reserved:
        return Status.reserved.value, Error.no_error.value, None
    return Status.available.value, Error.no_error.value, None


def usable(value: Value) -> bool:
    """A new session may start on a connector in this status."""
    return value[0] not in (Status.faulted.value, Status.unavailable.value)

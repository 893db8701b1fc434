"""TransactionEvent payloads (OCPP 2.0.1 E), pure: what the CSMS is told of a transaction, from the station's
own facts (the session, power's connector state, metering's readings, the stop reason of `sessions.py`).

The transactionId is the gateway's session id: made by the station, known before the CSMS hears of it, the
same id in the station's logs and on the bus. seqNo counts the events of one transaction from 0; the caller
keeps the count with the queued message, so that the order survives a restart. The payloads are the `ocpp`
library's snake_case dicts, as its v201 `call.TransactionEvent` takes them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from ocpp.v201.enums import ChargingStateEnumType as ChargingState
from ocpp.v201.enums import ReasonEnumType as StoppedReason
from ocpp.v201.enums import TransactionEventEnumType as EventType
from ocpp.v201.enums import TriggerReasonEnumType as Trigger

from services.common.contract.auth import IdToken
from services.common.contract.metering import Measurand, MeterValue, Sample
from services.common.contract.power import ConnectorState

from ..messages import CONTEXTS, LOCATIONS, MEASURAND_NAMES, MEASURAND_UNITS
from ..sessions import Reason
from .tokens import id_token

# why a transaction ended, as the CSMS is told it: its stoppedReason and what made it end
STOPS: dict[Reason, tuple[StoppedReason, Trigger]] = {
    Reason.LOCAL: (StoppedReason.local, Trigger.stop_authorized),
    Reason.REMOTE: (StoppedReason.remote, Trigger.remote_stop),
    Reason.EV_DISCONNECTED: (StoppedReason.ev_disconnected, Trigger.ev_communication_lost),
    Reason.EMERGENCY_STOP: (StoppedReason.emergency_stop, Trigger.abnormal_condition),
    Reason.DE_AUTHORIZED: (StoppedReason.de_authorized, Trigger.deauthorized),
    Reason.HARD_RESET: (StoppedReason.immediate_reset, Trigger.reset_command),
    Reason.SOFT_RESET: (StoppedReason.immediate_reset, Trigger.reset_command),
    Reason.REBOOT: (StoppedReason.reboot, Trigger.reset_command),
    Reason.POWER_LOSS: (StoppedReason.power_loss, Trigger.abnormal_condition),
    Reason.OTHER: (StoppedReason.other, Trigger.abnormal_condition),
}


class StartedBy(StrEnum):
    """The last of the conditions of TxStartPoint PowerPathClosed that came true: it names the Started event."""

    CARD = Trigger.authorized  # the card came last: the cable was in
    CABLE = Trigger.cable_plugged_in  # the cable came last: the card had been accepted
    REMOTE = Trigger.remote_start  # RequestStartTransaction


def charging_state(state: ConnectorState | None) -> ChargingState:
    """The chargingState of transactionInfo, from power's facts (none yet: a transaction runs, so a cable is in)."""
    if state is None:
        return ChargingState.ev_connected
    if state.energized:
        if state.delivering:
            return ChargingState.charging
        return ChargingState.suspended_evse if state.held_back else ChargingState.suspended_ev
    return ChargingState.ev_connected if state.plugged else ChargingState.idle


def meter_value(value: MeterValue) -> dict[str, Any]:
    """A metering reading as a 2.0.1 MeterValue: numbers, with the unit beside them."""
    return {"timestamp": value.timestamp.isoformat(),
            "sampled_value": [_sampled_value(s, value) for s in value.samples]}


def _sampled_value(sample: Sample, value: MeterValue) -> dict[str, Any]:
    # the register in whole watt-hours, as the meter counts them; the rest to a tenth
    number = float(int(sample.value)) if sample.measurand is Measurand.ENERGY_IMPORTED else round(sample.value, 1)
    return {"value": number, "context": CONTEXTS[value.cause], "measurand": MEASURAND_NAMES[sample.measurand],
            "location": LOCATIONS[sample.location], "unit_of_measure": {"unit": MEASURAND_UNITS[sample.measurand]}}


def started(transaction_id: str, at: datetime, by: StartedBy, *, evse_id: int, connector_id: int, token: IdToken,
            state: ConnectorState | None, meter: MeterValue | None, remote_start_id: int | None = None,
            reservation_id: int | None = None, offline: bool = False) -> dict[str, Any]:
    """The first event of a transaction (seqNo 0): where, who, and the register it starts from."""
    payload = _event(EventType.started, transaction_id, 0, at, Trigger(by.value), charging_state(state), meter,
                     offline)
    payload["evse"] = {"id": evse_id, "connector_id": connector_id}
    payload["id_token"] = id_token(token)
    if remote_start_id is not None:
        payload["transaction_info"]["remote_start_id"] = remote_start_id
    if reservation_id is not None:
        payload["reservation_id"] = reservation_id
    return payload


def updated(transaction_id: str, seq_no: int, at: datetime, trigger: Trigger, state: ConnectorState | None,
            meter: MeterValue | None = None, offline: bool = False) -> dict[str, Any]:
    """An event during the transaction: meter values (MeterValuePeriodic, MeterValueClock), a new charging
    state (ChargingStateChanged), a limit (ChargingRateChanged), a trigger (Trigger)."""
    if seq_no < 1:
        raise ValueError("seqNo 0 is the Started event's")
    return _event(EventType.updated, transaction_id, seq_no, at, trigger, charging_state(state), meter, offline)


def ended(transaction_id: str, seq_no: int, at: datetime, reason: Reason, state: ConnectorState | None,
          meter: MeterValue | None, token: IdToken | None = None, offline: bool = False) -> dict[str, Any]:
    """The last event: why it ended and the register it ended at; the token that stopped it, if one did.

    The output is off by then, whatever power last said: the cable is in or out (`state` may predate the stop)."""
    if seq_no < 1:
        raise ValueError("seqNo 0 is the Started event's")
    stopped, trigger = STOPS[reason]
    plugged = state is not None and state.plugged and reason is not Reason.EV_DISCONNECTED
    payload = _event(EventType.ended, transaction_id, seq_no, at, trigger,
                     ChargingState.ev_connected if plugged else ChargingState.idle, meter, offline)
    payload["transaction_info"]["stopped_reason"] = stopped
    if token is not None:
        payload["id_token"] = id_token(token)
    return payload


def _event(kind: EventType, transaction_id: str, seq_no: int, at: datetime, trigger: Trigger,
           charging: ChargingState, meter: MeterValue | None, offline: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event_type": kind, "timestamp": at.isoformat(), "trigger_reason": trigger, "seq_no": seq_no,
        "transaction_info": {"transaction_id": transaction_id, "charging_state": charging}}
    if meter is not None:
        payload["meter_value"] = [meter_value(meter)]
    if offline:
        payload["offline"] = True
    return payload

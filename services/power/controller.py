"""The connector's hardware facts and the current set-point: pure logic, no MQTT, no CAN, no clock.

Inputs are the decoded frames (with the monotonic time they arrived), the limits in force and the
commands of the gateway; outputs are the facts (plugged, energized, delivering, the fault in force), the
module command and the measurement. What a protocol calls the connector's status is worked out from these
facts by the gateway. Every method takes `now` (monotonic seconds) so tests drive time themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from services.common.contract.hardware import RATED_CURRENT_A, RATED_VOLTAGE_V, Condition, HardwareFault
from services.common.contract.power import ConnectorState, Measurement

from .can_codec import EvStatus, MeterReading, ModuleCommand, ModuleStatus, StationInputs

LINK_TIMEOUT_S = 1.0  # a module or EV frame older than this means the device went silent
BOOT_GRACE_S = 5.0  # after start, a module never heard yet is "starting" (Unavailable), not faulted

# the fault bits in the order of precedence when several are set
FAULT_PRECEDENCE: tuple[HardwareFault, ...] = (
    HardwareFault.GROUND_FAILURE, HardwareFault.OVER_CURRENT, HardwareFault.OVER_VOLTAGE, HardwareFault.UNDER_VOLTAGE,
    HardwareFault.HIGH_TEMPERATURE, HardwareFault.POWER_SWITCH, HardwareFault.CONNECTOR_LOCK,
    HardwareFault.POWER_METER, HardwareFault.EV_COMMUNICATION, HardwareFault.READER, HardwareFault.INTERNAL,
)


class Rejected(Exception):
    """A command that is valid but not allowed in the current state."""


@dataclass
class Controller:
    """One connector. Mutated by the service on every frame, command and tick."""

    started_at: float
    connector_id: int = 1
    module: ModuleStatus | None = None
    module_seen_at: float | None = None
    ev: EvStatus | None = None
    ev_seen_at: float | None = None
    meter: MeterReading | None = None
    inputs: StationInputs | None = None
    inputs_seen_at: float | None = None
    smart_limit_a: float | None = None  # from smart_charging; None = no profile in force
    cap_a: float | None = None  # maintenance cap (cmd/set_limit)
    cap_fail_closed: str | None = None  # cap_a is the safe cap: the kept caps could not be read (why)
    hold_a: float | None = None  # after adopting a running charge: never raise above it until limits are known
    energized: bool = False
    session_id: str | None = None  # the gateway's session the output is energized for
    suspended: bool = False  # the session goes on, the station delivers no current
    operative: bool = True
    finishing: bool = False
    service_down: str | None = None  # a service the station needs is down (e.g. metering: nothing could be billed)
    _facts: tuple[object, ...] | None = None
    _since: datetime | None = field(default=None)

    # -- inputs ---------------------------------------------------------------------------------

    def on_module(self, status: ModuleStatus, now: float) -> None:
        self.module, self.module_seen_at = status, now

    def on_ev(self, ev: EvStatus, now: float) -> None:
        self.ev, self.ev_seen_at = ev, now

    def on_meter(self, meter: MeterReading) -> None:
        self.meter = meter

    def on_inputs(self, inputs: StationInputs, now: float) -> None:
        self.inputs, self.inputs_seen_at = inputs, now

    def on_smart_limit(self, limit_a: float | None) -> None:
        self.smart_limit_a = limit_a
        self.hold_a = None  # the limits are known now

    def adopt(self, now: float) -> bool:
        """After our own restart: a module that is delivering keeps delivering (we do not switch it off).

        Returns True when a running charge was adopted.
        """
        module = self.module
        if module is None or not module.enabled or self.fault(now) is not None:
            return False
        self.energized = True
        self.hold_a = module.current_a
        return True

    def release_hold(self) -> None:
        self.hold_a = None

    # -- commands -------------------------------------------------------------------------------

    def energize(self, now: float, session_id: str | None = None) -> None:
        self.settle(now)
        fault = self.fault(now)
        if fault is not None:
            raise Rejected(f"connector faulted: {fault}")
        if not self.operative:
            raise Rejected("connector is inoperative")
        if self.service_down is not None:
            raise Rejected(f"{self.service_down} is down")
        if not self.plugged(now):
            raise Rejected("no EV plugged in")
        self.energized, self.finishing = True, False
        self.session_id, self.suspended = session_id, False

    def deenergize(self, now: float) -> None:
        if self.energized:
            self.energized = False
            self.finishing = self.plugged(now)
        self.session_id, self.suspended = None, False

    def suspend(self, suspended: bool) -> None:
        if self.energized:
            self.suspended = suspended

    def set_cap(self, current_a: float | None, fail_closed: str | None = None) -> None:
        self.cap_a, self.cap_fail_closed = current_a, fail_closed

    def set_operative(self, operative: bool) -> None:
        self.operative = operative

    # -- derived --------------------------------------------------------------------------------

    def _fresh(self, seen_at: float | None, now: float) -> bool:
        return seen_at is not None and now - seen_at <= LINK_TIMEOUT_S

    def plugged(self, now: float) -> bool:
        return self.ev is not None and self._fresh(self.ev_seen_at, now) and self.ev.plugged

    def fault(self, now: float) -> str | None:
        """The fault in force: the emergency stop first, then module silence, the fault bits by precedence,
        EV silence, and silence of the safety inputs."""
        if self.inputs is not None and self._fresh(self.inputs_seen_at, now) and self.inputs.emergency_stop:
            return Condition.EMERGENCY_STOP
        if self.module_seen_at is None:
            return Condition.MODULE_STARTING if now - self.started_at < BOOT_GRACE_S else Condition.MODULE_SILENT
        if not self._fresh(self.module_seen_at, now):
            return Condition.MODULE_SILENT
        assert self.module is not None
        for bit in FAULT_PRECEDENCE:
            if bit in self.module.faults:
                return bit
        if not self._fresh(self.ev_seen_at, now):
            return Condition.EV_SILENT
        if not self._fresh(self.inputs_seen_at, now) and now - self.started_at >= BOOT_GRACE_S:
            return Condition.IO_SILENT
        return None

    def limit_a(self) -> float:
        limits = [RATED_CURRENT_A]
        limits += [x for x in (self.smart_limit_a, self.cap_a) if x is not None]
        return max(0.0, min(limits))

    def setpoint_a(self, now: float) -> float:
        if not self.energized or self.suspended or self.ev is None or self.fault(now) is not None:
            return 0.0
        limits = [self.limit_a(), self.ev.request_a]
        if self.hold_a is not None:
            limits.append(self.hold_a)
        return round(max(0.0, min(limits)), 1)

    def voltage_setpoint_v(self) -> float:
        if not self.energized or self.ev is None:
            return 0.0
        target = self.ev.target_voltage_v
        return min(target, RATED_VOLTAGE_V) if target > 0 else RATED_VOLTAGE_V

    # -- state ----------------------------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Apply the safety rules: no output without an EV or with a fault; awaiting the unplug ends at unplug."""
        plugged = self.plugged(now)
        if self.energized and (self.fault(now) is not None or (self.ev_seen_at is not None and not plugged)):
            self.energized, self.session_id, self.suspended = False, None, False
            self.finishing = plugged
        if not plugged:
            self.finishing = False

    def snapshot(self, now: float, wall: datetime) -> ConnectorState:
        self.settle(now)
        plugged, fault, limit, setpoint = self.plugged(now), self.fault(now), self.limit_a(), self.setpoint_a(now)
        request = self.ev.request_a if self.ev is not None else 0.0
        delivering = self.energized and setpoint > 0 and request > 0
        held_back = self.energized and not delivering and (limit <= 0 or self.suspended)
        facts = (plugged, self.energized, delivering, held_back, self.finishing, fault, self.service_down,
                 self.suspended)
        if facts != self._facts or self._since is None:
            self._facts, self._since = facts, wall
        return ConnectorState(
            connector_id=self.connector_id,
            plugged=plugged,
            energized=self.energized,
            delivering=delivering,
            held_back=held_back,
            awaiting_unplug=self.finishing,
            fault=fault,
            blocked_by=self.service_down,
            suspended=self.suspended,
            limit_a=limit,
            cap_a=self.cap_a,
            cap_fail_closed=self.cap_fail_closed,
            setpoint_a=setpoint,
            since=self._since,
        )

    def command(self, now: float, alive: int) -> ModuleCommand:
        self.settle(now)
        setpoint = self.setpoint_a(now)
        return ModuleCommand(self.energized, self.voltage_setpoint_v(), setpoint, alive % 256)

    def measurement(self, now: float, wall: datetime, boot_id: str, sequence: int) -> Measurement | None:
        module = self.module
        if module is None:
            return None
        plugged = self.plugged(now)
        ev = self.ev if plugged else None
        offered = self.setpoint_a(now)
        voltage = module.voltage_v or self.voltage_setpoint_v()
        return Measurement(
            connector_id=self.connector_id,
            timestamp=wall,
            boot_id=boot_id,
            sequence=sequence,
            voltage_v=module.voltage_v,
            current_a=module.current_a,
            power_w=round(module.voltage_v * module.current_a, 1),
            energy_wh=self.meter.energy_wh if self.meter is not None else 0.0,
            temperature_c=module.temperature_c,
            soc_pct=ev.soc_pct if ev is not None else None,
            ev_request_a=ev.request_a if ev is not None else 0.0,
            offered_current_a=offered,
            offered_power_w=round(offered * voltage, 1),
        )


def same_state(a: ConnectorState | None, b: ConnectorState) -> bool:
    """Equal but for `since` (which only moves with the facts)."""
    return a is not None and a.model_dump(exclude={"since"}) == b.model_dump(exclude={"since"})


def significant(prev: Measurement | None, new: Measurement) -> bool:
    """A change worth publishing before the next 1 s sample."""
    if prev is None:
        return True
    if abs(new.current_a - prev.current_a) >= max(1.0, 0.02 * prev.current_a):
        return True
    if abs(new.voltage_v - prev.voltage_v) >= 5.0:
        return True
    if new.offered_current_a != prev.offered_current_a or new.ev_request_a != prev.ev_request_a:
        return True
    return (new.soc_pct is None) != (prev.soc_pct is None) or not math.isclose(new.temperature_c, prev.temperature_c,
                                                                              abs_tol=5.0)

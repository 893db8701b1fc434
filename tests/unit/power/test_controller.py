"""The connector state machine and set-point, driven with a fake clock (plain floats)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from services.common.contract.hardware import HardwareFault
from services.common.contract.power import ConnectorErrorCode as E
from services.common.contract.power import ConnectorStatus as S
from services.power.can_codec import EvStatus, MeterReading, ModuleStatus, Pilot, StationInputs
from services.power.controller import (
    BOOT_GRACE_S,
    FAULT_CODES,
    LINK_TIMEOUT_S,
    RATED_CURRENT_A,
    Controller,
    Rejected,
    same_state,
    significant,
)

T0 = 100.0  # "now" in the tests: well after the boot grace of a controller started at 0
WALL = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)


@dataclass
class Rig:
    """The inputs of one table row."""

    plugged: bool = False
    request_a: float = 200.0
    faults: frozenset[HardwareFault] = field(default_factory=frozenset)
    module_enabled: bool = False
    module_current_a: float = 0.0
    energized: bool = False
    operative: bool = True
    preparing: bool = False
    finishing: bool = False
    smart_a: float | None = None
    cap_a: float | None = None
    estop: bool = False
    suspended: bool = False
    service_down: str | None = None


def build(rig: Rig, now: float = T0) -> Controller:
    ctl = Controller(started_at=0.0)
    ctl.on_module(ModuleStatus(rig.module_enabled, 400.0 if rig.module_enabled else 0.0, rig.module_current_a, 30.0,
                               rig.faults), now)
    ctl.on_ev(ev(rig.plugged, rig.request_a), now)
    ctl.on_inputs(StationInputs(emergency_stop=rig.estop), now)
    ctl.settle(now)  # the plug is seen before the intent is set, as on the wire
    ctl.energized, ctl.operative = rig.energized, rig.operative
    ctl.preparing, ctl.finishing = rig.preparing, rig.finishing
    ctl.smart_limit_a, ctl.cap_a = rig.smart_a, rig.cap_a
    ctl.suspended = rig.suspended
    ctl.service_down = rig.service_down
    return ctl


def ev(plugged: bool, request_a: float = 200.0, soc: float = 40.0) -> EvStatus:
    return EvStatus(Pilot.B if plugged else Pilot.A, plugged, request_a if plugged else 0.0, 450.0, soc)


STATUS_TABLE = [
    # (row, expected status)
    ("nothing plugged", Rig(), S.AVAILABLE),
    ("EV plugged, no session yet", Rig(plugged=True), S.PREPARING),
    ("authorised, waiting for the cable", Rig(preparing=True), S.PREPARING),
    ("inoperative and idle", Rig(operative=False), S.UNAVAILABLE),
    ("inoperative wins over a plugged EV", Rig(operative=False, plugged=True), S.UNAVAILABLE),
    ("inoperative does not cut a running charge", Rig(operative=False, plugged=True, energized=True), S.CHARGING),
    ("energized and the EV draws", Rig(plugged=True, energized=True), S.CHARGING),
    ("smart charging limit 0", Rig(plugged=True, energized=True, smart_a=0.0), S.SUSPENDED_EVSE),
    ("maintenance cap 0", Rig(plugged=True, energized=True, cap_a=0.0), S.SUSPENDED_EVSE),
    ("EV asks for nothing", Rig(plugged=True, energized=True, request_a=0.0), S.SUSPENDED_EV),
    ("both zero: the station's limit is named", Rig(plugged=True, energized=True, request_a=0.0, smart_a=0.0),
     S.SUSPENDED_EVSE),
    ("de-energized, still plugged", Rig(plugged=True, finishing=True), S.FINISHING),
    ("finishing ends with the cable", Rig(finishing=True), S.AVAILABLE),
    ("fault beats everything", Rig(plugged=True, energized=True, faults=frozenset({HardwareFault.INTERNAL})),
     S.FAULTED),
    ("emergency stop", Rig(plugged=True, energized=True, estop=True), S.FAULTED),
    ("suspended by the gateway (invalid idTag)", Rig(plugged=True, energized=True, suspended=True),
     S.SUSPENDED_EVSE),
    ("a needed service is down", Rig(plugged=True, service_down="metering"), S.UNAVAILABLE),
    ("a needed service down does not cut a running charge", Rig(plugged=True, energized=True,
                                                                service_down="metering"), S.CHARGING),
]


@pytest.mark.parametrize(("row", "rig", "expected"), STATUS_TABLE, ids=[r[0] for r in STATUS_TABLE])
def test_status(row: str, rig: Rig, expected: S) -> None:
    status, _fault = build(rig).status(T0)
    assert status is expected, row


@pytest.mark.parametrize(("bit", "code"), FAULT_CODES.items(), ids=[b.value for b in FAULT_CODES])
def test_each_fault_bit_maps_to_its_ocpp_error_code(bit: HardwareFault, code: E) -> None:
    ctl = build(Rig(plugged=True, faults=frozenset({bit})))
    state = ctl.snapshot(T0, WALL)
    assert (state.status, state.error_code, state.vendor_error_code) == (S.FAULTED, code, bit.value)
    assert code is not E.NO_ERROR


def test_several_faults_report_the_first_by_precedence() -> None:
    ctl = build(Rig(faults=frozenset({HardwareFault.READER, HardwareFault.GROUND_FAILURE})))
    assert ctl.snapshot(T0, WALL).error_code is E.GROUND_FAILURE


SETPOINT_TABLE = [
    # (row, rig, setpoint)
    ("EV request is the lowest", Rig(plugged=True, energized=True, request_a=120.0), 120.0),
    ("smart charging limit", Rig(plugged=True, energized=True, smart_a=80.0), 80.0),
    ("maintenance cap", Rig(plugged=True, energized=True, cap_a=50.0, smart_a=90.0), 50.0),
    ("module rating", Rig(plugged=True, energized=True, request_a=600.0, cap_a=10000.0), RATED_CURRENT_A),
    ("not energized: nothing", Rig(plugged=True), 0.0),
    ("faulted: nothing", Rig(plugged=True, energized=True, faults=frozenset({HardwareFault.OVER_CURRENT})), 0.0),
    ("suspended: nothing, contactors stay closed", Rig(plugged=True, energized=True, suspended=True), 0.0),
]


@pytest.mark.parametrize(("row", "rig", "setpoint"), SETPOINT_TABLE, ids=[r[0] for r in SETPOINT_TABLE])
def test_setpoint(row: str, rig: Rig, setpoint: float) -> None:
    ctl = build(rig)
    assert ctl.setpoint_a(T0) == setpoint, row
    cmd = ctl.command(T0, alive=7)
    assert cmd.current_a == setpoint and cmd.alive == 7
    assert cmd.enable is (rig.energized and not rig.faults)


def test_emergency_stop_cuts_the_output_at_once_and_faults_until_released() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    ctl.energize(T0, "s-1")
    ctl.on_inputs(StationInputs(emergency_stop=True), T0 + 0.05)
    cmd = ctl.command(T0 + 0.05, alive=1)
    assert (cmd.enable, cmd.current_a) == (False, 0.0) and not ctl.energized and ctl.session_id is None
    state = ctl.snapshot(T0 + 0.05, WALL)
    assert (state.status, state.error_code, state.vendor_error_code) == (S.FAULTED, E.OTHER_ERROR,
                                                                           "emergency_stop")
    with pytest.raises(Rejected, match="emergency_stop"):
        ctl.energize(T0 + 0.1, "s-2")
    ctl.on_inputs(StationInputs(emergency_stop=False), T0 + 0.2)
    assert ctl.status(T0 + 0.2)[0] is S.FINISHING  # released: the EV is still plugged, the session is over


def test_silent_safety_inputs_are_a_fault_after_the_boot_grace() -> None:
    ctl = Controller(started_at=T0)
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset()), T0 + 0.5)
    ctl.on_ev(ev(False), T0 + 0.5)
    assert ctl.fault(T0 + 0.5) is None  # not heard yet, still booting
    later = T0 + BOOT_GRACE_S + 0.1
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset()), later)
    ctl.on_ev(ev(False), later)
    fault = ctl.fault(later)
    assert fault is not None and (fault.code, fault.vendor) == (E.INTERNAL_ERROR, "io_silent")


@pytest.mark.parametrize(
    ("row", "rig", "reason"),
    [
        ("unplugged", Rig(), "no EV"),
        ("faulted", Rig(plugged=True, faults=frozenset({HardwareFault.GROUND_FAILURE})), "faulted"),
        ("inoperative", Rig(plugged=True, operative=False), "inoperative"),
        ("a needed service is down", Rig(plugged=True, service_down="auth"), "auth is down"),
    ],
)
def test_energize_is_rejected(row: str, rig: Rig, reason: str) -> None:
    ctl = build(rig)
    with pytest.raises(Rejected, match=reason):
        ctl.energize(T0)
    assert not ctl.energized, row


def test_session_walk_through() -> None:
    ctl = build(Rig(preparing=True))
    assert ctl.status(T0)[0] is S.PREPARING
    ctl.on_ev(ev(True), T0 + 0.1)
    ctl.energize(T0 + 0.1)
    assert not ctl.preparing and ctl.status(T0 + 0.1)[0] is S.CHARGING
    ctl.deenergize(T0 + 0.2)
    assert ctl.status(T0 + 0.2)[0] is S.FINISHING and ctl.command(T0 + 0.2, 0).enable is False
    ctl.on_ev(ev(False), T0 + 0.3)
    assert ctl.status(T0 + 0.3)[0] is S.AVAILABLE


def test_unplug_while_energized_opens_the_output() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    ctl.on_ev(ev(False), T0 + 0.1)
    assert ctl.status(T0 + 0.1)[0] is S.AVAILABLE
    assert not ctl.energized and not ctl.command(T0 + 0.1, 0).enable


def test_unplug_ends_a_prepared_session() -> None:
    ctl = build(Rig(plugged=True, preparing=True))
    ctl.on_ev(ev(False), T0 + 0.1)
    assert ctl.status(T0 + 0.1)[0] is S.AVAILABLE and not ctl.preparing


def test_fault_while_charging_drops_the_output_and_clear_leaves_finishing() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset({HardwareFault.OVER_VOLTAGE})), T0 + 0.1)
    assert ctl.snapshot(T0 + 0.1, WALL).error_code is E.OVER_VOLTAGE
    assert not ctl.energized
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset()), T0 + 0.2)
    assert ctl.status(T0 + 0.2)[0] is S.FINISHING


def test_module_silence_is_an_internal_error() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    later = T0 + LINK_TIMEOUT_S + 0.1
    ctl.on_ev(ev(True), later)
    state = ctl.snapshot(later, WALL)
    assert (state.status, state.error_code, state.vendor_error_code) == (S.FAULTED, E.INTERNAL_ERROR, "module_silent")
    assert not ctl.energized


def test_ev_silence_is_an_ev_communication_error() -> None:
    ctl = build(Rig(plugged=True))
    later = T0 + LINK_TIMEOUT_S + 0.1
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset()), later)
    assert ctl.snapshot(later, WALL).error_code is E.EV_COMMUNICATION_ERROR


def test_a_module_never_heard_is_starting_then_silent() -> None:
    ctl = Controller(started_at=0.0)
    early = ctl.snapshot(0.5, WALL)
    assert (early.status, early.error_code, early.vendor_error_code) == (S.UNAVAILABLE, E.NO_ERROR, "module_starting")
    late = ctl.snapshot(BOOT_GRACE_S + 0.1, WALL)
    assert (late.status, late.vendor_error_code) == (S.FAULTED, "module_silent")


def test_adopt_a_running_charge_after_our_restart() -> None:
    ctl = build(Rig(plugged=True, module_enabled=True, module_current_a=150.0))
    assert ctl.adopt(T0) is True
    assert ctl.energized and ctl.status(T0)[0] is S.CHARGING
    assert ctl.setpoint_a(T0) == 150.0  # held at what the module delivers until the limits are known
    ctl.on_smart_limit(None)
    assert ctl.setpoint_a(T0) == 200.0


def test_adopt_nothing_when_the_module_is_off() -> None:
    ctl = build(Rig(plugged=True))
    assert ctl.adopt(T0) is False and not ctl.energized
    assert ctl.status(T0)[0] is S.PREPARING


def test_since_moves_only_with_the_status() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    first = ctl.snapshot(T0, WALL)
    ctl.set_cap(100.0)
    second = ctl.snapshot(T0, datetime(2026, 11, 24, 23, 0, tzinfo=UTC))
    assert second.since == first.since and second.setpoint_a == 100.0 and not same_state(first, second)
    ctl.deenergize(T0)
    third = ctl.snapshot(T0, datetime(2026, 11, 24, 23, 0, tzinfo=UTC))
    assert third.since != first.since and third.status is S.FINISHING


def test_measurement_and_significant_change() -> None:
    ctl = build(Rig(plugged=True, energized=True, module_enabled=True, module_current_a=200.0))
    ctl.on_meter(MeterReading(1234.5))
    m = ctl.measurement(T0, WALL, "boot-1", 7)
    assert m is not None
    assert (m.current_a, m.voltage_v, m.power_w, m.energy_wh, m.soc_pct) == (200.0, 400.0, 80000.0, 1234.5, 40.0)
    assert (m.offered_current_a, m.ev_request_a) == (200.0, 200.0)
    assert significant(None, m)
    assert not significant(m, m.model_copy(update={"current_a": 200.5}))
    assert significant(m, m.model_copy(update={"current_a": 150.0}))
    assert significant(m, m.model_copy(update={"offered_current_a": 100.0}))
    assert Controller(started_at=0.0).measurement(T0, WALL, "boot-1", 0) is None

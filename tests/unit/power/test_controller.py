"""The connector's hardware facts and set-point, driven with a fake clock (plain floats)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.contract.hardware import Condition, HardwareFault
from services.power.can_codec import MeterReading, ModuleStatus, StationInputs
from services.power.controller import (
    BOOT_GRACE_S,
    LINK_TIMEOUT_S,
    RATED_CURRENT_A,
    Controller,
    Rejected,
    same_state,
    significant,
)

from .rig import T0, WALL, Rig, build, ev

FACTS_TABLE = [
    # (row, rig, (plugged, energized, delivering, held_back, awaiting_unplug, fault, blocked_by))
    ("nothing plugged", Rig(), (False, False, False, False, False, None, None)),
    ("EV plugged", Rig(plugged=True), (True, False, False, False, False, None, None)),
    ("energized and the EV draws", Rig(plugged=True, energized=True), (True, True, True, False, False, None, None)),
    ("limit 0: held back", Rig(plugged=True, energized=True, smart_a=0.0),
     (True, True, False, True, False, None, None)),
    ("suspended: held back", Rig(plugged=True, energized=True, suspended=True),
     (True, True, False, True, False, None, None)),
    ("the EV takes nothing", Rig(plugged=True, energized=True, request_a=0.0),
     (True, True, False, False, False, None, None)),
    ("both zero: held back", Rig(plugged=True, energized=True, request_a=0.0, smart_a=0.0),
     (True, True, False, True, False, None, None)),
    ("de-energized, still plugged", Rig(plugged=True, finishing=True), (True, False, False, False, True, None, None)),
    ("awaiting the unplug ends with the cable", Rig(finishing=True), (False, False, False, False, False, None, None)),
    ("a fault cuts the output", Rig(plugged=True, energized=True, faults=frozenset({HardwareFault.INTERNAL})),
     (True, False, False, False, True, HardwareFault.INTERNAL, None)),
    ("emergency stop", Rig(plugged=True, estop=True), (True, False, False, False, False, Condition.EMERGENCY_STOP,
                                                        None)),
    ("a needed service is down", Rig(plugged=True, service_down="metering"),
     (True, False, False, False, False, None, "metering")),
]


@pytest.mark.parametrize(("row", "rig", "facts"), FACTS_TABLE, ids=[r[0] for r in FACTS_TABLE])
def test_facts(row: str, rig: Rig, facts: tuple[object, ...]) -> None:
    s = build(rig).snapshot(T0, WALL)
    assert (s.plugged, s.energized, s.delivering, s.held_back, s.awaiting_unplug, s.fault, s.blocked_by) == facts, row


def test_several_faults_report_the_first_by_precedence() -> None:
    ctl = build(Rig(faults=frozenset({HardwareFault.READER, HardwareFault.GROUND_FAILURE})))
    assert ctl.snapshot(T0, WALL).fault == HardwareFault.GROUND_FAILURE


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
    assert ctl.snapshot(T0 + 0.05, WALL).fault == Condition.EMERGENCY_STOP
    with pytest.raises(Rejected, match="emergency_stop"):
        ctl.energize(T0 + 0.1, "s-2")
    ctl.on_inputs(StationInputs(emergency_stop=False), T0 + 0.2)
    released = ctl.snapshot(T0 + 0.2, WALL)
    assert released.fault is None and released.awaiting_unplug  # the EV is still plugged, the session is over


def test_silent_safety_inputs_are_a_fault_after_the_boot_grace() -> None:
    ctl = Controller(started_at=T0)
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset()), T0 + 0.5)
    ctl.on_ev(ev(False), T0 + 0.5)
    assert ctl.fault(T0 + 0.5) is None  # not heard yet, still booting
    later = T0 + BOOT_GRACE_S + 0.1
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset()), later)
    ctl.on_ev(ev(False), later)
    assert ctl.fault(later) == Condition.IO_SILENT


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
    ctl = build(Rig())
    ctl.on_ev(ev(True), T0 + 0.1)
    ctl.energize(T0 + 0.1)
    assert ctl.snapshot(T0 + 0.1, WALL).delivering
    ctl.deenergize(T0 + 0.2)
    assert ctl.snapshot(T0 + 0.2, WALL).awaiting_unplug and ctl.command(T0 + 0.2, 0).enable is False
    ctl.on_ev(ev(False), T0 + 0.3)
    after = ctl.snapshot(T0 + 0.3, WALL)
    assert not (after.plugged or after.energized or after.awaiting_unplug)


def test_unplug_while_energized_opens_the_output() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    ctl.on_ev(ev(False), T0 + 0.1)
    after = ctl.snapshot(T0 + 0.1, WALL)
    assert not (after.plugged or after.energized or after.awaiting_unplug)
    assert not ctl.energized and not ctl.command(T0 + 0.1, 0).enable


def test_fault_while_charging_drops_the_output_and_clear_leaves_finishing() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset({HardwareFault.OVER_VOLTAGE})), T0 + 0.1)
    assert ctl.snapshot(T0 + 0.1, WALL).fault == HardwareFault.OVER_VOLTAGE
    assert not ctl.energized
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset()), T0 + 0.2)
    cleared = ctl.snapshot(T0 + 0.2, WALL)
    assert cleared.fault is None and cleared.awaiting_unplug


def test_module_silence_cuts_the_output() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    later = T0 + LINK_TIMEOUT_S + 0.1
    ctl.on_ev(ev(True), later)
    assert ctl.snapshot(later, WALL).fault == Condition.MODULE_SILENT
    assert not ctl.energized


def test_ev_silence_is_a_fault() -> None:
    ctl = build(Rig(plugged=True))
    later = T0 + LINK_TIMEOUT_S + 0.1
    ctl.on_module(ModuleStatus(False, 0.0, 0.0, 30.0, frozenset()), later)
    assert ctl.snapshot(later, WALL).fault == Condition.EV_SILENT


def test_a_module_never_heard_is_starting_then_silent() -> None:
    ctl = Controller(started_at=0.0)
    assert ctl.snapshot(0.5, WALL).fault == Condition.MODULE_STARTING
    assert ctl.snapshot(BOOT_GRACE_S + 0.1, WALL).fault == Condition.MODULE_SILENT


def test_adopt_a_running_charge_after_our_restart() -> None:
    ctl = build(Rig(plugged=True, module_enabled=True, module_current_a=150.0))
    assert ctl.adopt(T0) is True
    assert ctl.energized and ctl.snapshot(T0, WALL).delivering
    assert ctl.setpoint_a(T0) == 150.0  # held at what the module delivers until the limits are known
    ctl.on_smart_limit(None)
    assert ctl.setpoint_a(T0) == 200.0


def test_adopt_nothing_when_the_module_is_off() -> None:
    ctl = build(Rig(plugged=True))
    assert ctl.adopt(T0) is False and not ctl.energized
    assert ctl.snapshot(T0, WALL).plugged


def test_since_moves_only_with_the_facts() -> None:
    ctl = build(Rig(plugged=True, energized=True))
    first = ctl.snapshot(T0, WALL)
    ctl.set_cap(100.0)
    second = ctl.snapshot(T0, datetime(2026, 11, 24, 23, 0, tzinfo=UTC))
    assert second.since == first.since and second.setpoint_a == 100.0 and not same_state(first, second)
    ctl.deenergize(T0)
    third = ctl.snapshot(T0, datetime(2026, 11, 24, 23, 0, tzinfo=UTC))
    assert third.since != first.since and third.awaiting_unplug


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

"""A connector's 1.6 status, from power's facts (built by the real controller from a table row) and what the
gateway owns. The table is the one power used to answer itself before the status moved to the gateway."""

from __future__ import annotations

import pytest

from services.common.contract.hardware import Condition, HardwareFault
from services.ocpp_gateway.connector_status import FAULT_CODES, Owned, usable, work_out
from tests.unit.power.rig import T0, WALL, Rig, build

NOT_OWNED = Owned()

STATUS_TABLE = [
    # (row, rig, what the gateway owns, expected status)
    ("nothing plugged", Rig(), NOT_OWNED, "Available"),
    ("EV plugged, no session yet", Rig(plugged=True), NOT_OWNED, "Preparing"),
    ("authorised, waiting for the cable", Rig(), Owned(preparing=True), "Preparing"),
    ("reserved and idle", Rig(), Owned(reserved=True), "Reserved"),
    ("a plugged EV wins over the reservation", Rig(plugged=True), Owned(reserved=True), "Preparing"),
    ("inoperative and idle", Rig(), Owned(operative=False), "Unavailable"),
    ("inoperative wins over a plugged EV", Rig(plugged=True), Owned(operative=False), "Unavailable"),
    ("inoperative does not cut a running charge", Rig(plugged=True, energized=True), Owned(operative=False),
     "Charging"),
    ("energized and the EV draws", Rig(plugged=True, energized=True), NOT_OWNED, "Charging"),
    ("smart charging limit 0", Rig(plugged=True, energized=True, smart_a=0.0), NOT_OWNED, "SuspendedEVSE"),
    ("maintenance cap 0", Rig(plugged=True, energized=True, cap_a=0.0), NOT_OWNED, "SuspendedEVSE"),
    ("EV asks for nothing", Rig(plugged=True, energized=True, request_a=0.0), NOT_OWNED, "SuspendedEV"),
    ("both zero: the station's limit is named", Rig(plugged=True, energized=True, request_a=0.0, smart_a=0.0),
     NOT_OWNED, "SuspendedEVSE"),
    ("de-energized, still plugged", Rig(plugged=True, finishing=True), NOT_OWNED, "Finishing"),
    ("a new session started before the cable was out", Rig(plugged=True, finishing=True), Owned(preparing=True),
     "Preparing"),
    ("finishing ends with the cable", Rig(finishing=True), NOT_OWNED, "Available"),
    ("fault beats everything", Rig(plugged=True, energized=True, faults=frozenset({HardwareFault.INTERNAL})),
     Owned(preparing=True, reserved=True), "Faulted"),
    ("emergency stop", Rig(plugged=True, energized=True, estop=True), NOT_OWNED, "Faulted"),
    ("suspended by the gateway (a refused token)", Rig(plugged=True, energized=True, suspended=True), NOT_OWNED,
     "SuspendedEVSE"),
    ("a needed service is down", Rig(plugged=True, service_down="metering"), NOT_OWNED, "Unavailable"),
    ("a needed service down does not cut a running charge", Rig(plugged=True, energized=True,
                                                                service_down="metering"), NOT_OWNED, "Charging"),
]


@pytest.mark.parametrize(("row", "rig", "owned", "expected"), STATUS_TABLE, ids=[r[0] for r in STATUS_TABLE])
def test_status(row: str, rig: Rig, owned: Owned, expected: str) -> None:
    assert work_out(build(rig).snapshot(T0, WALL), owned)[0] == expected, row


@pytest.mark.parametrize("bit", list(HardwareFault), ids=[b.value for b in HardwareFault])
def test_each_fault_bit_has_its_error_code_and_names_itself(bit: HardwareFault) -> None:
    value = work_out(build(Rig(plugged=True, faults=frozenset({bit}))).snapshot(T0, WALL), NOT_OWNED)
    assert value == ("Faulted", FAULT_CODES[bit].value, bit.value) and value[1] != "NoError"
    assert not usable(value)


def test_several_faults_report_the_first_by_precedence() -> None:
    rig = Rig(faults=frozenset({HardwareFault.READER, HardwareFault.GROUND_FAILURE}))
    assert work_out(build(rig).snapshot(T0, WALL), NOT_OWNED)[1] == "GroundFailure"


def test_conditions_and_services_down_as_the_csms_sees_them() -> None:
    def value(rig: Rig, now: float = T0) -> tuple[str, str, str | None]:
        return work_out(build(rig).snapshot(now, WALL), NOT_OWNED)

    assert value(Rig(plugged=True, estop=True)) == ("Faulted", "OtherError", Condition.EMERGENCY_STOP)
    assert value(Rig(plugged=True, service_down="metering")) == ("Unavailable", "NoError", "metering_down")
    starting = work_out(build(Rig()).snapshot(0.5, WALL).model_copy(update={"fault": Condition.MODULE_STARTING}),
                        NOT_OWNED)
    assert starting == ("Unavailable", "NoError", "module_starting") and not usable(starting)


def test_a_fault_the_gateway_does_not_know_is_still_a_fault() -> None:
    state = build(Rig()).snapshot(T0, WALL).model_copy(update={"fault": "coolant_leak"})
    assert work_out(state, NOT_OWNED) == ("Faulted", "OtherError", "coolant_leak")

"""OCPP 2.0.1 B over a real WebSocket: the library's Central System side asks, the station's device model
answers; the library checks every message both ways against the 2.0.1 JSON schemas. Named after the OCTT 2.0.1
test cases where one exists (TC_B_06 get a variable, TC_B_07 set it, TC_B_12..14 base reports)."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.exceptions import OccurrenceConstraintViolationError
from ocpp.v201 import ChargePoint, call
from ocpp.v201.datatypes import ComponentType, GetVariableDataType, SetVariableDataType, VariableType

from services.ocpp_gateway.v201.variables import MAX_ITEMS_PER_MESSAGE, VARIABLES

from .conftest import Running


def variable(component: str, name: str, instance: str | None = None) -> dict[str, Any]:
    return {"component": ComponentType(name=component), "variable": VariableType(name=name, instance=instance)}


async def csms_of(running: Running) -> ChargePoint:
    """The Central System's side of the station's link, once the station is registered."""
    await running.link.wait_accepted()
    return running.csms.stations[0]


async def test_tc_b_06_07_get_and_set_variables(running: Running) -> None:
    csms = await csms_of(running)
    got = await csms.call(call.GetVariables(get_variable_data=[
        GetVariableDataType(**variable("OCPPCommCtrlr", "HeartbeatInterval")),
        GetVariableDataType(**variable("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent")),
        GetVariableDataType(**variable("NoSuchCtrlr", "HeartbeatInterval"))]))
    assert [(r["attribute_status"], r.get("attribute_value")) for r in got.get_variable_result] == [
        ("Accepted", "2"), ("Accepted", "3"), ("UnknownComponent", None)]  # 2: the boot answer's interval
    put = await csms.call(call.SetVariables(set_variable_data=[
        SetVariableDataType(attribute_value="15", **variable("SampledDataCtrlr", "TxUpdatedInterval")),
        SetVariableDataType(attribute_value="EVConnected", **variable("TxCtrlr", "TxStartPoint"))]))
    assert [r["attribute_status"] for r in put.set_variable_result] == ["Accepted", "Rejected"]
    again = await csms.call(call.GetVariables(get_variable_data=[
        GetVariableDataType(**variable("SampledDataCtrlr", "TxUpdatedInterval"))]))
    assert again.get_variable_result[0]["attribute_value"] == "15"


async def test_more_entries_than_a_message_may_carry_are_refused(running: Running) -> None:
    csms = await csms_of(running)
    too_many = [GetVariableDataType(**variable("OCPPCommCtrlr", "HeartbeatInterval"))] * (MAX_ITEMS_PER_MESSAGE + 1)
    with pytest.raises(OccurrenceConstraintViolationError, match="ItemsPerMessage"):
        await csms.call(call.GetVariables(get_variable_data=too_many), suppress=False)
    with pytest.raises(OccurrenceConstraintViolationError, match="ItemsPerMessage"):
        await csms.call(call.SetVariables(set_variable_data=[SetVariableDataType(
            attribute_value="60", **variable("OCPPCommCtrlr", "HeartbeatInterval"))] * (MAX_ITEMS_PER_MESSAGE + 1)),
            suppress=False)
    ok = await csms.call(call.GetVariables(get_variable_data=too_many[:MAX_ITEMS_PER_MESSAGE]))
    assert len(ok.get_variable_result) == MAX_ITEMS_PER_MESSAGE  # the link goes on


@pytest.mark.parametrize(("base", "expected"), [("FullInventory", len(VARIABLES)),
                                                ("ConfigurationInventory", None), ("SummaryInventory", 6)])
async def test_tc_b_12_to_14_a_base_report_comes_after_its_answer_in_ordered_parts(
        running: Running, base: str, expected: int | None) -> None:
    answer = await (await csms_of(running)).call(call.GetBaseReport(request_id=11, report_base=base))
    assert answer.status == "Accepted"
    await running.csms.until(lambda: any(not r.get("tbc") for r in running.csms.reports))
    reports = running.csms.reports
    assert {r["request_id"] for r in reports} == {11}
    assert [r["seq_no"] for r in reports] == list(range(len(reports)))
    assert [r.get("tbc", False) for r in reports] == [True] * (len(reports) - 1) + [False]
    sent = [d for r in reports for d in r["report_data"]]
    assert all(len(r["report_data"]) <= MAX_ITEMS_PER_MESSAGE for r in reports)
    if expected is not None:
        assert len(sent) == expected
    else:
        assert {d["variable_attribute"][0]["mutability"] for d in sent} == {"ReadWrite", "WriteOnly"}

"""OCPP 2.0.1 B over a real WebSocket: the library's Central System side asks, the station's device model
answers; the library checks every message both ways against the 2.0.1 JSON schemas. Named after the OCTT 2.0.1
test cases where one exists (TC_B_06 get a variable, TC_B_07 set it, TC_B_12..14 base reports)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.exceptions import OccurrenceConstraintViolationError
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.datatypes import ComponentType, GetVariableDataType, SetVariableDataType, VariableType
from ocpp.v201.enums import Action

from services.common.bus import Bus
from services.common.db import open_engine
from services.common.settings import Settings
from services.ocpp_gateway.service import MIGRATIONS
from services.ocpp_gateway.v201.provisioning import ProvisioningActions
from services.ocpp_gateway.v201.variable_store import VariableStore
from services.ocpp_gateway.v201.variables import MAX_ITEMS_PER_MESSAGE, VARIABLES, Var
from tests.broker import free_port


class Csms(ChargePoint):
    """The library's Central System side, keeping the reports it is sent."""

    def __init__(self, cp_id: str, connection: Any) -> None:
        super().__init__(cp_id, connection)
        self.reports: list[dict[str, Any]] = []
        self.report_done = asyncio.Event()

    @on(Action.notify_report)
    def on_notify_report(self, **payload: Any) -> call_result.NotifyReport:
        self.reports.append(payload)
        if not payload.get("tbc"):
            self.report_done.set()
        return call_result.NotifyReport()


@dataclass
class Link:
    csms: Csms
    store: VariableStore
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def live(var: Var) -> str:
    return {"AvailabilityState": "Available", "Available": "true", "Identity": "CB0000001",
            "DateTime": "2026-12-05T15:00:00+00:00"}.get(var.name, "0")


@pytest.fixture
async def link(settings: Settings, tmp_path: Path) -> AsyncIterator[Link]:
    connected: asyncio.Queue[Csms] = asyncio.Queue()

    async def accept(connection: Any) -> None:
        csms = Csms("CB0000001", connection)
        await connected.put(csms)
        with contextlib.suppress(websockets.ConnectionClosed):
            await csms.start()

    bus = Bus(settings, "ocpp_gateway", persistent=False)
    await bus.start(5)
    store = VariableStore(open_engine(tmp_path / "ocpp_gateway.sqlite", MIGRATIONS), bus, live)
    port = free_port()
    tasks: set[asyncio.Task[None]] = set()

    def spawn(work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    subprotocols: Any = ["ocpp2.0.1"]
    async with (websockets.serve(accept, "127.0.0.1", port, subprotocols=subprotocols),
                websockets.connect(f"ws://127.0.0.1:{port}/CB0000001", subprotocols=subprotocols) as ws):
        station = ProvisioningActions("CB0000001", ws, store, spawn)
        running = asyncio.create_task(station.start())
        try:
            yield Link(await connected.get(), store, tasks)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await running
    await bus.stop()


def variable(component: str, name: str, instance: str | None = None) -> dict[str, Any]:
    return {"component": ComponentType(name=component), "variable": VariableType(name=name, instance=instance)}


async def test_tc_b_06_07_get_and_set_variables(link: Link) -> None:
    got = await link.csms.call(call.GetVariables(get_variable_data=[
        GetVariableDataType(**variable("OCPPCommCtrlr", "HeartbeatInterval")),
        GetVariableDataType(**variable("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent")),
        GetVariableDataType(**variable("NoSuchCtrlr", "HeartbeatInterval"))]))
    assert [(r["attribute_status"], r.get("attribute_value")) for r in got.get_variable_result] == [
        ("Accepted", "300"), ("Accepted", "3"), ("UnknownComponent", None)]
    put = await link.csms.call(call.SetVariables(set_variable_data=[
        SetVariableDataType(attribute_value="15", **variable("SampledDataCtrlr", "TxUpdatedInterval")),
        SetVariableDataType(attribute_value="EVConnected", **variable("TxCtrlr", "TxStartPoint"))]))
    assert [r["attribute_status"] for r in put.set_variable_result] == ["Accepted", "Rejected"]
    again = await link.csms.call(call.GetVariables(get_variable_data=[
        GetVariableDataType(**variable("SampledDataCtrlr", "TxUpdatedInterval"))]))
    assert again.get_variable_result[0]["attribute_value"] == "15"


async def test_more_entries_than_a_message_may_carry_are_refused(link: Link) -> None:
    too_many = [GetVariableDataType(**variable("OCPPCommCtrlr", "HeartbeatInterval"))] * (MAX_ITEMS_PER_MESSAGE + 1)
    with pytest.raises(OccurrenceConstraintViolationError, match="ItemsPerMessage"):
        await link.csms.call(call.GetVariables(get_variable_data=too_many), suppress=False)
    with pytest.raises(OccurrenceConstraintViolationError, match="ItemsPerMessage"):
        await link.csms.call(call.SetVariables(set_variable_data=[SetVariableDataType(
            attribute_value="60", **variable("OCPPCommCtrlr", "HeartbeatInterval"))] * (MAX_ITEMS_PER_MESSAGE + 1)),
            suppress=False)
    ok = await link.csms.call(call.GetVariables(get_variable_data=too_many[:MAX_ITEMS_PER_MESSAGE]))
    assert len(ok.get_variable_result) == MAX_ITEMS_PER_MESSAGE  # the link goes on


@pytest.mark.parametrize(("base", "expected"), [("FullInventory", len(VARIABLES)),
                                                ("ConfigurationInventory", None), ("SummaryInventory", 6)])
async def test_tc_b_12_to_14_a_base_report_comes_after_its_answer_in_ordered_parts(
        link: Link, base: str, expected: int | None) -> None:
    answer = await link.csms.call(call.GetBaseReport(request_id=11, report_base=base))
    assert answer.status == "Accepted"
    async with asyncio.timeout(10):
        await link.csms.report_done.wait()
    reports = link.csms.reports
    assert {r["request_id"] for r in reports} == {11}
    assert [r["seq_no"] for r in reports] == list(range(len(reports)))
    assert [r.get("tbc", False) for r in reports] == [True] * (len(reports) - 1) + [False]
    sent = [d for r in reports for d in r["report_data"]]
    assert all(len(r["report_data"]) <= MAX_ITEMS_PER_MESSAGE for r in reports)
    if expected is not None:
        assert len(sent) == expected
    else:
        assert {d["variable_attribute"][0]["mutability"] for d in sent} == {"ReadWrite", "WriteOnly"}

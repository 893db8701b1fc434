"""The CSMS link in OCPP 2.0.1 against the library's Central System side over a real WebSocket: the subprotocol,
BootNotification with its reason through Pending to Accepted, the heartbeat interval the answer gives, and a
BasicAuthPassword set by SetVariables used from the reconnect it causes (OCTT TC_B_01, TC_B_02, TC_A_01)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.datatypes import ComponentType, SetVariableDataType, VariableType
from ocpp.v201.enums import Action

from services.common.bus import Bus
from services.common.contract.ocpp_gateway import Registration
from services.common.db import open_engine
from services.common.settings import Settings
from services.ocpp_gateway.link import Link
from services.ocpp_gateway.registration import RegistrationMemory
from services.ocpp_gateway.service import MIGRATIONS
from services.ocpp_gateway.tx_store import TxStore
from services.ocpp_gateway.v201.dialect import OCPP201
from services.ocpp_gateway.v201.provisioning import ProvisioningActions
from services.ocpp_gateway.v201.variable_store import VariableStore
from services.ocpp_gateway.v201.variables import Var
from tests.broker import free_port

CP = "CB0000001"
PASSWORD = "0123456789abcdef-A01"


@dataclass
class Csms:
    """The Central System: answers the first boot Pending, then Accepted; keeps what it saw."""

    boots: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    authorizations: list[str | None] = field(default_factory=list)
    subprotocols: list[str | None] = field(default_factory=list)
    stations: list[ChargePoint] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def side(self, connection: Any) -> ChargePoint:
        csms = self

        class Side(ChargePoint):
            @on(Action.boot_notification)
            def on_boot(self, **payload: Any) -> call_result.BootNotification:
                csms.boots.append(payload)
                csms.changed.set()
                status = "Pending" if len(csms.boots) == 1 else "Accepted"
                return call_result.BootNotification(current_time=datetime.now(UTC).isoformat(),
                                                    interval=1 if status == "Pending" else 2, status=status)

            @on(Action.heartbeat)
            def on_heartbeat(self) -> call_result.Heartbeat:
                csms.heartbeats += 1
                csms.changed.set()
                return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())

        return Side(CP, connection)

    async def until(self, done: Any, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                self.changed.clear()
                await self.changed.wait()


def live(var: Var) -> str:
    return {"SecurityProfile": "1", "Identity": CP, "AvailabilityState": "Available", "Available": "true",
            "DateTime": datetime.now(UTC).isoformat()}.get(var.name, "0")


@pytest.fixture
async def running(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Csms, Link]]:
    csms = Csms()

    async def accept(connection: Any) -> None:
        csms.authorizations.append(connection.request.headers.get("Authorization"))
        csms.subprotocols.append(connection.subprotocol)
        side = csms.side(connection)
        csms.stations.append(side)
        csms.changed.set()
        with contextlib.suppress(websockets.ConnectionClosed):
            await side.start()

    port = free_port()
    station = settings.model_copy(update={"csms_url": f"ws://127.0.0.1:{port}/ocpp", "charge_point_id": CP})
    engine = open_engine(tmp_path / "ocpp_gateway.sqlite", MIGRATIONS)
    bus = Bus(station, "ocpp_gateway", persistent=False)
    await bus.start(5)
    store = VariableStore(engine, bus, live)
    tasks: set[asyncio.Task[None]] = set()

    def spawn(work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    link = Link(station, bus, store, RegistrationMemory(TxStore(engine), "boot-1"),
                lambda ws: ProvisioningActions(CP, ws, store, spawn), outbox_pending=lambda: 0, dialect=OCPP201)
    subprotocols: Any = ["ocpp2.0.1"]
    async with websockets.serve(accept, "127.0.0.1", port, subprotocols=subprotocols):
        running = asyncio.create_task(link.run())
        try:
            yield csms, link
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    await bus.stop()


async def test_tc_b_01_02_boot_pending_then_accepted_and_heartbeats_at_its_interval(
        running: tuple[Csms, Link]) -> None:
    csms, link = running
    await csms.until(lambda: len(csms.boots) == 2)  # Pending, then again after its 1 s
    assert csms.subprotocols == ["ocpp2.0.1"]
    assert csms.boots[0]["reason"] == "PowerUp"
    assert csms.boots[0]["charging_station"]["vendor_name"] == "chargebus"
    assert csms.boots[0]["charging_station"]["model"] == "MIC-200-ELT"
    await link.wait_accepted()
    assert link.registration is Registration.ACCEPTED
    assert link.config.get("OCPPCommCtrlr.HeartbeatInterval") == "2"  # the interval the answer gave
    await csms.until(lambda: csms.heartbeats >= 1, timeout=6)  # nothing else goes on the link: one comes


async def test_tc_a_01_a_new_basic_auth_password_is_used_from_the_reconnect_it_causes(
        running: tuple[Csms, Link]) -> None:
    csms, link = running
    await link.wait_accepted()
    assert csms.authorizations == [None]  # no password yet: none is sent
    result = await csms.stations[0].call(call.SetVariables(set_variable_data=[SetVariableDataType(
        attribute_value=PASSWORD, component=ComponentType(name="SecurityCtrlr"),
        variable=VariableType(name="BasicAuthPassword"))]))
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"  # the answer went out on the old link
    await csms.until(lambda: len(csms.authorizations) == 2)
    expected = "Basic " + base64.b64encode(f"{CP}:{PASSWORD}".encode()).decode()
    assert csms.authorizations[1] == expected
    await link.wait_accepted()
    assert len(csms.boots) == 2  # the same boot of the station: a reconnect, no new BootNotification

"""The 2.0.1 link and its parts against the library's Central System side over a real WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action
from sqlalchemy import Engine

from services.common.bus import Bus
from services.common.contract.hardware import CONNECTORS
from services.common.db import open_engine
from services.common.settings import Settings
from services.ocpp_gateway.availability import Availability
from services.ocpp_gateway.connector_status import Owned
from services.ocpp_gateway.engine import TransactionEngine
from services.ocpp_gateway.link import Link
from services.ocpp_gateway.registration import RegistrationMemory
from services.ocpp_gateway.reset import Reset
from services.ocpp_gateway.service import MIGRATIONS
from services.ocpp_gateway.status import StatusReporter
from services.ocpp_gateway.tx_store import TxStore
from services.ocpp_gateway.v201.charge_point import ChargePoint201
from services.ocpp_gateway.v201.connector_status import OCPP201 as NOTIFIER
from services.ocpp_gateway.v201.dialect import OCPP201
from services.ocpp_gateway.v201.security_events import SecurityEvents
from services.ocpp_gateway.v201.tx_messages import OCPP201 as MESSAGES
from services.ocpp_gateway.v201.variable_store import VariableStore
from services.ocpp_gateway.v201.variables import Var
from tests.broker import free_port

CP = "CB0000001"
PASSWORD = "0123456789abcdef-A01"


@dataclass
class Csms:
    """The Central System: answers the first boot Pending (with `pending_first`), then Accepted; keeps what it
    saw."""

    pending_first: bool = True
    boots: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    authorized: list[dict[str, Any]] = field(default_factory=list)
    reports_profiles: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)  # NotifyReport parts
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
                status = "Pending" if len(csms.boots) == 1 and csms.pending_first else "Accepted"
                return call_result.BootNotification(current_time=datetime.now(UTC).isoformat(),
                                                    interval=1 if status == "Pending" else 2, status=status)

            @on(Action.authorize)
            def on_authorize(self, id_token: dict[str, Any], **_more: Any) -> call_result.Authorize:
                csms.authorized.append(id_token)
                status = "Blocked" if id_token["id_token"].startswith("BLOCKED") else (
                    "Unknown" if id_token["id_token"].startswith("NEW") else "Accepted")
                return call_result.Authorize(id_token_info={
                    "status": status, "cache_expiry_date_time": "2026-12-31T23:59:00Z",
                    "group_id_token": {"id_token": "FLEET-7", "type": "Central"}})

            @on(Action.notify_report)
            def on_notify_report(self, **payload: Any) -> call_result.NotifyReport:
                csms.reports.append(payload)
                csms.changed.set()
                return call_result.NotifyReport()

            @on(Action.report_charging_profiles)
            def on_report_profiles(self, **payload: Any) -> call_result.ReportChargingProfiles:
                csms.reports_profiles.append(payload)
                csms.changed.set()
                return call_result.ReportChargingProfiles()

            @on(Action.status_notification)
            def on_status(self, **payload: Any) -> call_result.StatusNotification:
                csms.statuses.append(payload)
                csms.changed.set()
                return call_result.StatusNotification()

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


@dataclass
class Running:
    csms: Csms
    link: Link
    store: VariableStore
    bus: Bus
    engine: Engine
    settings: Settings
    status: StatusReporter  # not running: a test that wants statuses sent runs it
    availability: Availability
    busy: set[int]  # connectors with an open session, as the availability sees them
    transactions: TxStore


@asynccontextmanager
async def running_link(settings: Settings, tmp_path: Path, pending_first: bool = True) -> AsyncIterator[Running]:
    """The gateway's 2.0.1 link (the device model's store its configuration) to the library's Central System.
    Everything that listens on the bus (the status reporter) is declared before the bus connects, as in a
    service's setup."""
    csms = Csms(pending_first=pending_first)

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
    store = VariableStore(engine, bus, live)
    tasks: set[asyncio.Task[None]] = set()

    def spawn(work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    transactions = TxStore(engine)
    link = Link(station, bus, store, RegistrationMemory(transactions, "boot-1"),
                lambda ws: ChargePoint201(CP, ws, variables=store, bus=bus, link=link, status=status,
                                          availability=availability, store=transactions, spawn=spawn,
                                          transactions=sessions, reset=reset.run, reset_evse=reset_evse,
                                          reset_pending=lambda: False,
                                          schedule_reset=lambda: None, security=SecurityEvents(engine, link)),
                outbox_pending=lambda: 0, dialect=OCPP201)
    sessions = TransactionEngine(bus, transactions, store, link, MESSAGES)  # not running: no session starts
    busy: set[int] = set()

    async def changed(connector: int) -> None:  # as the gateway service does
        status.station_changed()
        for target in CONNECTORS if connector == 0 else (connector,):
            status.refresh(target)

    availability = Availability(engine, bus, CONNECTORS, busy=lambda c: c in busy, on_change=changed)
    status = StatusReporter(bus, engine, link, station_operative=lambda: availability.operative[0],
                            owned=lambda c: Owned(operative=availability.effective(c)), hold=lambda _c: False,
                            minimum_s=lambda: 0, notifier=NOTIFIER)
    reset = Reset(bus, lambda: 0, sessions, link, status, lambda _reason: None, 5.0)

    async def reset_evse(connector: int) -> None:
        await sessions.stop_all("SoftReset", connector)
    ready = Running(csms, link, store, bus, engine, station, status, availability, busy, transactions)
    await bus.start(5)
    subprotocols: Any = ["ocpp2.0.1"]
    async with websockets.serve(accept, "127.0.0.1", port, subprotocols=subprotocols):
        link.ready.set()  # no sessions to recover here (the gateway service sets it once it has recovered them)
        running = asyncio.create_task(link.run())
        try:
            yield ready
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    await bus.stop()


@pytest.fixture
async def running(settings: Settings, tmp_path: Path) -> AsyncIterator[Running]:
    async with running_link(settings, tmp_path) as link:
        yield link

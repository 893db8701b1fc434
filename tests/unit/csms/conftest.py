"""The dev CSMS on a real loopback port, and station-side OCPP clients over real WebSockets to drive it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import websockets
from ocpp.charge_point import ChargePoint as AnyChargePoint
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, ConfigurationStatus, RemoteStartStopStatus
from websockets.asyncio.client import ClientConnection, connect

from services.csms import control
from services.csms.server import DevCsms, run
from tests.broker import free_port


class Seen:
    """What the station side of the link saw, in order (mixed into a station of either OCPP version)."""

    frames: list[list[Any]]
    changed: asyncio.Event
    link: ClientConnection

    def watch(self, link: ClientConnection) -> None:
        self.link = link
        self.frames = []
        self.changed = asyncio.Event()

    async def route_message(self, raw_msg: Any) -> None:
        self.frames.append(json.loads(raw_msg))
        self.changed.set()
        await super().route_message(raw_msg)  # type: ignore[misc]

    def calls(self, action: str) -> list[dict[str, Any]]:
        return [f[3] for f in self.frames if f[0] == 2 and f[2] == action]

    async def called(self, action: str) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while not self.calls(action):
                self.changed.clear()
                await self.changed.wait()
        return self.calls(action)[0]


class Station(Seen, ChargePoint):
    """An OCPP 1.6 station."""

    def __init__(self, cp_id: str, connection: ClientConnection) -> None:
        super().__init__(cp_id, connection)
        self.watch(connection)

    @on(Action.change_configuration)
    def on_change_configuration(self, **_payload: Any) -> call_result.ChangeConfiguration:
        return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)

    @on(Action.remote_start_transaction)
    def on_remote_start(self, **_payload: Any) -> call_result.RemoteStartTransaction:
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)


@dataclass
class Bench:
    port: int

    @contextlib.asynccontextmanager
    async def station(self, cp_id: str = "CP1", kind: type[AnyChargePoint] = Station,
                      subprotocols: tuple[str, ...] = ("ocpp1.6",)) -> AsyncIterator[Any]:
        async with connect(f"ws://127.0.0.1:{self.port}/ocpp/{cp_id}",
                           subprotocols=[websockets.Subprotocol(p) for p in subprotocols]) as link:
            station = kind(cp_id, link)
            reader = asyncio.create_task(station.start())
            try:
                yield station
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                    await reader

    async def send(self, action: str, payload: dict[str, Any], cp: str | None = None) -> tuple[str, dict[str, Any]]:
        return await asyncio.to_thread(control.send, self.port, action, payload, cp)


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    port = free_port()
    ready = asyncio.Event()
    server = asyncio.create_task(run(port, DevCsms(meter_interval_s=5), ready))
    async with asyncio.timeout(10):
        await ready.wait()
    yield Bench(port)
    server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server

"""A real Central System for tests: a WebSocket server speaking OCPP 1.6J through the `ocpp` library.

It records every call the station makes (action, payload, time), every raw frame and every
WebSocket ping it receives, answers them as a test scripts it (boot Accepted/Pending/Rejected,
transaction ids, idTagInfo, CALLERRORs with any code, no answer at all), lets the test send calls
to the station, and can drop the connection or refuse new ones.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http
import itertools
import json
import logging
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ocpp.messages
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

from tests.broker import free_port

# the library validates in an executor thread by default: two thread hops per message made this double,
# not the station, the limit of every throughput figure (the station validates inline too)
ocpp.messages.ASYNC_VALIDATION = False


class _PingLog(logging.Handler):
    """websockets logs every frame it receives at DEBUG: keep the time of each PING."""

    def __init__(self, pings: list[float]) -> None:
        super().__init__(logging.DEBUG)
        self.pings = pings

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "< %s" and record.args and str(record.args[0]).startswith("PING"):
            self.pings.append(time.monotonic())


@dataclass
class Seen:
    action: str
    payload: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class _Scripted:
    """What the station side of either version does with every frame, before the library routes it: record it,
    and answer it as the test scripted (no answer, a CALLERROR). Mixed in before the library's ChargePoint."""

    csms: CentralSystem
    _connection: Any

    async def start(self) -> None:
        """Read every frame the station sent, even after an answer of ours could not go out any more: a station
        that answers our call and then closes (a changed AuthorizationKey) sends a CALLRESULT the call waits
        for; it came after a CALL of the station whose answer met the close, and was never read."""
        while True:
            message = await self._connection.recv()
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.route_message(message)

    async def route_message(self, raw_msg: Any) -> None:
        self.csms.frames.append((time.monotonic(), str(raw_msg)))
        self.csms._changed.set()
        with contextlib.suppress(ValueError, TypeError, IndexError):
            frame = json.loads(raw_msg)
            if isinstance(frame, list) and frame[0] == 2:
                action = frame[2]
                if self.csms.silent.get(action, 0) > 0:  # no answer at all: the station's timeout runs out
                    self.csms.silent[action] -= 1
                    self.csms.record(f"{action}(unanswered)", frame[3])
                    return
                codes = self.csms.fail.get(action)
                if codes:
                    self.csms.record(f"{action}(refused)", frame[3])
                    await self._send(  # type: ignore[attr-defined]
                        json.dumps([4, frame[1], codes.pop(0), "refused by the test", {}]))
                    return
        await super().route_message(raw_msg)  # type: ignore[misc]


class _StationSide(_Scripted, ChargePoint):
    """The CSMS's view of one connected OCPP 1.6 charge point."""

    @on(Action.boot_notification)
    async def on_boot(self, **payload: Any) -> call_result.BootNotification:
        self.csms.record("BootNotification", payload)
        return call_result.BootNotification(current_time=_now(), interval=self.csms.boot_interval,
                                            status=self.csms.boot_status)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **payload: Any) -> call_result.Heartbeat:
        self.csms.record("Heartbeat", payload)
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    async def on_status(self, **payload: Any) -> call_result.StatusNotification:
        self.csms.record("StatusNotification", payload)
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, **payload: Any) -> call_result.Authorize:
        self.csms.record("Authorize", payload)
        return call_result.Authorize(id_tag_info=self.csms.id_tag_info(payload["id_tag"]))

    @on(Action.start_transaction)
    async def on_start(self, **payload: Any) -> call_result.StartTransaction:
        self.csms.record("StartTransaction", payload)
        return call_result.StartTransaction(transaction_id=next(self.csms.transaction_ids),
                                            id_tag_info=self.csms.id_tag_info(payload["id_tag"]))

    @on(Action.stop_transaction)
    async def on_stop(self, **payload: Any) -> call_result.StopTransaction:
        self.csms.record("StopTransaction", payload)
        await asyncio.sleep(self.csms.stop_delay_s)  # a slow CSMS: received now, answered later
        return call_result.StopTransaction()

    @on(Action.meter_values)
    async def on_meter_values(self, **payload: Any) -> call_result.MeterValues:
        self.csms.record("MeterValues", payload)
        return call_result.MeterValues()

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, **payload: Any) -> call_result.FirmwareStatusNotification:
        self.csms.record("FirmwareStatusNotification", payload)
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status(self, **payload: Any) -> call_result.DiagnosticsStatusNotification:
        self.csms.record("DiagnosticsStatusNotification", payload)
        return call_result.DiagnosticsStatusNotification()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _cp_id(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


class CentralSystem:
    """Serve on a free port; `url` is what the station's CHARGEBUS_CSMS_URL should be."""

    def __init__(self, port: int | None = None, tls: ssl.SSLContext | None = None,
                 password: str | None = None, trailing_slash: bool = False, version: str = "1.6") -> None:
        """`tls`: serve wss:// with this context; `password`: require HTTP basic auth <cp id>:<password>;
        `trailing_slash`: route only `/ocpp/<cp id>/` (HTTP 404 for `/ocpp/<cp id>`); `version`: the OCPP
        version it speaks, 1.6 or 2.0.1 (`tests/csms201.py`)."""
        self.version = version
        self.port = port or free_port()
        self.url = f"{'wss' if tls else 'ws'}://127.0.0.1:{self.port}/ocpp"
        self.trailing_slash = trailing_slash
        self.paths: list[str] = []  # the path of every handshake
        self.stop_delay_s = 0.0  # how long a StopTransaction waits for its answer
        self.tls = tls
        self.password = password
        self.authorizations: list[str | None] = []  # the Authorization header of every handshake
        self.boot_status = RegistrationStatus.accepted
        self.boot_interval = 300
        self.tags: dict[str, AuthorizationStatus] = {}  # unknown tags are Accepted
        self.parents: dict[str, str] = {}  # idTag → parentIdTag
        self.infos: dict[str, dict[str, str]] = {}  # idTag → the whole idTagInfo to answer (wins over tags)
        self.fail: dict[str, list[str]] = {}  # action → CALLERROR codes to answer with, one per call, in order
        self.silent: dict[str, int] = {}  # action → how many of its calls to leave unanswered
        self.seen: list[Seen] = []
        self.frames: list[tuple[float, str]] = []  # every raw frame the station sent
        self.pings: list[float] = []
        self.transaction_ids = itertools.count(1000)
        self.refuse = False
        self.connections = 0
        self.station: Any = None  # the side of the version spoken
        self._server: Any = None
        self._changed = asyncio.Event()
        self._ws: Any = None

    def id_tag_info(self, id_tag: str) -> dict[str, str]:
        if id_tag in self.infos:
            return dict(self.infos[id_tag])
        info = {"status": self.tags.get(id_tag, AuthorizationStatus.accepted).value}
        if id_tag in self.parents:
            info["parent_id_tag"] = self.parents[id_tag]
        return info

    def record(self, action: str, payload: dict[str, Any]) -> None:
        self.seen.append(Seen(action, payload))
        self._changed.set()

    def calls(self, action: str) -> list[dict[str, Any]]:
        return [s.payload for s in self.seen if s.action == action]

    async def start(self) -> None:
        frames = logging.getLogger(f"tests.csms.{self.port}")
        frames.setLevel(logging.DEBUG)
        frames.propagate = False
        frames.addHandler(_PingLog(self.pings))
        subprotocol = "ocpp2.0.1" if self.version == "2.0.1" else "ocpp1.6"
        self._server = await websockets.serve(self._connected, "127.0.0.1", self.port, subprotocols=[subprotocol],
                                              ping_interval=None, logger=frames, max_size=4 * 2**20, ssl=self.tls,
                                              process_request=self._check_auth)

    def _check_auth(self, connection: Any, request: Any) -> Any:
        header = request.headers.get("Authorization")
        self.authorizations.append(header)
        self.paths.append(request.path)
        if request.path.endswith("/") != self.trailing_slash:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "no such charge point path\n")
        if self.password is None:
            return None
        cp_id = _cp_id(request.path)
        expected = "Basic " + base64.b64encode(f"{cp_id}:{self.password}".encode()).decode()
        if header != expected:
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "wrong or no credentials\n")
        return None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _connected(self, ws: Any) -> None:
        if self.refuse:
            await ws.close(1013, "refused by test")
            return
        self.connections += 1
        if self.version == "2.0.1":
            from tests.csms201 import StationSide201

            station: Any = StationSide201(_cp_id(ws.request.path), ws, response_timeout=10)
        else:
            station = _StationSide(_cp_id(ws.request.path), ws, response_timeout=10)
        station.csms = self
        self.station, self._ws = station, ws
        self._changed.set()
        with contextlib.suppress(websockets.ConnectionClosed):
            await station.start()

    async def drop(self) -> None:
        """Close the current connection (the station should reconnect)."""
        if self._ws is not None:
            await self._ws.close()

    async def send_raw(self, frame: str) -> None:
        await self.wait_connected()
        await self._ws.send(frame)

    async def wait(self, action: str, count: int = 1, timeout: float = 20.0,
                   where: Any = None, poll_s: float | None = None) -> list[dict[str, Any]]:
        """Wait until `count` calls of `action` (matching `where(payload)`) have been seen.

        `poll_s`: look every so often instead of at every message (a replay of thousands would make each
        message a scan of all before it)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [p for p in self.calls(action) if where is None or where(p)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{count} x {action} not seen within {timeout} s; seen: "
                                   f"{[s.action for s in self.seen][-20:]}")
            if poll_s is not None:
                await asyncio.sleep(min(remaining, poll_s))
                continue
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.2)):
                    await self._changed.wait()

    async def wait_connected(self, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while self.station is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the station never connected")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await self._changed.wait()
        return self.station

    async def call(self, payload: Any) -> Any:
        """Send a call to the station; returns its result (raises on CALLERROR)."""
        station = await self.wait_connected()
        return await station.call(payload, suppress=False)

    async def raw_call(self, frame: list[Any] | str, timeout: float = 10.0) -> list[Any]:
        """Send any frame (a list, or one already serialised) with a message id; return the station's raw
        answer to that id."""
        unique_id = json.loads(frame)[1] if isinstance(frame, str) else frame[1]
        answers: asyncio.Queue[list[Any]] = asyncio.Queue()
        station = await self.wait_connected()
        original = station.route_message

        async def spy(raw: str) -> None:
            with contextlib.suppress(ValueError, TypeError):
                msg = json.loads(raw)
                if isinstance(msg, list) and len(msg) > 1 and msg[1] == unique_id:
                    answers.put_nowait(msg)
                    return
            await original(raw)

        station.route_message = spy  # type: ignore[method-assign]
        try:
            await self.send_raw(json.dumps(frame) if not isinstance(frame, str) else frame)
            async with asyncio.timeout(timeout):
                return await answers.get()
        finally:
            station.route_message = original  # type: ignore[method-assign]

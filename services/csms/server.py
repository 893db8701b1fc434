"""The dev CSMS's WebSocket server on loopback: charge points at `<any path>/<cp id>` (OCPP 1.6J or 2.0.1, by
the subprotocol the station offers), the control at `/control`.

Only loopback, and no handshake that carries an Origin header: a web page open in a browser on the bench
could otherwise drive the station through it (browsers let any page open a WebSocket to 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
from collections.abc import Callable, Sequence
from typing import Any

import ocpp.messages
import setproctitle
import websockets
from websockets.asyncio.server import Request, Response, ServerConnection, serve
from websockets.typing import Subprotocol

from services.common.logs import setup_logging
from services.common.settings import Settings

from . import control
from .central import CommandError, DevChargePoint, DevLink

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
OCPP16 = Subprotocol("ocpp1.6")
OCPP201 = Subprotocol("ocpp2.0.1")
VERSIONS = (OCPP16, OCPP201)
BENCH_METER_INTERVAL_S = 5  # a meter value every few seconds: a short demo shows the energy growing


class DevCsms:
    """The connected charge points (one per id: a reconnect replaces the old link) and the control requests."""

    def __init__(self, meter_interval_s: int = BENCH_METER_INTERVAL_S, mask_tags: bool = True) -> None:
        self.meter_interval_s = meter_interval_s
        self.mask_tags = mask_tags
        self.stations: dict[str, DevLink] = {}

    async def handle(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request is not None else ""
        if path == control.CONTROL_PATH:
            await self._control(connection)
            return
        cp_id = path.rstrip("/").rsplit("/", 1)[-1]
        kind = _station_class(connection.subprotocol)
        if not cp_id or kind is None:
            log.warning("refused path=%s subprotocol=%s: not an OCPP 1.6 or 2.0.1 charge point", path,
                        connection.subprotocol)
            await connection.close(1002, "OCPP-J only (subprotocol ocpp1.6 or ocpp2.0.1, path .../<charge point id>)")
            return
        station = kind(cp_id, connection, self.meter_interval_s, self.mask_tags)
        old = self.stations.get(cp_id)
        self.stations[cp_id] = station
        if old is not None:
            await old.link.close(1000, "replaced by a new connection")
        log.info("cp=%s connected from=%s ocpp=%s", cp_id, connection.remote_address, station.version)
        try:
            await station.serve()
        finally:
            if self.stations.get(cp_id) is station:
                del self.stations[cp_id]

    async def _control(self, connection: ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            raw = await connection.recv()
            try:
                action, payload, cp = control.parse_request(raw)
                station = self._station(cp)
                log.info("cp=%s command %s from the control socket", station.id, action)
                result = await station.command(action, payload)
            except (control.ControlError, CommandError) as exc:
                log.info("command refused: %s", exc)
                await connection.send(control.reply_error(exc.code, str(exc)))
                return
            await connection.send(control.reply_ok(station.id, result))

    def _station(self, cp: str | None) -> DevLink:
        if cp is not None:
            if cp not in self.stations:
                raise control.ControlError("no_station", f"charge point {cp!r} is not connected; connected: "
                                                         f"{sorted(self.stations) or 'none'}")
            return self.stations[cp]
        if len(self.stations) != 1:
            raise control.ControlError("no_station", f"{len(self.stations)} charge points connected "
                                                     f"({', '.join(sorted(self.stations)) or 'none'}): name one")
        return next(iter(self.stations.values()))


def _subprotocol(_connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """The first OCPP version the station offers that the dev CSMS speaks: it lists them in its order of preference.

    None for the control socket; a charge point offering neither is refused by `handle`, with a reason."""
    return next((p for p in offered if p in VERSIONS), None)


def _station_class(subprotocol: str | None) -> Callable[[str, Any, int, bool], DevLink] | None:
    if subprotocol == OCPP16:
        return DevChargePoint
    if subprotocol == OCPP201:
        # imported on the first 2.0.1 station: `chargebus run` imports this module, and the station's processes
        # have no use for the 2.0.1 message classes (0.1 s and 3 MB)
        from .central201 import DevChargePoint201

        return DevChargePoint201
    return None


def _no_browsers(connection: ServerConnection, request: Request) -> Response | None:
    if request.headers.get("Origin") is not None:
        log.warning("refused a handshake with Origin %s", request.headers["Origin"])
        return connection.respond(http.HTTPStatus.FORBIDDEN, "no web pages: the dev CSMS drives a station\n")
    return None


async def run(port: int, csms: DevCsms, ready: asyncio.Event | None = None) -> None:
    """Serve on 127.0.0.1:`port` until cancelled; `ready` is set once it listens."""
    async with serve(csms.handle, HOST, port, select_subprotocol=_subprotocol,
                     process_request=_no_browsers, max_size=4 * 2**20) as server:
        log.info("dev CSMS listening on ws://%s:%d (charge points at <path>/<id>, commands: chargebus csms send)",
                 HOST, port)
        if ready is not None:
            ready.set()
        await server.serve_forever()


def main(settings: Settings, port: int | None = None, meter_interval_s: int = BENCH_METER_INTERVAL_S) -> int:
    setup_logging("csms", settings.log_level, settings.data_dir, settings.log_format)
    setproctitle.setproctitle("chargebus-csms")
    # one line per frame is ours (frames.py); the library's own lines would repeat each one
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    ocpp.messages.ASYNC_VALIDATION = False  # a bench tool: no executor thread per message
    csms = DevCsms(meter_interval_s, mask_tags=settings.log_level != "DEBUG")
    try:
        asyncio.run(run(port or settings.dev_csms_port, csms))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:  # the port is taken: most likely a CSMS of the user's own
        log.error("dev CSMS cannot listen on %s:%d: %s (a CSMS of your own? set CHARGEBUS_CSMS_URL to it)",
                  HOST, port or settings.dev_csms_port, exc)
        return 1
    return 0

"""One handler per command of `contract.power`, and the smart charging limit input.

Each command changes the controller, then `answer()` sends the module command frame at once; the reply is the
new connector state, and everyone else reads it (and the measurement) once the reply has left.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from services.common.bus import BusError
from services.common.contract import ErrorCode
from services.common.contract.ocpp_gateway import AvailabilityIntent
from services.common.contract.power import (
    ConnectorRequest,
    ConnectorState,
    EnergizeRequest,
    SetLimitRequest,
    SuspendRequest,
)
from services.common.contract.smart_charging import ChargingLimit

from .controller import Controller, Rejected

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 3.0


class Handlers:
    def __init__(self, controller: Controller, apply: Callable[[], ConnectorState],
                 answer: Callable[[], ConnectorState], ready: asyncio.Event,
                 open_session: Callable[[int], Awaitable[str | None]],
                 keep_cap: Callable[[int, float | None], None]) -> None:
        self._ctl = controller
        self._keep_cap = keep_cap  # on disk before the cap is applied and answered
        self._apply = apply  # outside a command: the frame now, the state published
        self._answer = answer  # in a command: the frame now, the state published after the reply
        self._ready = ready
        self._open_session = open_session  # the gateway's persisted session on a connector, asked now
        self.availability_known = asyncio.Event()  # the gateway's retained intent has been read

    async def _begin(self, connector_id: int) -> None:
        """Commands wait (briefly) until the start-up adoption of the module state is done."""
        if connector_id != self._ctl.connector_id:
            raise BusError(ErrorCode.NOT_FOUND, f"no connector {connector_id}")
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await self._ready.wait()
        except TimeoutError:
            raise BusError(ErrorCode.UNAVAILABLE, "power controller is still starting") from None

    async def on_energize(self, req: EnergizeRequest, _p: dict[str, str]) -> ConnectorState:
        await self._begin(req.connector_id)
        # the output is energized only for a session the gateway has persisted, whoever asks
        try:
            persisted = await self._open_session(req.connector_id)
        except BusError as exc:
            log.warning("energize refused connector=%d: the gateway did not confirm session=%s (%s)",
                        req.connector_id, req.session_id, exc)
            raise BusError(ErrorCode.REJECTED, f"the gateway did not confirm session {req.session_id}: "
                           f"{exc.code}") from None
        if persisted != req.session_id:
            log.error("energize refused connector=%d: session=%s is not the gateway's open session (%s)",
                      req.connector_id, req.session_id, persisted)
            raise BusError(ErrorCode.REJECTED, f"no open session {req.session_id} on connector {req.connector_id}")
        try:
            self._ctl.energize(time.monotonic(), req.session_id)
        except Rejected as exc:
            log.info("energize rejected connector=%d reason=%s", req.connector_id, exc)
            raise BusError(ErrorCode.REJECTED, str(exc)) from None
        log.info("energized connector=%d session=%s", req.connector_id, req.session_id)
        return self._answer()

    async def on_suspend(self, req: SuspendRequest, _p: dict[str, str]) -> ConnectorState:
        await self._begin(req.connector_id)
        if not self._ctl.energized:
            raise BusError(ErrorCode.REJECTED, "no session is energized")
        self._ctl.suspend(req.suspended)
        log.info("suspended=%s connector=%d", req.suspended, req.connector_id)
        return self._answer()

    async def on_deenergize(self, req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        await self._begin(req.connector_id)
        self._ctl.deenergize(time.monotonic())
        log.info("deenergized connector=%d", req.connector_id)
        return self._answer()

    async def on_set_limit(self, req: SetLimitRequest, _p: dict[str, str]) -> ConnectorState:
        await self._begin(req.connector_id)
        try:
            self._keep_cap(req.connector_id, req.current_a)
        except OSError as exc:
            raise BusError(ErrorCode.INTERNAL, f"the cap cannot be kept on disk: {exc}") from None
        self._ctl.set_cap(req.current_a)
        log.info("maintenance cap connector=%d current_a=%s", req.connector_id, req.current_a)
        return self._answer()

    async def on_availability(self, intent: AvailabilityIntent | None, _p: dict[str, str]) -> None:
        """The gateway's retained intent: at start (before the module state is adopted, so no new charge can
        begin on an inoperative connector) and at every change. A running charge is not cut."""
        if intent is None or intent.connector_id != self._ctl.connector_id:
            return
        if intent.operative != self._ctl.operative:
            log.info("availability connector=%d operative=%s", intent.connector_id, intent.operative)
        self._ctl.set_operative(intent.operative)
        self.availability_known.set()
        if self._ready.is_set():
            self._apply()

    async def on_get_state(self, req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        await self._begin(req.connector_id)
        return self._answer()

    async def on_limit(self, payload: ChargingLimit | None, params: dict[str, str]) -> None:
        """The smart charging limit; a cleared retained limit means no profile is in force."""
        if params.get("connector_id") != str(self._ctl.connector_id):
            return
        limit = payload.limit_a if payload is not None else None
        if limit != self._ctl.smart_limit_a or self._ctl.hold_a is not None:
            log.info("smart charging limit connector=%d limit_a=%s", self._ctl.connector_id, limit)
        self._ctl.on_smart_limit(limit)
        if self._ready.is_set():
            self._apply()

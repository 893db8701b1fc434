"""HTTP routes of the local maintenance API and the live status page (everything in OpenAPI at /docs).

Reading is open on the station's network, every token masked; the unmasked tokens need the `api_token`
setting's token (`Authorization: Bearer <token>`, or the page's login cookie), the maintenance actions need it
in the header. Without a token configured, the actions are refused outright (see access.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from services.common.bus import Bus, BusError
from services.common.contract import ocpp_gateway, supervisor
from services.common.contract.base import ErrorCode
from services.common.contract.ocpp_gateway import (
    ChangeAvailabilityRequest,
    Report,
    StatusReply,
    TriggerRequest,
)
from services.common.contract.supervisor import RestartRequest
from services.common.settings import SERVICES, Settings
from services.common.version import VERSION

from . import summary
from .access import COOKIE, SESSION_S, Access
from .view import StationView

PAGE = (Path(__file__).parent / "page.html").read_text(encoding="utf-8")
STREAM_MIN_S = 0.25  # at most four pictures a second, however busy the bus
KEEPALIVE_S = 15  # a picture at least this often, so that a proxy keeps the stream and the durations tick


# what a failed bus request means to an HTTP client; anything else is the service's fault (502)
_HTTP_STATUS = {ErrorCode.NOT_FOUND: 404, ErrorCode.BAD_REQUEST: 422, ErrorCode.REJECTED: 409,
                ErrorCode.NOT_SUPPORTED: 501, ErrorCode.UNAVAILABLE: 503, ErrorCode.TIMEOUT: 504}


class AvailabilityBody(BaseModel):
    operative: bool


class TriggerBody(BaseModel):
    message: Report
    connector_id: int | None = Field(None, ge=0)


class LoginBody(BaseModel):
    token: str = Field(min_length=1, max_length=256)


def build_app(view: StationView, bus: Bus | None = None, settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="chargebus maintenance API", version=VERSION)
    token = settings.api_token.get_secret_value() if settings is not None and settings.api_token else None
    access = Access(token, secure=settings is not None and settings.api_tls_cert is not None)
    cp_id = settings.charge_point_id if settings is not None else "?"

    def require_token(authorization: str | None = Header(None)) -> None:
        if not token:
            raise HTTPException(403, "maintenance actions are off: no api_token is set on this station")
        if not access.bearer(authorization):
            raise HTTPException(401, "a valid token is needed (Authorization: Bearer <api_token>)")

    def picture(reveal: bool) -> dict[str, Any]:
        return summary.build(view.latest, list(view.events), view.traces, view.decisions, view.registers,
                             datetime.now(UTC), charge_point_id=cp_id, version=VERSION, reveal=reveal)

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        """Health of every service as last seen on the bus (`offline` comes from the MQTT Last Will)."""
        return view.health()

    @app.get("/api/status")
    async def status(request: Request) -> dict[str, Any]:
        """Every retained state: connector, measurement, transaction, connection, limits, processes (idTags masked
        without the token)."""
        states = view.states()
        return states if access.reader(request) else summary.masked(states)

    @app.get("/api/config")
    async def config(request: Request) -> dict[str, Any]:
        """The OCPP configuration keys as the gateway publishes them (write-only keys are never published)."""
        keys = view.config()
        return keys if access.reader(request) else summary.masked(keys)

    @app.get("/api/summary")
    async def station(request: Request) -> dict[str, Any]:
        """The page's picture: connectors, session, limit, CSMS link, services, jobs, events, keys."""
        return picture(access.reader(request))

    @app.get("/api/stream")
    async def stream(request: Request) -> StreamingResponse:
        """Server-sent events: the summary again on every change of the bus (at most 4 a second)."""

        async def events() -> AsyncIterator[str]:
            while True:
                seen = view.version
                # asked again each time: a logout or an expired session masks an open stream too
                yield f"data: {json.dumps(picture(access.reader(request)), default=str)}\n\n"
                await asyncio.sleep(STREAM_MIN_S)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(KEEPALIVE_S):
                        await view.changed_since(seen)
        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.post("/api/login", status_code=204)
    async def login(body: LoginBody) -> Response:
        """The page's login: the token once, in the body; a session cookie that shows the full idTags."""
        if not token:
            raise HTTPException(403, "no api_token is set on this station")
        if not access.is_token(body.token):
            raise HTTPException(401, "wrong token")
        response = Response(status_code=204)
        response.set_cookie(COOKIE, access.open_session(), max_age=SESSION_S, path="/", httponly=True,
                            samesite="strict", secure=access.secure)
        return response

    @app.post("/api/logout", status_code=204)
    async def logout(request: Request) -> Response:
        access.close_session(request.cookies.get(COOKIE))
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=access.secure)
        return response

    async def ask(topic: Any, request: BaseModel) -> Any:
        if bus is None:
            raise HTTPException(503, "no bus")
        try:
            return await bus.request(topic, request, timeout=5)
        except BusError as exc:
            raise HTTPException(_HTTP_STATUS.get(exc.code, 502), f"{topic.owner}: {exc.code}: {exc.message}") from None

    @app.post("/api/services/{name}/restart", dependencies=[Depends(require_token)])
    async def restart(name: str) -> dict[str, Any]:
        """Restart one service (or `all`) through the supervisor."""
        if name not in (*SERVICES, "all"):
            raise HTTPException(404, f"no service {name!r}")
        reply = await ask(supervisor.RESTART, RestartRequest(service=None if name == "all" else name,
                                                              reason="maintenance API"))
        return reply.model_dump()

    @app.post("/api/connectors/{connector_id}/availability", dependencies=[Depends(require_token)])
    async def availability(connector_id: int, body: AvailabilityBody) -> dict[str, Any]:
        """Operative or inoperative, as if the CSMS had asked (scheduled while a session runs)."""
        reply: StatusReply = await ask(ocpp_gateway.CHANGE_AVAILABILITY, ChangeAvailabilityRequest(
            connector_id=connector_id, operative=body.operative))
        return reply.model_dump()

    @app.post("/api/trigger", dependencies=[Depends(require_token)])
    async def trigger(body: TriggerBody) -> dict[str, Any]:
        """Tell the CSMS a connector's status now, or announce the station to it as at boot."""
        reply = await ask(ocpp_gateway.TRIGGER, TriggerRequest(message=body.message, connector_id=body.connector_id))
        return reply.model_dump()

    return app

"""HTTP routes of the local maintenance API and the live status page (everything in OpenAPI at /docs).

Reading is open on the station's network (idTags masked); the maintenance actions and the unmasked
idTags need the `api_token` setting's token (`Authorization: Bearer <token>`, or `?token=` for the page's
stream). Without a token configured, the actions are refused outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from services.common.bus import Bus, BusError
from services.common.contract import ocpp_gateway, supervisor
from services.common.contract.base import ErrorCode
from services.common.contract.ocpp_gateway import (
    ChangeAvailabilityRequest,
    StatusReply,
    TriggerRequest,
)
from services.common.contract.supervisor import RestartRequest
from services.common.settings import SERVICES, Settings
from services.common.version import VERSION

from . import summary
from .view import StationView

PAGE = (Path(__file__).parent / "page.html").read_text(encoding="utf-8")
STREAM_MIN_S = 0.25  # at most four pictures a second, however busy the bus


# what a failed bus request means to an HTTP client; anything else is the service's fault (502)
_HTTP_STATUS = {ErrorCode.NOT_FOUND: 404, ErrorCode.BAD_REQUEST: 422, ErrorCode.REJECTED: 409,
                ErrorCode.NOT_SUPPORTED: 501, ErrorCode.UNAVAILABLE: 503, ErrorCode.TIMEOUT: 504}


class AvailabilityBody(BaseModel):
    operative: bool


class TriggerBody(BaseModel):
    message: Literal["StatusNotification", "BootNotification"]
    connector_id: int | None = Field(None, ge=0)


def build_app(view: StationView, bus: Bus | None = None, settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="chargebus maintenance API", version=VERSION)
    token = settings.api_token.get_secret_value() if settings is not None and settings.api_token else None
    cp_id = settings.charge_point_id if settings is not None else "?"

    def authenticated(authorization: str | None, query_token: str | None = None) -> bool:
        given = query_token or (authorization.removeprefix("Bearer ").strip() if authorization else None)
        return bool(token and given and hmac.compare_digest(given.encode(), token.encode()))

    def require_token(authorization: str | None = Header(None)) -> None:
        if not token:
            raise HTTPException(403, "maintenance actions are off: no api_token is set on this station")
        if not authenticated(authorization):
            raise HTTPException(401, "a valid token is needed (Authorization: Bearer <api_token>)")

    def picture(reveal: bool) -> dict[str, Any]:
        return summary.build(view.latest, list(view.events), view.traces, view.decisions, view.registers,
                             datetime.now(UTC), charge_point_id=cp_id, version=VERSION, reveal=reveal)

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        """Health of every service as last seen on the bus (`offline` comes from the MQTT Last Will)."""
        return view.health()

    @app.get("/api/status")
    async def status() -> dict[str, Any]:
        """Every retained state: connector, measurement, transaction, connection, limits, processes."""
        return view.states()

    @app.get("/api/config")
    async def config() -> dict[str, Any]:
        """The OCPP configuration keys as the gateway publishes them (write-only keys are never published)."""
        return view.config()

    @app.get("/api/summary")
    async def station(authorization: str | None = Header(None)) -> dict[str, Any]:
        """The page's picture: connectors, session, limit, CSMS link, services, jobs, events, keys."""
        return picture(authenticated(authorization))

    @app.get("/api/stream")
    async def stream(token_: str | None = Query(None, alias="token")) -> StreamingResponse:
        """Server-sent events: the summary again on every change of the bus (at most 4 a second)."""
        reveal = authenticated(None, token_)

        async def events() -> AsyncIterator[str]:
            while True:
                view.changed.clear()
                yield f"data: {json.dumps(picture(reveal), default=str)}\n\n"
                await asyncio.sleep(STREAM_MIN_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(view.changed.wait(), 15)  # a keep-alive picture at least every 15 s
        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

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
        """Operative or inoperative, as ChangeAvailability (Scheduled while a transaction runs)."""
        reply: StatusReply = await ask(ocpp_gateway.CHANGE_AVAILABILITY, ChangeAvailabilityRequest(
            connector_id=connector_id, operative=body.operative))
        return reply.model_dump()

    @app.post("/api/trigger", dependencies=[Depends(require_token)])
    async def trigger(body: TriggerBody) -> dict[str, Any]:
        """Send a StatusNotification or a BootNotification to the CSMS now."""
        reply = await ask(ocpp_gateway.TRIGGER, TriggerRequest(message=body.message, connector_id=body.connector_id))
        return reply.model_dump()

    return app

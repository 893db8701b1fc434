"""No full idTag leaves the api without the token, on any route it serves; the token never rides in a URL.

The idTags reach the api over a real broker the way the station's services publish them: the gateway's
transaction and reservation states, auth's retained last decision and its decided event, the reader's swipe.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.common.bus import Bus
from services.common.contract import auth, ocpp_gateway, power
from services.common.contract.auth import AuthorizationStatus, AuthSource, Decided, IdToken, TokenType
from services.common.contract.ocpp_gateway import Reservation, ReservationState, TransactionState
from services.common.contract.power import ConnectorState, RfidSwiped
from services.common.settings import Settings
from tests.conftest import TEST_API_TOKEN
from tests.service.api.running import get_until, serving

CARD = "04A2B3C4D5"  # the session's and the last decision's card
CARD_TOKEN = IdToken(value=CARD, type=TokenType.ISO14443)
PARENT = "FLEET0042XY"  # the reservation's group idTag, personal data as much as the card
BEARER = {"Authorization": f"Bearer {TEST_API_TOKEN}"}


@contextlib.asynccontextmanager
async def cards_on_the_bus(settings: Settings) -> AsyncIterator[None]:
    """Publish them once the api listens: events are not kept for a subscriber that comes later."""
    buses = {name: Bus(settings, name) for name in ("power", "ocpp_gateway", "auth")}
    for bus in buses.values():
        await bus.start(5)
    now = datetime.now(UTC)
    buses["power"].publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example), connector_id=1)
    buses["power"].publish(power.RFID_SWIPED, RfidSwiped(token=CARD_TOKEN))
    buses["ocpp_gateway"].publish(ocpp_gateway.TRANSACTION, TransactionState(
        connector_id=1, phase="active", session_id="s-1", transaction_id="17", token=CARD_TOKEN,
        started_at=now, meter_start_wh=1000), connector_id=1)
    buses["ocpp_gateway"].publish(ocpp_gateway.RESERVATION, ReservationState(connector_id=1, reservation=Reservation(
        reservation_id=7, connector_id=1, token=CARD_TOKEN,
        group=IdToken(value=PARENT, type=TokenType.CENTRAL), expires_at=now + timedelta(hours=1))),
        connector_id=1)
    decided = Decided(token=CARD_TOKEN, connector_id=1, status=AuthorizationStatus.ACCEPTED, source=AuthSource.CSMS,
                      at=now)
    buses["auth"].publish(auth.DECIDED, decided)
    buses["auth"].publish(auth.LAST_DECISION, decided)
    try:
        yield
    finally:
        for bus in buses.values():
            await bus.stop()


async def _body(client: httpx.AsyncClient, url: str, **request: Any) -> str:
    """The whole body, or the first event of a stream (the rest is the same picture again)."""
    async with client.stream("GET", url, **request) as response:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            return (await response.aread()).decode()
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                return line
    raise AssertionError(f"{url}: the stream ended without an event")


async def _every_get_route(client: httpx.AsyncClient) -> list[str]:
    schema = (await client.get("/openapi.json")).json()
    paths = {path for path, operations in schema["paths"].items() if "get" in operations}
    assert not any("{" in path for path in paths), "a GET route with a parameter: give this test a value for it"
    return sorted(paths | {"/"})


async def _seen_by_the_api(base: str) -> None:
    """The positive sign: the token holder sees every idTag the bus carried, so the view holds them all."""
    for what in (f'"id_token":"{CARD}"', f"card presented id_token={CARD}", f"card id_token={CARD}"):
        await get_until(f"{base}/api/summary", what, headers=BEARER)
    await get_until(f"{base}/api/status", PARENT, headers=BEARER)


async def test_no_get_route_shows_a_full_id_tag_without_the_token(settings: Settings) -> None:
    async with serving(settings) as base, cards_on_the_bus(settings), \
            httpx.AsyncClient(base_url=base, timeout=10) as client:
        await _seen_by_the_api(base)
        routes = await _every_get_route(client)
        assert {"/", "/api/status", "/api/summary", "/api/stream"} <= set(routes)
        for credentials in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Cookie": "chargebus_session=x"}):
            for route in routes:
                body = await _body(client, route, headers=credentials)
                assert CARD not in body and PARENT not in body, f"GET {route} {credentials}: {body[:2000]}"
        masked = (await client.get("/api/status")).json()
        session = masked["chargebus/ocpp_gateway/state/transaction/1"]
        assert session["token"] == {"value": "04**D5", "type": "iso14443"} and session["transaction_id"] == "17"
        booking = masked["chargebus/ocpp_gateway/state/reservation/1"]["reservation"]
        assert (booking["token"]["value"], booking["group"]["value"]) == ("04**D5", "FL**XY")


async def test_the_token_in_the_query_string_is_not_accepted(settings: Settings) -> None:
    async with serving(settings) as base, cards_on_the_bus(settings), \
            httpx.AsyncClient(base_url=base, timeout=10) as client:
        await _seen_by_the_api(base)
        for route in await _every_get_route(client):
            body = await _body(client, route, params={"token": TEST_API_TOKEN})
            assert CARD not in body and PARENT not in body, f"GET {route}?token=: {body[:2000]}"


async def test_the_page_logs_in_with_a_strict_http_only_cookie(settings: Settings) -> None:
    async with serving(settings) as base, cards_on_the_bus(settings), \
            httpx.AsyncClient(base_url=base, timeout=10) as client:
        await _seen_by_the_api(base)
        refused = await client.post("/api/login", json={"token": "wrong-token-0123456789"})
        assert refused.status_code == 401 and "set-cookie" not in refused.headers

        login = await client.post("/api/login", json={"token": TEST_API_TOKEN})
        assert login.status_code == 204
        cookie = login.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite", "path"} <= attributes and "secure" not in attributes  # plain HTTP here
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert TEST_API_TOKEN not in cookie  # a session of its own, not the token
        assert CARD in await _body(client, "/api/stream")
        assert f'"id_token":"{CARD}"' in await _body(client, "/api/summary")
        assert PARENT in await _body(client, "/api/status")
        # the cookie only reveals: a page another site makes the browser post to cannot act with it
        assert (await client.post("/api/services/metering/restart")).status_code == 401

        logout = await client.post("/api/logout")
        assert logout.status_code == 204
        assert CARD not in await _body(client, "/api/summary", headers={"Cookie": cookie.split(";")[0]})

"""The maintenance API over real HTTP, fed by a real broker."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime

import httpx

from services.common.bus import Bus
from services.common.contract import auth, ocpp_gateway, power
from services.common.contract.auth import AuthorizationStatus, AuthSource, Decided, IdToken, TokenType
from services.common.contract.common import CONFIG, HEALTH, ConfigValue, Health, HealthState
from services.common.contract.ocpp_gateway import ConnectorReport
from services.common.contract.power import ConnectorState
from services.common.settings import Settings
from tests.broker import free_port
from tests.conftest import TEST_API_TOKEN
from tests.service.api.running import get_until, pictures, serving


async def test_health_status_config_and_page(settings: Settings) -> None:
    bus = Bus(settings, "double", health=False)  # stands in for power and the gateway (an open test broker)
    await bus.start(5)
    bus.publish(HEALTH, Health(state=HealthState.ONLINE, version="0.1.0", pid=os.getpid(), since=datetime.now(UTC)),
                service="power")
    try:
        async with serving(settings) as base:
            assert power.CONNECTOR.example is not None
            bus.publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example), connector_id=1)
            bus.publish(CONFIG, ConfigValue(key="HeartbeatInterval", value="300", readonly=False),
                        key="HeartbeatInterval")
            health = (await get_until(f"{base}/api/health", '"power"')).json()
            assert health["power"]["state"] == "online" and health["api"]["state"] == "online"
            status = (await get_until(f"{base}/api/status", "connector")).json()
            assert status["chargebus/power/state/connector/1"]["delivering"] is True
            config = (await get_until(f"{base}/api/config", "HeartbeatInterval")).json()
            assert config == {"HeartbeatInterval": {"value": "300", "readonly": False}}
            page = await get_until(f"{base}/", "EventSource")
            assert page.headers["content-type"].startswith("text/html") and "/api/stream" in page.text
    finally:
        await bus.stop()


async def test_id_tags_only_for_the_token_holder_and_the_stream_follows_the_bus(settings: Settings) -> None:
    bus = Bus(settings, "double", health=False)  # stands in for power and auth (an open test broker)
    await bus.start(5)
    token = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
    try:
        async with serving(settings) as base, httpx.AsyncClient() as client:
            bus.publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example or {}), connector_id=1)
            preparing = ConnectorReport(connector_id=1, status="Preparing", since=datetime.now(UTC))
            bus.publish(ocpp_gateway.CONNECTOR_STATUS, preparing, connector_id=1)
            decided = Decided(token=IdToken(value="04A2B3C4D5", type=TokenType.ISO14443), connector_id=1,
                              status=AuthorizationStatus.BLOCKED, source=AuthSource.LOCAL_LIST, at=datetime.now(UTC),
                              reason="the local list says blocked")
            bus.publish(auth.DECIDED, decided)
            bus.publish(auth.LAST_DECISION, decided)
            masked = (await get_until(f"{base}/api/summary", "id_token=04**D5")).json()
            assert masked["connectors"][0]["last_decision"] == {
                "id_token": "04**D5", "status": "blocked", "source": "local_list",
                "reason": "the local list says blocked", "at": decided.at.isoformat()}
            assert "04A2B3C4D5" not in json.dumps(masked) and masked["unmasked"] is False
            assert any("id_token=04**D5: blocked" in e["what"] for e in masked["events"])
            full = (await client.get(f"{base}/api/summary", headers=token)).json()
            assert full["connectors"][0]["last_decision"]["id_token"] == "04A2B3C4D5" and full["unmasked"] is True
            wrong = (await client.get(f"{base}/api/summary", headers={"Authorization": "Bearer nope"})).json()
            assert "04A2B3C4D5" not in json.dumps(wrong)
            async with client.stream("GET", f"{base}/api/stream") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                seen = pictures(stream.aiter_lines())
                assert (await anext(seen))["connectors"][0]["status"] == "Preparing"
                charging = preparing.model_copy(update={"status": "Charging"})
                bus.publish(ocpp_gateway.CONNECTOR_STATUS, charging, connector_id=1)
                async with asyncio.timeout(10):
                    async for picture in seen:
                        if picture["connectors"][0]["status"] == "Charging":
                            break
                assert "04A2B3C4D5" not in json.dumps(picture)
    finally:
        await bus.stop()


async def test_actions_need_the_token_and_are_refused_when_none_is_set(settings: Settings) -> None:
    async with serving(settings) as base, httpx.AsyncClient() as client:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
            refused = await client.post(f"{base}/api/services/metering/restart", headers=headers)
            assert refused.status_code == 401 and "token" in refused.json()["detail"]
        unknown = await client.post(f"{base}/api/services/nonsense/restart",
                                    headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
        assert unknown.status_code == 404
        bad = await client.post(f"{base}/api/trigger", json={"message": "Reset"},
                                headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
        assert bad.status_code == 422
        schema = (await client.get(f"{base}/openapi.json")).json()
        assert {"/api/services/{name}/restart", "/api/connectors/{connector_id}/availability", "/api/trigger",
                "/api/summary", "/api/stream", "/api/login", "/api/logout"} <= set(schema["paths"])
    tokenless = settings.model_copy(update={"api_token": None, "api_port": free_port()})
    async with serving(tokenless) as base, httpx.AsyncClient() as client:
        off = await client.post(f"{base}/api/services/metering/restart",
                                headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
        assert off.status_code == 403 and "no api_token" in off.json()["detail"]
        no_login = await client.post(f"{base}/api/login", json={"token": TEST_API_TOKEN})
        assert no_login.status_code == 403 and "set-cookie" not in no_login.headers


async def test_a_fail_closed_cap_is_on_the_page(settings: Settings) -> None:
    """Power could not read its kept caps and applies the safe one: the page says so, and why."""
    bus = Bus(settings, "double", health=False)  # stands in for power (an open test broker)
    await bus.start(5)
    try:
        async with serving(settings) as base:
            capped = ConnectorState.model_validate({**(power.CONNECTOR.example or {}), "cap_a": 10.0, "limit_a": 10.0,
                                                    "cap_fail_closed": "power_caps.json is not JSON"})
            bus.publish(power.CONNECTOR, capped, connector_id=1)
            summary = (await get_until(f"{base}/api/summary", "cap_fail_closed")).json()
            assert summary["connectors"][0]["cap_fail_closed"] == "power_caps.json is not JSON"
            page = (await get_until(f"{base}/", "EventSource")).text
            assert "c.cap_fail_closed" in page  # the page's connector picture shows it beside the limit
    finally:
        await bus.stop()

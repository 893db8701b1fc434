"""The maintenance API over real HTTP, fed by a real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from services.api.service import ApiService
from services.common.bus import Bus
from services.common.contract import auth, power
from services.common.contract.auth import AuthorizationStatus, AuthSource, Decided
from services.common.contract.common import CONFIG, ConfigValue
from services.common.contract.power import ConnectorState
from services.common.lifecycle import serve
from services.common.settings import Settings
from tests.broker import free_port
from tests.conftest import TEST_API_TOKEN


async def _get(url: str, what: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(url)
                if what in response.text:
                    return response
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never showed {what!r}: {response.text[:3000]}")


async def test_health_status_config_and_page(settings: Settings) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ApiService, settings, stop))
    bus = Bus(settings, "power")
    await bus.start(5)
    try:
        assert power.CONNECTOR.example is not None
        bus.publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example), connector_id=1)
        bus.publish(CONFIG, ConfigValue(key="HeartbeatInterval", value="300", readonly=False), key="HeartbeatInterval")
        base = f"http://{settings.api_host}:{settings.api_port}"
        health = (await _get(f"{base}/api/health", '"power"')).json()
        assert health["power"]["state"] == "online" and health["api"]["state"] == "online"
        status = (await _get(f"{base}/api/status", "connector")).json()
        assert status["chargebus/power/state/connector/1"]["status"] == "Charging"
        config = (await _get(f"{base}/api/config", "HeartbeatInterval")).json()
        assert config == {"HeartbeatInterval": {"value": "300", "readonly": False}}
        page = await _get(f"{base}/", "EventSource")
        assert page.headers["content-type"].startswith("text/html") and "/api/stream" in page.text
    finally:
        await bus.stop()
        stop.set()
        await asyncio.wait_for(task, 10)


async def _serving(settings: Settings) -> tuple[asyncio.Task[None], asyncio.Event, str]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ApiService, settings, stop))
    base = f"http://{settings.api_host}:{settings.api_port}"
    await _get(f"{base}/api/health", '"api"')
    return task, stop, base


async def test_id_tags_only_for_the_token_holder_and_the_stream_follows_the_bus(settings: Settings) -> None:
    task, stop, base = await _serving(settings)
    bus = Bus(settings, "auth")
    await bus.start(5)
    token = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
    try:
        plugged = ConnectorState.model_validate({**(power.CONNECTOR.example or {}), "status": "Preparing"})
        bus.publish(power.CONNECTOR, plugged, connector_id=1)
        decided = Decided(id_tag="04A2B3C4D5", connector_id=1, status=AuthorizationStatus.BLOCKED,
                          source=AuthSource.LOCAL_LIST, at=datetime.now(UTC), reason="the local list says Blocked")
        bus.publish(auth.DECIDED, decided)
        bus.publish(auth.LAST_DECISION, decided)
        masked = (await _get(f"{base}/api/summary", "id_tag=04**D5")).json()
        assert masked["connectors"][0]["last_decision"] == {
            "id_tag": "04**D5", "status": "Blocked", "source": "local_list",
            "reason": "the local list says Blocked", "at": decided.at.isoformat()}
        assert "04A2B3C4D5" not in json.dumps(masked)
        assert any("id_tag=04**D5: Blocked" in e["what"] for e in masked["events"])
        async with httpx.AsyncClient() as client:
            full = (await client.get(f"{base}/api/summary", headers=token)).json()
            assert full["connectors"][0]["last_decision"]["id_tag"] == "04A2B3C4D5"
            wrong = (await client.get(f"{base}/api/summary", headers={"Authorization": "Bearer nope"})).json()
            assert "04A2B3C4D5" not in json.dumps(wrong)
            async with client.stream("GET", f"{base}/api/stream") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                pictures = _pictures(stream.aiter_lines())
                assert (await anext(pictures))["connectors"][0]["status"] == "Preparing"
                charging = ConnectorState.model_validate({**plugged.model_dump(), "status": "Charging"})
                bus.publish(power.CONNECTOR, charging, connector_id=1)
                async with asyncio.timeout(10):
                    async for picture in pictures:
                        if picture["connectors"][0]["status"] == "Charging":
                            break
                assert "04A2B3C4D5" not in json.dumps(picture)
    finally:
        await bus.stop()
        stop.set()
        await asyncio.wait_for(task, 10)


async def _pictures(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    async for line in lines:
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


async def test_actions_need_the_token_and_are_refused_when_none_is_set(settings: Settings, tmp_path: Path) -> None:
    task, stop, base = await _serving(settings)
    try:
        async with httpx.AsyncClient() as client:
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
                    "/api/summary", "/api/stream"} <= set(schema["paths"])
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    tokenless = settings.model_copy(update={"api_token": None, "api_port": free_port()})
    task, stop, base = await _serving(tokenless)
    try:
        async with httpx.AsyncClient() as client:
            off = await client.post(f"{base}/api/services/metering/restart",
                                    headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
            assert off.status_code == 403 and "no api_token" in off.json()["detail"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)

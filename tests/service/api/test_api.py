"""The maintenance API over real HTTP, fed by a real broker."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from services.api.service import ApiService
from services.common.bus import Bus
from services.common.contract import power
from services.common.contract.common import CONFIG, ConfigValue
from services.common.contract.power import ConnectorState
from services.common.lifecycle import serve
from services.common.settings import Settings


async def _get(url: str, what: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(url)
                if what in response.text:
                    return response
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never showed {what!r}")


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
        page = await _get(f"{base}/", "Charging")
        assert page.headers["content-type"].startswith("text/html") and "<td>power</td>" in page.text
    finally:
        await bus.stop()
        stop.set()
        await asyncio.wait_for(task, 10)

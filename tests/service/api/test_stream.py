"""The live stream: every viewer of the page gets every change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx

from services.common.bus import Bus
from services.common.contract import ocpp_gateway, power
from services.common.contract.ocpp_gateway import ConnectorReport
from services.common.contract.power import ConnectorState
from services.common.settings import Settings
from tests.service.api.running import pictures, serving

# a change a stream missed would only show with the keep-alive picture, 15 s later: a step waits less than that
STEP_S = 10


async def _until_status(stream: AsyncIterator[dict[str, Any]], status: str) -> None:
    async for picture in stream:
        if picture["connectors"] and picture["connectors"][0]["status"] == status:
            return


async def test_two_viewers_both_get_every_change(settings: Settings) -> None:
    bus = Bus(settings, "double", health=False)  # stands in for power and the gateway (an open test broker)
    await bus.start(5)
    bus.publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example or {}), connector_id=1)
    plugged = ConnectorReport(connector_id=1, status="Preparing", since=datetime.now(UTC))
    bus.publish(ocpp_gateway.CONNECTOR_STATUS, plugged, connector_id=1)
    try:
        async with serving(settings) as base, httpx.AsyncClient(timeout=30) as client, \
                client.stream("GET", f"{base}/api/stream") as one, client.stream("GET", f"{base}/api/stream") as two:
            viewers = [pictures(one.aiter_lines()), pictures(two.aiter_lines())]
            async with asyncio.timeout(STEP_S):
                await asyncio.gather(*(_until_status(v, "Preparing") for v in viewers))
            # each change lands while both streams rest between two pictures, as on a busy bus
            for status in ("Charging", "SuspendedEV", "Charging", "Finishing"):
                bus.publish(ocpp_gateway.CONNECTOR_STATUS, plugged.model_copy(update={"status": status}),
                            connector_id=1)
                async with asyncio.timeout(STEP_S):
                    await asyncio.gather(*(_until_status(v, status) for v in viewers))
    finally:
        await bus.stop()

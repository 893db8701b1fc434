"""10,000 transaction messages queued offline are replayed in order, none lost, with the real transaction id."""

from __future__ import annotations

import asyncio

from services.common.lifecycle import serve
from services.common.settings import Settings
from services.ocpp_gateway.service import OcppGatewayService
from tests.csms import CentralSystem
from tests.outbox_fill import fill_outbox

COUNT = 10_000


async def test_ten_thousand_queued_messages_replayed_in_order(settings: Settings) -> None:
    fill_outbox(settings.db_path("ocpp_gateway"), COUNT)
    csms = CentralSystem()
    await csms.start()
    stop = asyncio.Event()
    gateway = asyncio.create_task(serve(OcppGatewayService, settings.model_copy(update={"csms_url": csms.url}), stop))
    try:
        await csms.wait("StopTransaction", timeout=150, poll_s=0.5)
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await gateway
        await csms.stop()
    replayed = [s for s in csms.seen if s.action in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert len(replayed) == COUNT
    assert replayed[0].action == "StartTransaction" and replayed[-1].action == "StopTransaction"
    values = [int(s.payload["meter_value"][0]["sampled_value"][0]["value"]) for s in replayed[1:-1]]
    assert values == list(range(1, COUNT - 1))
    assert {s.payload["transaction_id"] for s in replayed[1:]} == {1000}
    assert replayed[-1].payload["meter_stop"] == COUNT

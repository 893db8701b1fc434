"""Bus request/response round trip, with TCP_NODELAY on both sides and without it at the broker."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from services.common.bus import Bus
from services.common.contract.power import CONNECTOR, GET_STATE, ConnectorRequest, ConnectorState
from services.common.settings import Settings
from tests.broker import Broker

from .figures import Figure, p50_p99

ROUNDS = 500


async def _round_trips(settings: Settings, rounds: int) -> list[float]:
    server = Bus(settings, "power")
    assert CONNECTOR.example is not None
    state = ConnectorState.model_validate(CONNECTOR.example)

    async def get_state(_req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        return state

    server.handle(GET_STATE, get_state)
    await server.start(5)
    client = Bus(settings, "bench", persistent=False, health=False)
    await client.start(5)
    samples = []
    try:
        for _ in range(20):
            await client.request(GET_STATE, ConnectorRequest())
        for _ in range(rounds):
            start = time.perf_counter()
            await client.request(GET_STATE, ConnectorRequest())
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        await client.stop()
        await server.stop()
    return samples


async def run() -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp) / "broker")
        broker.start()
        try:
            settings = Settings(mqtt_url=broker.url, data_dir=Path(tmp) / "data")
            samples = await _round_trips(settings, ROUNDS)
            figures += p50_p99("bus request/response (nodelay)", samples, "goal p50 <= 0.5 ms (issue 17)")
        finally:
            broker.stop()
        slow = Broker(Path(tmp) / "slow")
        slow.conf.write_text(slow.conf.read_text().replace("set_tcp_nodelay true\n", ""))
        slow.start()
        try:
            settings = Settings(mqtt_url=slow.url, data_dir=Path(tmp) / "data2")
            samples = await _round_trips(settings, 50)
            figures += p50_p99("bus request/response (broker without nodelay)", samples,
                               note="for comparison only")
        finally:
            slow.stop()
    return figures

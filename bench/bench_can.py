"""Set-point change → measured current, through the real power controller, CAN (udp_multicast) and the simulator.

The figure is what a user sees on the bus: from sending `chargebus/power/cmd/set_limit` to the
first `chargebus/power/state/measurement/1` whose current equals the new limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

from services.common.bus import Bus
from services.common.contract import Topic, ocpp_gateway, power, sim
from services.common.contract.ocpp_gateway import SessionPhase, SessionRequest, SessionView
from services.common.contract.power import EnergizeRequest, Measurement, SetLimitRequest
from services.common.contract.sim import PlugRequest
from services.common.lifecycle import Service, serve
from services.common.settings import Settings
from services.power.service import PowerService
from services.sim.service import SimService
from tests.broker import Broker
from tests.conftest import isolated_settings

from .figures import Figure, p50_p99

CHANGES = 60


class _Current:
    def __init__(self) -> None:
        self.amps = -1.0
        self.changed = asyncio.Event()

    async def seen(self, _topic: str, _declared: Topic, payload: BaseModel | None, _p: dict[str, str]) -> None:
        if isinstance(payload, Measurement):
            self.amps = payload.current_a
            self.changed.set()

    async def until(self, amps: float, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.amps != amps:
            self.changed.clear()
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await self.changed.wait()


async def _measure(settings: Settings) -> list[float]:
    stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
    for cls in (SimService, PowerService):
        stop = asyncio.Event()
        service: type[Service] = cls
        stops.append((stop, asyncio.create_task(serve(service, settings, stop))))
    current = _Current()
    bus = Bus(settings, "bench", persistent=False, health=False)
    bus.watch(power.MEASUREMENT.filter, current.seen)

    async def session(request: SessionRequest, _p: dict[str, str]) -> SessionView:
        # the gateway's part: power energizes only for a session the gateway confirms
        return SessionView(connector_id=request.connector_id, phase=SessionPhase.ACTIVE, session_id="bench-session")

    bus.handle(ocpp_gateway.GET_SESSION, session)
    await bus.start(5)
    samples: list[float] = []
    try:
        await asyncio.sleep(1.5)  # power waits for the module's first frames
        await bus.request(sim.PLUG, PlugRequest())
        await asyncio.sleep(0.3)
        await bus.request(power.ENERGIZE, EnergizeRequest(session_id="bench-session"))
        await current.until(200.0)
        for i in range(CHANGES):
            target = 100.0 if i % 2 == 0 else 150.0
            start = time.perf_counter()
            await bus.request(power.SET_LIMIT, SetLimitRequest(current_a=target))
            await current.until(target)
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        await bus.stop()
        for stop, task in stops:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                async with asyncio.timeout(10):
                    await task
    return samples


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp) / "broker")
        broker.start()
        try:
            samples = await _measure(isolated_settings(Path(tmp), broker.url))
        finally:
            broker.stop()
    return p50_p99("CAN set-point -> measured current", samples, "goal: within one 100 ms cycle")

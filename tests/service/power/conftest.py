"""Real `power` and `sim` services on the test's broker and udp_multicast CAN channel, and an observer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from services.common.bus import Bus
from services.common.contract import Topic, ocpp_gateway, power
from services.common.contract.common import HEALTH, Health, HealthState
from services.common.contract.ocpp_gateway import AvailabilityIntent, SessionPhase, SessionRequest, SessionView
from services.common.contract.power import ConnectorState, Measurement
from services.common.lifecycle import Service, serve
from services.common.settings import Settings
from services.ocpp_gateway.connector_status import Owned, Value, work_out
from services.power.service import NEEDED, PowerService
from services.sim.service import SimService

DEADLINE_S = 10.0


@dataclass
class Recorder:
    """Every message under chargebus/ as the bus validated it; `until` polls a condition with a deadline."""

    latest: dict[str, BaseModel | None] = field(default_factory=dict)
    seen: list[tuple[str, BaseModel | None]] = field(default_factory=list)

    async def on(self, topic: str, _declared: Topic, payload: BaseModel | None, _params: dict[str, str]) -> None:
        self.latest[topic] = payload
        self.seen.append((topic, payload))

    def operative(self) -> bool:
        intent = self.latest.get(ocpp_gateway.AVAILABILITY.render(connector_id=1))
        return not isinstance(intent, AvailabilityIntent) or intent.operative

    def said(self, state: ConnectorState) -> Value:
        """What a 1.6 CSMS would be told of these facts: the gateway's rule, with the availability published."""
        return work_out(state, Owned(operative=self.operative()))

    def connector(self) -> ConnectorState | None:
        state = self.latest.get(power.CONNECTOR.render(connector_id=1))
        return state if isinstance(state, ConnectorState) else None

    def measurement(self) -> Measurement | None:
        m = self.latest.get(power.MEASUREMENT.render(connector_id=1))
        return m if isinstance(m, Measurement) else None

    async def until(self, check: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s; connector={self.connector()} "
                                     f"measurement={self.measurement()}")
            await asyncio.sleep(0.02)

    async def status(self, *statuses: str, timeout: float = DEADLINE_S) -> ConnectorState:
        await self.until(lambda: (s := self.connector()) is not None and self.said(s)[0] in statuses,
                         f"connector status in {statuses}", timeout)
        state = self.connector()
        assert state is not None
        return state


class Running:
    """One service running in-process under `serve`, stoppable on its own."""

    def __init__(self, cls: type[Service], settings: Settings) -> None:
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(serve(cls, settings, self.stop_event))

    async def stop(self) -> None:
        self.stop_event.set()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(10):
                await self.task


SESSION = "test-session"


@dataclass
class GatewaySessions:
    """The test answers power's question on the bus as the gateway would: which session is open on a connector."""

    open: dict[int, str | None] = field(default_factory=lambda: {1: SESSION})
    asked: int = 0

    async def on_get_session(self, req: SessionRequest, _p: dict[str, str]) -> SessionView:
        self.asked += 1
        session = self.open.get(req.connector_id)
        return SessionView(connector_id=req.connector_id, session_id=session,
                           phase=SessionPhase.ACTIVE if session else SessionPhase.NONE)


@pytest.fixture
def sessions() -> GatewaySessions:
    return GatewaySessions()


@pytest.fixture
async def observer(settings: Settings, sessions: GatewaySessions) -> AsyncIterator[tuple[Bus, Recorder]]:
    recorder = Recorder()
    bus = Bus(settings, "test", client_id=f"test-observer-{id(recorder)}", persistent=False, health=False)
    bus.watch("chargebus/#", recorder.on)
    bus.handle(ocpp_gateway.GET_SESSION, sessions.on_get_session)
    await bus.start(5)
    # the gateway's retained availability, as it publishes it at every connection
    bus.publish(ocpp_gateway.AVAILABILITY, AvailabilityIntent(connector_id=1, operative=True), connector_id=1)
    for name in NEEDED:  # the services power needs are up (their health as they would publish it)
        bus.publish(HEALTH, Health(state=HealthState.ONLINE, version="test", pid=1, since=datetime.now(UTC)),
                    service=name)
    yield bus, recorder
    await bus.stop()


@pytest.fixture
async def sim_service(settings: Settings) -> AsyncIterator[Running]:
    running = Running(SimService, settings)
    yield running
    await running.stop()


@pytest.fixture
async def stack(settings: Settings, sim_service: Running, observer: tuple[Bus, Recorder]) -> AsyncIterator[Running]:
    """sim + power in-process; returns once power published Available."""
    running = Running(PowerService, settings)
    await observer[1].status("Available")
    yield running
    await running.stop()

"""The gateway alone: a real Central System, the real broker, the gateway service, and declared stand-ins.

What the gateway makes of OCPP (configuration keys, CALLERROR codes, parameter checks, TriggerMessage, the
connection and security profiles) needs no other service to be tested: starting the whole station for it
cost a second of CPU per test. Here the other services are stand-ins: each logs in on the bus as the service
it stands for (so the bus's declarations hold for it as for the real one), says it is online, publishes the
retained states a test gives it and answers the commands a test names, recording what they carried. A test
that needs a service's own behaviour (auth's list, smart_charging's composite, power's interlock) belongs
to the system tests, which keep the real stack.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ocpp.v16.enums import RegistrationStatus
from pydantic import BaseModel

from services.common.bus import Bus
from services.common.contract import Topic, power
from services.common.contract.common import HEALTH, Health, HealthState
from services.common.contract.hardware import CONNECTORS
from services.common.contract.power import ConnectorState
from services.common.lifecycle import serve
from services.common.settings import Settings
from services.ocpp_gateway.service import OcppGatewayService
from tests.broker import Broker
from tests.conftest import isolated_settings
from tests.csms import CentralSystem
from tests.system.stack import CsmsView, Observer

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


class StandIn:
    """One service's side of the contract, as much as a test declares: online, its states, its answers."""

    def __init__(self, settings: Settings, service: str) -> None:
        self.service = service
        self.bus = Bus(settings, service, client_id=f"stand-in-{service}-{uuid.uuid4().hex[:6]}", persistent=False)
        self.requests: dict[str, list[BaseModel]] = {}

    def answer(self, topic: Topic[P, R], reply: R | Callable[[P], R | Awaitable[R]]) -> None:
        """Answer `topic` (a command this service owns) with `reply`, or with `reply(request)`, awaited if it is
        a coroutine (an answer the test holds back)."""
        async def handler(request: P, _params: dict[str, str]) -> R:
            self.requests.setdefault(topic.path, []).append(request)
            if not callable(reply):
                return reply
            answered = reply(request)
            return await answered if inspect.isawaitable(answered) else answered

        self.bus.handle(topic, handler)

    def asked(self, topic: Topic[Any, Any]) -> list[Any]:
        """What the gateway sent on `topic` so far."""
        return list(self.requests.get(topic.path, []))

    async def start(self) -> None:
        await self.bus.start(10)
        self.publish(HEALTH, Health(state=HealthState.ONLINE, version="stand-in", pid=os.getpid(),
                                    since=datetime.now(UTC)), service=self.service)

    def publish(self, topic: Topic[P, Any], payload: P, **params: object) -> None:
        self.bus.publish(topic, payload, **params)


def idle_connector(connector_id: int) -> ConnectorState:
    return ConnectorState(connector_id=connector_id, plugged=False, energized=False, limit_a=0, setpoint_a=0,
                          since=datetime.now(UTC))


class _Lines(logging.Handler):
    """The gateway's log, as its file would have it (the gateway runs in the test's process)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class GatewayRig(CsmsView):
    csms: CentralSystem
    settings: Settings
    observer: Observer
    stand_ins: dict[str, StandIn] = field(default_factory=dict)
    log: _Lines = field(default_factory=_Lines)
    connectors: dict[int, ConnectorState] = field(default_factory=dict)  # as the power stand-in reports them

    def stand_in(self, service: str) -> StandIn:
        return self.stand_ins[service]

    def log_text(self) -> str:
        return "\n".join(self.log.lines)

    async def logged(self, text: str, timeout: float = 10.0) -> None:
        await self.observer.wait(lambda: text in self.log_text(), timeout, f"{text!r} logged")

    def hardware(self, connector_id: int = 1, **facts: Any) -> None:
        """What power would report: the connector's facts changed (plugged, fault, ...)."""
        state = idle_connector(connector_id).model_copy(update={**facts, "since": datetime.now(UTC)})
        self.connectors[connector_id] = state
        self.stand_in("power").publish(power.CONNECTOR, state, connector_id=connector_id)

    def plug(self, connector_id: int = 1) -> None:
        self.hardware(connector_id, plugged=True)

    def unplug(self, connector_id: int = 1) -> None:
        self.hardware(connector_id, plugged=False)


@asynccontextmanager
async def running_gateway(tmp_path: Path, csms: CentralSystem | None = None, boot_interval: int = 300,
                          boot_status: str = "Accepted",
                          answers: Callable[[GatewayRig], Awaitable[None] | None] | None = None,
                          **settings_update: Any) -> AsyncIterator[GatewayRig]:
    """The rig, started in order: broker, stand-ins (power online with idle connectors, so the gateway reports
    Available; every other service online), then the gateway on the CSMS. `answers(rig)` declares the stand-ins'
    answers before anything connects (a command may come at the first BootNotification)."""
    csms = csms or CentralSystem()
    csms.boot_interval = boot_interval
    csms.boot_status = RegistrationStatus(boot_status)
    await csms.start()
    broker = Broker(tmp_path / "broker")
    broker.start()
    settings = isolated_settings(tmp_path, broker.url).model_copy(update={"csms_url": csms.url, **settings_update})
    stop = asyncio.Event()
    gateway: asyncio.Task[None] | None = None
    rig = GatewayRig(csms, settings, Observer(settings, login=False))
    logging.getLogger().addHandler(rig.log)
    level = logging.getLogger("services").level
    logging.getLogger("services").setLevel(logging.INFO)
    try:
        for service in ("power", "auth", "metering", "smart_charging", "firmware", "supervisor"):
            rig.stand_ins[service] = StandIn(settings, service)
        # the gateway asks power what is true now at its start and before it ends a charge
        rig.stand_in("power").answer(power.GET_STATE, lambda request: rig.connectors[request.connector_id])
        if answers is not None:
            declared = answers(rig)
            if declared is not None:
                await declared
        for stand_in in rig.stand_ins.values():
            await stand_in.start()
        for connector in CONNECTORS:
            rig.hardware(connector)
        async with rig.observer:
            gateway = asyncio.create_task(serve(OcppGatewayService, settings, stop), name="gateway-under-test")
            await rig.observer.wait_online(("ocpp_gateway",), timeout=10)
            yield rig
    finally:
        stop.set()
        stuck = False
        if gateway is not None:  # as a SIGTERM would: the gateway must end by itself
            await asyncio.wait({gateway}, timeout=10)
            stuck = not gateway.done()
            if stuck:
                gateway.cancel()  # the rest is cleaned up all the same; the test fails below
        try:
            for stand_in in rig.stand_ins.values():
                await stand_in.bus.stop()
            await csms.stop()
        finally:
            broker.stop()
            logging.getLogger().removeHandler(rig.log)
            logging.getLogger("services").setLevel(level)
        assert not stuck, "the gateway did not stop within 10 s of its stop"
        if gateway is not None:
            gateway.result()

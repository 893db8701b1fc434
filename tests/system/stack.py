"""The whole station as a user runs it: `chargebus run` in its own process group, watched on the bus."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import BaseModel

from services.common import contract
from services.common.bus import Bus
from services.common.bus_accounts import credentials
from services.common.contract import Topic
from services.common.contract.common import Health, HealthState
from services.common.settings import Settings
from tests.csms import CentralSystem
from tests.zygote import Forked, zygote

ALL = ("supervisor", "ocpp_gateway", "power", "auth", "metering", "smart_charging", "firmware", "api", "sim")


class Observer:
    """Keeps the latest message of every declared topic and lets a test wait for a condition."""

    def __init__(self, settings: Settings, login: bool = True) -> None:
        """`login=False`: on an open test broker, where no supervisor makes accounts.

        With the status page's account: it reads what a technician may see, private states (idTags) included;
        anonymous, the broker would hold those back."""
        self.settings, self.login = settings, login
        self.bus = Bus(settings, "api", client_id=f"observer-{uuid.uuid4().hex[:8]}", persistent=False,
                       health=False)
        self.latest: dict[str, BaseModel | None] = {}
        self.history: list[tuple[float, str, BaseModel | None]] = []
        self._changed = asyncio.Event()
        self.bus.watch("chargebus/#", self._seen)

    async def _seen(self, topic: str, _declared: Topic, payload: BaseModel | None, _p: dict[str, str]) -> None:
        self.latest[topic] = payload
        self.history.append((time.monotonic(), topic, payload))
        self._changed.set()

    async def __aenter__(self) -> Observer:
        # its account's password is made by the supervisor at start: before it, the observer would be anonymous
        deadline = time.monotonic() + (30 if self.login else 0)
        while credentials(self.settings, "api") is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self.bus.start(10)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.bus.stop()

    async def wait(self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
        """Wait until `predicate()` returns something truthy; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            found = predicate()
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"not seen within {timeout} s: {what or predicate}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.2)):
                    await self._changed.wait()

    def get(self, topic: str) -> Any:
        return self.latest.get(topic)

    def health(self, service: str) -> Health | None:
        value = self.latest.get(f"chargebus/{service}/health")
        return value if isinstance(value, Health) else None

    def online(self, services: tuple[str, ...] = ALL, not_pids: dict[str, int] | None = None) -> dict[str, int]:
        pids = {}
        for name in services:
            health = self.health(name)
            if health is None or health.state is not HealthState.ONLINE:
                return {}
            if not_pids and not_pids.get(name) == health.pid:
                return {}
            pids[name] = health.pid
        return pids

    async def wait_online(self, services: tuple[str, ...] = ALL, timeout: float = 30.0,
                          not_pids: dict[str, int] | None = None) -> dict[str, int]:
        pids: dict[str, int] = await self.wait(lambda: self.online(services, not_pids), timeout,
                                               f"{services} online")
        return pids


class CsmsView:
    """What a test asks as the Central System and checks on the bus, whatever runs the gateway (the whole
    station or the gateway rig): needs `csms` and `observer`."""

    csms: CentralSystem
    observer: Observer

    async def status(self, status: str, connector: int = 1, count: int = 1, timeout: float = 20.0
                     ) -> list[dict[str, Any]]:
        """Wait until the CSMS got `count` StatusNotifications of `status` for `connector`."""
        return await self.csms.wait("StatusNotification", count, timeout=timeout,
                                    where=lambda p: p["connector_id"] == connector and p["status"] == status)

    def reported(self, status: str, connector: int = 1) -> int:
        """How many StatusNotifications of `status` the CSMS got so far (to wait for the next one)."""
        return len([p for p in self.csms.calls("StatusNotification")
                    if p["connector_id"] == connector and p["status"] == status])

    async def configure(self, **keys: str) -> None:
        from ocpp.v16 import call

        for key, value in keys.items():
            result = await self.csms.call(call.ChangeConfiguration(key=key, value=value))
            assert result.status == "Accepted", (key, value, result.status)

    async def accepted(self, timeout: float = 20.0) -> None:
        """Wait until the gateway's CSMS link is up and its BootNotification Accepted."""
        def linked() -> bool:
            state = self.observer.get("chargebus/ocpp_gateway/state/connection")
            return bool(state and state.connected and state.registration == "Accepted")
        await self.observer.wait(linked, timeout, "the CSMS link up and Accepted")


class Stack:
    """`chargebus run` in its own session, so a test can cut its power (kill -9 the group).

    Forked from the worker's pre-imported zygote (`tests/zygote.py`: the same `main`, a second less of CPU per
    station), or with `interpreter=True` a new interpreter as the `chargebus` script starts it."""

    def __init__(self, env: dict[str, str], log: Path, interpreter: bool = False) -> None:
        self.env = env
        self.log = log
        self.interpreter = interpreter
        self.proc: subprocess.Popen[bytes] | Forked | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if not self.interpreter:
            self.proc = zygote().spawn(self.env, self.log)
            return
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "run"],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def power_cut(self) -> None:
        """kill -9 of the whole process group: broker, supervisor and every service at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pgid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)  # nothing may outlive the test
        return self.proc.returncode

    def tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def kill9(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class CommandTap:
    """What a service's commands carried, for a test: a second login of the owner's account (the broker lets only
    the owner read its commands), under a client id of its own so that the real service keeps its session."""

    def __init__(self, settings: Settings, owner: str) -> None:
        login = credentials(settings, owner)
        if login is None:
            raise RuntimeError(f"no password for {owner} yet: start the station first")
        self.seen: list[tuple[str, Any]] = []
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tap-{owner}-{uuid.uuid4().hex[:8]}",
                                   protocol=mqtt.MQTTv5)
        self._client.username_pw_set(*login)
        self._client.on_message = self._arrived
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *_a: self._subscribed.set()
        self._client.connect(settings.mqtt_host, settings.mqtt_port)
        self._client.subscribe(f"chargebus/{owner}/cmd/#", qos=1)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError(f"the tap on {owner}'s commands did not subscribe")

    def _arrived(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        found = contract.find(msg.topic)
        if found is not None:  # the command's path: a request's topic carries its caller's address below it
            self.seen.append((found[0].path, found[0].payload.model_validate_json(msg.payload)))

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()

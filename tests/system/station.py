"""The whole station (`chargebus run`: broker, every service, the simulator) with a real Central System.

`running_station()` starts both; the `station` fixture is the usual one. A test drives the EV with
`plug`/`unplug`/`swipe`, the CSMS through `station.csms`, and watches the bus through `station.observer`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ocpp.v16.enums import RegistrationStatus

from services.common.bus import Bus
from services.common.contract import sim
from services.common.contract.sim import EstopRequest, PlugRequest, SwipeRequest
from services.common.settings import Settings
from tests.conftest import env_for, isolated_settings
from tests.csms import CentralSystem
from tests.system.stack import ALL, CsmsView, Observer, Stack


@dataclass
class Station(CsmsView):
    csms: CentralSystem
    stack: Stack
    settings: Settings
    observer: Observer
    bus: Bus

    async def plug(self) -> None:
        await self.bus.request(sim.PLUG, PlugRequest())

    async def unplug(self) -> None:
        await self.bus.request(sim.UNPLUG, PlugRequest())

    async def swipe(self, tag: str) -> None:
        await self.bus.request(sim.SWIPE, SwipeRequest(card=tag))

    async def estop(self, pressed: bool = True) -> None:
        await self.bus.request(sim.ESTOP, EstopRequest(pressed=pressed))

    async def unplug_until_available(self) -> None:
        before = self.reported("Available")
        await self.unplug()
        await self.status("Available", count=before + 1)

    async def linked_since(self, since: datetime, timeout: float = 20.0) -> None:
        """Wait until the gateway reports its CSMS link up again after `since` (a stale retained state from
        before a kill -9 does not count): until then auth decides by its offline rules."""
        def linked() -> bool:
            state = self.observer.get("chargebus/ocpp_gateway/state/connection")
            return bool(state and state.connected and state.since > since)
        await self.observer.wait(linked, timeout, "the CSMS link up again")

    async def logged(self, text: str, timeout: float = 10.0) -> None:
        """Wait until the station's log has a line containing `text` (for steps the bus does not show)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while text not in self.stack.log.read_text(errors="replace"):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{text!r} not logged within {timeout} s:\n{self.stack.tail(20)}")
            await asyncio.sleep(0.05)

    def pid(self, service: str) -> int:
        return self.observer.online((service,))[service]

    def pause(self, service: str) -> int:
        """SIGSTOP a service: it answers nothing until `resume` (the supervisor sees it alive)."""
        pid = self.pid(service)
        os.kill(pid, signal.SIGSTOP)
        return pid

    @staticmethod
    def resume(pid: int) -> None:
        os.kill(pid, signal.SIGCONT)

    async def restart_stack(self) -> None:
        self.stack = Stack(self.stack.env, self.stack.log.with_name(f"run{len(self.stack.log.name)}.log"),
                           self.stack.interpreter)
        self.stack.start()


@asynccontextmanager
async def running_station(tmp_path: Path, boot_interval: int = 300, boot_status: str = "Accepted",
                          csms: CentralSystem | None = None, **env: str) -> AsyncIterator[Station]:
    csms = csms or CentralSystem()
    csms.boot_interval = boot_interval
    csms.boot_status = RegistrationStatus(boot_status)
    await csms.start()
    settings = isolated_settings(tmp_path).model_copy(update={"csms_url": csms.url})
    stack = Stack({**env_for(settings), **env}, tmp_path / "run.log")
    stack.start()
    try:
        async with Observer(settings) as observer:
            await observer.wait_online(ALL, timeout=30)
            bus = Bus(settings, "cli", client_id=f"test-{os.getpid()}-{id(stack)}", persistent=False, health=False)
            await bus.start(5)
            running = Station(csms, stack, settings, observer, bus)
            try:
                yield running
            finally:
                await bus.stop()
                stack = running.stack  # a test may have restarted the station
    finally:
        await asyncio.to_thread(stack.stop)  # the CSMS on this loop answers the station's close meanwhile
        await csms.stop()


async def charging(station: Station, tag: str = "TAG1") -> dict[str, Any]:
    """Plug, present `tag`, wait for a new StartTransaction and Charging; returns the StartTransaction payload."""
    preparing, charging_, starts = station.reported("Preparing"), station.reported("Charging"), len(
        station.csms.calls("StartTransaction"))
    await station.plug()
    await station.status("Preparing", count=preparing + 1)
    await station.swipe(tag)
    start = (await station.csms.wait("StartTransaction", starts + 1))[-1]
    await station.status("Charging", count=charging_ + 1)
    return start

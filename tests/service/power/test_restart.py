"""Crash safety: a power controller killed mid-charge adopts the running module instead of switching it off."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import can
import pytest

from services.common.bus import Bus
from services.common.contract import power, sim
from services.common.contract.common import HEALTH, Health
from services.common.contract.power import ConnectorRequest, EnergizeRequest
from services.common.contract.sim import PlugRequest
from services.common.settings import Settings
from services.power.can_codec import CanCodec, ModuleStatus
from services.power.driver import CanDriver
from services.power.service import PowerService
from services.sim.service import SimService

from .conftest import Recorder, Running

ROOT = Path(__file__).resolve().parents[3]


class PowerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env, self._log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        with self._log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "services.power"], cwd=ROOT, env=self._env,
                                         stdout=out, stderr=subprocess.STDOUT)
        return self.proc.pid

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
async def power_proc(env: dict[str, str], tmp_path: Path) -> AsyncIterator[PowerProcess]:
    proc = PowerProcess(env, tmp_path / "power.log")
    yield proc
    proc.stop()


class ModuleWatch:
    """Listens to the module's own status frames on the CAN channel, as a third node on the bus."""

    def __init__(self, settings: Settings) -> None:
        self.codec = CanCodec()
        self.frames: list[ModuleStatus] = []
        self.driver = CanDriver(settings, accept=(self.codec.status_id,))

    def start(self) -> None:
        self.driver.start(self._on)

    def _on(self, msg: can.Message) -> None:
        frame = self.codec.decode(msg)
        if isinstance(frame, ModuleStatus):
            self.frames.append(frame)


async def _online_pid(rec: Recorder, pid: int) -> None:
    topic = HEALTH.render(service="power")
    await rec.until(lambda: isinstance(h := rec.latest.get(topic), Health) and h.pid == pid and h.state == "online",
                    f"power pid {pid} online")


async def test_power_restart_adopts_a_running_charge(settings: Settings, sim_service: Running, power_proc: PowerProcess,
                                                     observer: tuple[Bus, Recorder]) -> None:
    bus, rec = observer
    await _online_pid(rec, power_proc.start())
    await rec.status("Available")
    await bus.request(sim.PLUG, PlugRequest())
    await rec.status("Preparing")
    await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
    await rec.until(lambda: (m := rec.measurement()) is not None and m.current_a == 200.0, "charging at 200 A")

    watch = ModuleWatch(settings)
    watch.start()
    try:
        power_proc.kill()
        await asyncio.sleep(0.5)  # the module goes on without its controller for a while
        pid = power_proc.start()
        await _online_pid(rec, pid)
        state = await bus.request(power.GET_STATE, ConnectorRequest(), timeout=5)
        assert state.energized and state.delivering
        before = len(rec.seen)
        await rec.until(lambda: any(t == power.MEASUREMENT.render(connector_id=1) for t, _ in rec.seen[before:]),
                        "a measurement from the new process")
        m = rec.measurement()
        assert m is not None and m.current_a > 0
        await asyncio.sleep(0.3)
    finally:
        watch.driver.close()
    assert len(watch.frames) > 5
    assert all(f.enabled and f.current_a > 0 for f in watch.frames), "the module never switched off"


async def test_after_a_whole_stack_restart_the_module_is_off(settings: Settings, power_proc: PowerProcess,
                                                             observer: tuple[Bus, Recorder]) -> None:
    bus, rec = observer
    first_sim = Running(SimService, settings)
    await _online_pid(rec, power_proc.start())
    await bus.request(sim.PLUG, PlugRequest())
    await rec.status("Preparing")
    await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
    await rec.status("Charging")

    # power cut: everything stops; the module (sim) comes back off, with no EV plugged
    power_proc.kill()
    await first_sim.stop()
    second_sim = Running(SimService, settings)
    try:
        await _online_pid(rec, power_proc.start())
        state = await bus.request(power.GET_STATE, ConnectorRequest(), timeout=5)
        assert not state.energized and state.setpoint_a == 0.0
        await rec.status("Available")
    finally:
        await second_sim.stop()


async def test_the_module_opens_when_the_controller_stays_away(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                               observer: tuple[Bus, Recorder]) -> None:
    monkeypatch.setenv("CHARGEBUS_SIM_HEARTBEAT_TIMEOUT_S", "0.5")
    bus, rec = observer
    the_sim = Running(SimService, settings)
    controller = Running(PowerService, settings)
    watch = ModuleWatch(settings)
    watch.start()
    try:
        await rec.status("Available")
        await bus.request(sim.PLUG, PlugRequest())
        await rec.status("Preparing")
        await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
        await rec.until(lambda: bool(watch.frames) and watch.frames[-1].current_a == 200.0, "module delivering")
        await controller.stop()  # no command frames any more
        await rec.until(lambda: not watch.frames[-1].enabled and watch.frames[-1].current_a == 0.0,
                        "module opened its output")
        controller = Running(PowerService, settings)
        state = await bus.request(power.GET_STATE, ConnectorRequest(), timeout=5)
        assert not state.energized and state.plugged and state.fault is None
    finally:
        watch.driver.close()
        await controller.stop()
        await the_sim.stop()

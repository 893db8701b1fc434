"""The production files run as written: docker-compose.yml's commands (no Docker engine here: each container's
command is run as a process, with compose's restart policy, healthchecks and stop order played by the test),
and the systemd unit's ExecStart under its notify protocol and KillMode=mixed stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ocpp.v16 import call

from services.common.contract.common import HealthState
from services.common.settings import SERVICES, Settings
from services.supervisor.separation import unreachable
from tests.conftest import env_for, isolated_settings
from tests.csms import CentralSystem
from tests.system.stack import Observer

ROOT = Path(__file__).resolve().parents[2]
VOLUME_MOUNTS = ("/data", "/chargebus")  # where the containers see the data volume


class Compose:
    """docker-compose.yml's containers as processes on this machine, with the test's ports and data dir."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.spec: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
        self.settings = settings
        self.log = log
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.keepers: dict[str, threading.Thread] = {}
        self.stopping: set[str] = set()

    def argv(self, command: list[str]) -> list[str]:
        head = {"python": [sys.executable], "chargebus": [sys.executable, "-m", "services.cli.main"]}.get(
            command[0], [command[0]])
        out = [*head]
        for arg in command[1:]:
            for mount in VOLUME_MOUNTS:
                if arg == mount or arg.startswith(mount + "/"):
                    arg = str(self.settings.data_dir) + arg[len(mount):]
            out.append(arg.replace("$$", "$").replace("1883", str(self.settings.mqtt_port)))
        return out

    def env(self, name: str) -> dict[str, str]:
        env = {**env_for(self.settings), **{k: str(v) for k, v in self.spec[name].get("environment", {}).items()}}
        # this machine's stand-ins for the station's: the test's data dir, broker port, CAN bus and settings file
        env.update(CHARGEBUS_DATA_DIR=str(self.settings.data_dir), CHARGEBUS_MQTT_URL=self.settings.mqtt_url,
                   CHARGEBUS_CONFIG_FILE=str(ROOT / "deploy" / "chargebus.toml"),
                   CHARGEBUS_CAN_INTERFACE="udp_multicast", CHARGEBUS_CAN_CHANNEL=self.settings.can_channel)
        return env

    def user(self, name: str) -> dict[str, Any]:
        """The container's `user:` (as root, where the services' group reaches the code and the data: CI)."""
        if os.geteuid() != 0 or unreachable(self.settings) is not None:
            return {}
        uid, gid = (int(part) for part in self.spec[name]["user"].split(":"))
        return {"user": uid, "group": gid, "extra_groups": []}

    def run_once(self, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(self.spec[name]["command"]), env=self.env(name), capture_output=True,
                              text=True, timeout=60, **self.user(name))

    def up(self, name: str) -> None:
        """Start a container's command and keep it running as `restart: unless-stopped` does."""
        assert self.spec[name]["restart"] == "unless-stopped"

        def keep() -> None:
            while name not in self.stopping:
                with self.log.open("ab") as out:
                    proc = subprocess.Popen(self.argv(self.spec[name]["command"]), env=self.env(name), stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True, **self.user(name))
                self.procs[name] = proc
                proc.wait()
                if name not in self.stopping:
                    threading.Event().wait(0.2)

        self.keepers[name] = threading.Thread(target=keep, name=f"compose-{name}", daemon=True)
        self.keepers[name].start()

    def healthy(self, name: str) -> bool:
        test = self.spec[name]["healthcheck"]["test"]
        assert test[0] == "CMD"
        done = subprocess.run(self.argv(test[1:]), env=self.env(name), capture_output=True, timeout=30,
                              **self.user(name))
        return done.returncode == 0

    def stop(self, name: str) -> None:
        self.stopping.add(name)
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if name in self.keepers:
            self.keepers[name].join(10)

    def kill_all(self) -> None:
        for name, proc in self.procs.items():
            self.stopping.add(name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def compose_settings(tmp_path: Path) -> Iterator[tuple[Settings, Compose]]:
    settings = isolated_settings(tmp_path)
    compose = Compose(settings, tmp_path / "compose.log")
    try:
        yield settings, compose
    finally:
        compose.kill_all()


async def _until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(check):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.3)


async def test_compose_runs_the_station_restarts_it_on_a_reset_and_stops_services_before_the_broker(
        compose_settings: tuple[Settings, Compose]) -> None:
    settings, compose = compose_settings
    csms = CentralSystem()
    await csms.start()
    settings = settings.model_copy(update={"csms_url": csms.url})
    compose.settings = settings
    try:
        setup = compose.run_once("broker-setup")
        assert setup.returncode == 0, setup.stderr
        if os.geteuid() == 0:
            # the container runs the broker as the image's user (compose `user:`); a broker started as root
            # would switch to the `mosquitto` user and could not read the owner-only accounts: stay root here
            conf = settings.data_dir / "mosquitto" / "mosquitto.conf"
            conf.write_text(conf.read_text() + "user root\n")
        compose.up("mosquitto")
        await _until(lambda: compose.healthy("mosquitto"), "the broker's healthcheck")
        containers = ("supervisor", *SERVICES)  # sim: the bench profile, for the simulated hardware
        for name in containers:
            compose.up(name)
        async with Observer(settings) as observer:
            pids = await observer.wait_online(containers, timeout=60)
            for name in containers:
                assert await asyncio.to_thread(compose.healthy, name), f"{name}'s healthcheck"
            await csms.wait("BootNotification")
            boots = len(csms.calls("BootNotification"))

            assert (await csms.call(call.Reset(type="Soft"))).status == "Accepted"
            await observer.wait_online(tuple(SERVICES), timeout=60, not_pids={n: pids[n] for n in SERVICES})
            await csms.wait("BootNotification", boots + 1, timeout=30)  # a new boot of the station

            for name in reversed(containers):  # compose stops the dependants first, the broker last
                await asyncio.to_thread(compose.stop, name)
            await observer.wait(lambda: all((h := observer.health(n)) is not None and h.state is HealthState.STOPPED
                                            for n in containers), 10, "every service's last health")
        await asyncio.to_thread(compose.stop, "mosquitto")
    finally:
        await csms.stop()


async def test_systemd_execstart_notifies_ready_pings_and_stops_in_order(tmp_path: Path) -> None:
    unit = dict(line.split("=", 1) for line in (ROOT / "deploy" / "systemd" / "chargebus.service").read_text()
                .splitlines() if "=" in line and not line.startswith("#"))
    settings = isolated_settings(tmp_path)
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(0.5)
    command = unit["ExecStart"].split()
    assert command[0].endswith("/.venv/bin/chargebus") and command[1:] == ["run"]
    env = {**env_for(settings), "NOTIFY_SOCKET": str(notify_path),
           "WATCHDOG_USEC": str(int(unit["WatchdogSec"]) * 1_000_000 // 30)}  # a ping every 0.5 s here
    proc = subprocess.Popen([sys.executable, "-m", "services.cli.main", *command[1:]], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    messages: list[str] = []
    try:
        async with Observer(settings) as observer:
            await observer.wait_online(timeout=60)

            def heard(word: str) -> bool:
                with contextlib.suppress(TimeoutError):
                    messages.append(listener.recv(4096).decode())
                return any(word in m for m in messages)

            await _until(lambda: heard("READY=1"), "READY=1")
            count = sum("WATCHDOG=1" in m for m in messages)
            await _until(lambda: heard("WATCHDOG=1") and sum("WATCHDOG=1" in m for m in messages) > count + 1,
                         "watchdog pings")
            assert unit["KillMode"] == "mixed"  # SIGTERM to the main process only
            proc.send_signal(signal.SIGTERM)
            def running() -> list[str]:
                return [n for n in SERVICES if (h := observer.health(n)) is None or h.state is not HealthState.STOPPED]

            with contextlib.suppress(TimeoutError):
                await observer.wait(lambda: not running(), 20, "every service's last health before the broker")
            assert not running(), f"no stopped health from {running()} within 20 s of SIGTERM"
        assert await asyncio.to_thread(proc.wait, 20) == 0
        await _until(lambda: heard("STOPPING=1"), "STOPPING=1", 5)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        listener.close()

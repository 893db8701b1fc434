"""`chargebus run` as a user runs it: every service online, restarts, Reset's restart command, stop, power cut."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode, ocpp_gateway
from services.common.contract.common import Health, HealthState
from services.common.contract.ocpp_gateway import ChangeConfigurationRequest
from services.common.contract.supervisor import PROCESSES, RESTART, ProcessState, ProcessTable, RestartRequest
from services.common.settings import Settings
from services.supervisor.children import NICENESS, Child
from services.supervisor.launcher_client import LauncherClient
from tests.conftest import env_for, isolated_settings
from tests.system.stack import ALL, Observer, Stack, kill9


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def station(tmp_path: Path) -> Iterator[tuple[Stack, Settings]]:
    settings = isolated_settings(tmp_path)
    stack = Stack(env_for(settings), tmp_path / "run.log")
    stack.start()
    yield stack, settings
    stack.stop()


def _broker_pid(observer: Observer) -> int:
    table = observer.get(PROCESSES.path)
    assert isinstance(table, ProcessTable)
    pid = next(p.pid for p in table.processes if p.name == "mosquitto")
    assert pid is not None
    return pid


async def test_every_service_online_then_killed_child_restarts_and_sigterm_stops_all(
        station: tuple[Stack, Settings]) -> None:
    stack, settings = station
    async with Observer(settings) as observer:
        pids = await observer.wait_online(ALL, timeout=30)
        assert pids["supervisor"] == stack.pgid
        assert all(alive(pid) and os.getpgid(pid) == stack.pgid for pid in pids.values())
        # the gateway and power never wait for the CPU of the others
        base = os.getpriority(os.PRIO_PROCESS, stack.pgid)
        assert {name: os.getpriority(os.PRIO_PROCESS, pid) - base for name, pid in pids.items()} == {
            name: NICENESS.get(name, 0) for name in pids}
        assert NICENESS.get("ocpp_gateway", 0) == NICENESS.get("power", 0) == 0

        kill9(pids["power"])
        after = await observer.wait_online(("power",), timeout=10, not_pids={"power": pids["power"]})
        assert after["power"] != pids["power"] and alive(after["power"])
        assert observer.online(ALL)["metering"] == pids["metering"]  # the others were not touched

        client = Bus(settings, "cli", client_id="test-restart", persistent=False, health=False)
        await client.start(5)
        try:
            reply = await client.request(RESTART, RestartRequest(service="metering", reason="test"))
            assert reply.restarting == ["metering"]
            await observer.wait_online(("metering",), timeout=10, not_pids={"metering": pids["metering"]})
        finally:
            await client.stop()
        broker = _broker_pid(observer)
        every = [*observer.online(ALL).values(), broker]

    started = time.monotonic()
    stack.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    assert stack.proc.wait(10) == 0  # type: ignore[union-attr]
    stopped_in = time.monotonic() - started
    assert not [pid for pid in every if alive(pid)], stack.tail()
    assert stopped_in < 10  # generous: the goal (5 s) is measured by the benchmark
    log = stack.tail(400)
    assert "power          | " in log and "station stopped" in log


async def test_restart_all_keeps_the_broker_and_a_killed_supervisor_takes_its_children_along(
        station: tuple[Stack, Settings]) -> None:
    stack, settings = station
    services = tuple(n for n in ALL if n != "supervisor")
    async with Observer(settings) as observer:
        before = await observer.wait_online(ALL, timeout=30)
        broker = _broker_pid(observer)
        client = Bus(settings, "cli", client_id="test-restart-all", persistent=False, health=False)
        await client.start(5)
        try:
            with pytest.raises(BusError) as unknown:
                await client.request(RESTART, RestartRequest(service="nope"))
            assert unknown.value.code == ErrorCode.NOT_FOUND
            reply = await client.request(RESTART, RestartRequest(reason="test all"))
            assert sorted(reply.restarting) == sorted(services)
            after = await observer.wait_online(services, timeout=20, not_pids={n: before[n] for n in services})
        finally:
            await client.stop()
        assert _broker_pid(observer) == broker and alive(broker)
        assert observer.online(("supervisor",))["supervisor"] == before["supervisor"]
        table = await observer.wait(
            lambda: (t := observer.get(PROCESSES.path)) and all(p.restarts >= 1 for p in t.processes
                                                                 if p.name != "mosquitto") and t,
            10, "restarts counted in the process table")
        assert {p.name: p.pid for p in table.processes if p.name != "mosquitto"} == after

    # kill -9 of the supervisor alone: PR_SET_PDEATHSIG takes the broker and every service with it
    every = [*after.values(), broker]
    kill9(stack.pgid)
    assert stack.proc is not None
    stack.proc.wait(10)
    deadline = time.monotonic() + 10
    while [pid for pid in every if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in every if alive(pid)], stack.tail()


async def test_power_cut_leaves_nothing_and_the_station_comes_back_on_the_same_data(
        station: tuple[Stack, Settings], tmp_path: Path) -> None:
    stack, settings = station
    async with Observer(settings) as observer:
        before = await observer.wait_online(ALL, timeout=30)
        every = [*before.values(), _broker_pid(observer)]
        kept = await observer.wait(lambda: observer.get("chargebus/config/GetConfigurationMaxKeys"), 10,
                                   "configuration keys published")
        assert kept.value == "6"
    stack.power_cut()
    deadline = time.monotonic() + 5
    while [pid for pid in every if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in every if alive(pid)]
    # the worst case for the broker: its file is gone. SQLite holds the station's data; every owner
    # publishes its retained states again when it connects
    for file in (settings.data_dir / "mosquitto").glob("mosquitto.db*"):
        file.unlink()

    again = Stack(env_for(settings), tmp_path / "run2.log")
    again.start()
    try:
        async with Observer(settings) as observer:
            pids = await observer.wait_online(ALL, timeout=30, not_pids=before)
            assert set(pids) == set(ALL)
            for topic in ("chargebus/config/GetConfigurationMaxKeys", "chargebus/auth/state/local_list",
                          "chargebus/ocpp_gateway/state/transaction/1", "chargebus/power/state/connector/1",
                          "chargebus/supervisor/state/processes"):
                await observer.wait(lambda t=topic: observer.get(t), 10, f"{topic} published again")
    finally:
        again.stop()


async def test_last_will_turns_health_offline_after_kill_9(settings: Settings, broker: object) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "services.smart_charging"], env=env_for(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with Observer(settings) as observer:
            pids = await observer.wait_online(("smart_charging",), timeout=20)
            assert pids["smart_charging"] == proc.pid
            proc.kill()
            proc.wait(5)
            health = await observer.wait(
                lambda: (h := observer.health("smart_charging")) is not None and h.state == "offline" and h,
                timeout=30, what="health offline through the Last Will")
            assert health.pid == proc.pid
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_a_child_that_ignores_sigterm_is_still_restarted_on_command(tmp_path: Path) -> None:
    ready = tmp_path / "ignoring"
    stubborn = ("import pathlib, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)")
    launcher = LauncherClient(lambda _line: None)
    child = Child(f"stubborn{os.getpid()}", {"argv": [sys.executable, "-c", stubborn]}, tmp_path, 12,
                  lambda: None, launcher)
    child.start()
    try:
        for _ in range(200):
            if child.pid is not None and child.state is ProcessState.RUNNING:
                break
            await asyncio.sleep(0.05)
        first = child.pid
        assert first is not None
        for _ in range(200):  # it says so once it ignores SIGTERM: sent before, the signal would just kill it
            if ready.exists():
                break
            await asyncio.sleep(0.05)
        assert ready.exists()
        child.restart()
        for _ in range(400):
            if child.pid not in (None, first):
                break
            await asyncio.sleep(0.05)
        assert child.pid not in (None, first) and not alive(first)
        assert child.restarts == 1
    finally:
        await child.stop(0.5)
        await launcher.stop(1.0)
    assert child.pid is None and child.state is ProcessState.STOPPED


async def test_a_second_station_on_the_same_data_or_port_refuses_to_start_and_the_first_goes_on(
        station: tuple[Stack, Settings], tmp_path: Path) -> None:
    _stack, settings = station
    async with Observer(settings) as observer:
        before = await observer.wait_online(ALL, timeout=30)
        since = len(observer.history)
        same_data = env_for(settings)
        same_port = {**same_data, "CHARGEBUS_DATA_DIR": str(tmp_path / "other")}
        for env, says in ((same_data, f"another `chargebus run` uses {settings.data_dir}"),
                          (same_port, f"port {settings.mqtt_port} is already in use")):
            second = subprocess.run([sys.executable, "-m", "services.cli.main", "run"], env=env,
                                    capture_output=True, text=True, timeout=30)
            assert second.returncode != 0 and says in second.stderr, second.stderr
            assert "Traceback" not in second.stderr, second.stderr
        # a second station that had started services would have taken over their sessions: their health
        # (offline, or another pid) reached the broker before the key the request below makes the gateway
        # publish, so the observer has it first
        client = Bus(settings, "cli", client_id="test-after-second", persistent=False, health=False)
        await client.start(5)
        try:
            await client.request(ocpp_gateway.CHANGE_CONFIGURATION,
                                 ChangeConfigurationRequest(key="ConnectionTimeOut", value="61"))
        finally:
            await client.stop()
        await observer.wait(lambda: any(topic == "chargebus/config/ConnectionTimeOut" and p is not None
                                        and p.value == "61" for _t, topic, p in observer.history[since:]),
                            10, "the key set after the second station")
        healths = [(topic, p) for _t, topic, p in observer.history[since:] if topic.endswith("/health")]
        assert all(isinstance(p, Health) and p.state is HealthState.ONLINE and p.pid == before[topic.split("/")[1]]
                   for topic, p in healths), healths
        assert observer.online(ALL) == before

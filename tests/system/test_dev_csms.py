"""The bench's first session: `make run` with no CSMS configured charges against the development CSMS.

The station is started the way `make run` starts it (`chargebus run`, the simulator on, no CSMS URL: the
built-in default), and driven the way the README tells a new user: `chargebus sim plug 1`, then
`chargebus sim swipe 04A2B3C4`. The dev CSMS's lines in the station's console are what the user reads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.contract.common import ConfigValue
from services.common.contract.ocpp_gateway import ConnectorReport
from services.common.contract.supervisor import ProcessTable
from services.common.settings import Settings
from tests import zygote
from tests.broker import free_port
from tests.conftest import env_for, isolated_settings
from tests.system.stack import ALL, Observer, Stack
from tests.system.station import running_station

CARD = "04A2B3C4"


class Bench:
    def __init__(self, stack: Stack, env: dict[str, str], observer: Observer) -> None:
        self.stack, self.env, self.observer = stack, env, observer

    def chargebus(self, *args: str) -> str:
        """A `chargebus` command as the user types it in another terminal."""
        done = zygote.chargebus(self.env, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def console(self) -> str:
        return self.stack.log.read_text(errors="replace")

    async def shows(self, text: str, timeout: float = 30.0) -> None:
        await self.observer.wait(lambda: text in self.console(), timeout, f"{text!r} on the console")

    async def connector(self, status: str, timeout: float = 30.0) -> None:
        def reached() -> bool:
            state = self.observer.get("chargebus/ocpp_gateway/state/connector/1")
            return isinstance(state, ConnectorReport) and state.status == status
        await self.observer.wait(reached, timeout, f"connector 1 {status}")


def bench_env(settings: Settings, dev_csms_port: int) -> dict[str, str]:
    """`make run`'s environment: the simulator on, no CSMS URL; only the ports are the test's own."""
    env = env_for(settings)
    del env["CHARGEBUS_CSMS_URL"]
    env["CHARGEBUS_DEV_CSMS_PORT"] = str(dev_csms_port)
    return env


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    settings = isolated_settings(tmp_path)
    env = bench_env(settings, free_port())
    stack = Stack(env, tmp_path / "run.log")
    stack.start()
    try:
        await _broker_listening(settings, stack)
        async with Observer(settings) as observer:
            await observer.wait_online(ALL, timeout=30)
            yield Bench(stack, env, observer)
    finally:
        stack.stop()


async def test_first_session_of_the_readme_charges_with_no_csms_configured(bench: Bench) -> None:
    bench.chargebus("sim", "plug", "1")
    await bench.connector("Preparing")
    bench.chargebus("sim", "swipe", CARD)
    await bench.connector("Charging")
    for line in ("station->csms BootNotification.req", "csms->station BootNotification.conf",
                 "station->csms Authorize.req", "csms->station Authorize.conf {\"idTagInfo\": {\"status\": "
                 "\"Accepted\"}}", "station->csms StartTransaction.req"):
        await bench.shows(line)
    # every few seconds on the bench: two of them within the wait (the station's default is one a minute)
    await bench.observer.wait(lambda: bench.console().count("station->csms MeterValues.req") >= 2, 30,
                              "two MeterValues")
    bench.chargebus("sim", "swipe", CARD)
    await bench.shows("station->csms StopTransaction.req")
    await bench.connector("Finishing")


async def test_meter_values_come_every_few_seconds_on_the_bench(bench: Bench) -> None:
    await bench.shows("csms->station ChangeConfiguration.req {\"key\": \"MeterValueSampleInterval\"")
    await bench.shows("station->csms ChangeConfiguration.conf {\"status\": \"Accepted\"}")
    key = await bench.observer.wait(lambda: _value(bench.observer.get("chargebus/config/MeterValueSampleInterval")),
                                    10, "the key changed on the bus")
    assert key == "5"


def _value(key: object) -> str | None:
    return key.value if isinstance(key, ConfigValue) and key.value != "60" else None


async def test_a_command_sent_through_the_dev_csms_starts_a_charge(bench: Bench) -> None:
    bench.chargebus("sim", "plug", "1")
    await bench.connector("Preparing")
    answer = bench.chargebus("csms", "send", "RemoteStartTransaction", json.dumps({"idTag": CARD, "connectorId": 1}))
    assert answer.split(maxsplit=1)[1].strip() == 'RemoteStartTransaction: {"status": "Accepted"}'
    await bench.connector("Charging")
    await bench.shows("station->csms StartTransaction.req")


async def test_it_is_a_process_of_the_bench_station(bench: Bench) -> None:
    table = await bench.observer.wait(lambda: _processes(bench.observer), 10, "the process table")
    assert table.get("csms") == "running"


async def test_a_csms_url_of_ones_own_leaves_it_off(tmp_path: Path) -> None:
    async with running_station(tmp_path) as station:  # the tests' own Central System, by CHARGEBUS_CSMS_URL
        await station.accepted()
        table = await station.observer.wait(lambda: _processes(station.observer), 10, "the process table")
        assert "csms" not in table and "station->csms" not in station.stack.tail(10_000)


async def _broker_listening(settings: Settings, stack: Stack, timeout: float = 60.0) -> None:
    """The station's broker accepts connections (the supervisor imports every service first: slow on a busy
    machine), so that the observer's own connect deadline is not spent waiting for it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection(settings.mqtt_host, settings.mqtt_port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no broker within {timeout} s:\n{stack.tail(20)}") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return


def _processes(observer: Observer) -> dict[str, str]:
    """name -> state, once every service of the station is in the table."""
    table = observer.get("chargebus/supervisor/state/processes")
    if not isinstance(table, ProcessTable):
        return {}
    states = {p.name: p.state.value for p in table.processes}
    return states if all(states.get(name) == "running" for name in ALL if name != "supervisor") else {}

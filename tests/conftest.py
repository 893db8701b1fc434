"""Fixtures shared by every test: a real broker, isolated settings (ports, CAN channel, data dir)."""

from __future__ import annotations

import os
import random
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr

from services.common.settings import Settings
from tests.broker import Broker, free_port

# Tests assert behaviour, not speed: hypothesis's per-example deadline failed a property on a loaded machine
hypothesis_settings.register_profile("chargebus", deadline=None)
hypothesis_settings.load_profile("chargebus")

# The files whose tests run longest (a firmware install, kill -9 and last-will waits, compose, a 10,000-message
# replay, the status back-off): started first, so that the parallel workers end together instead of one finishing
# them alone.
LONGEST_FIRST = ("test_firmware.py", "test_supervisor.py", "test_deploy.py", "test_outbox_replay.py", "test_status.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def order(item: pytest.Item) -> tuple[int, int]:
        name = item.path.name
        if name in LONGEST_FIRST:
            return 0, LONGEST_FIRST.index(name)
        tier = {"system": 1, "service": 2, "gateway": 2}.get(item.path.relative_to(Path(__file__).parent).parts[0], 3)
        return tier, 0

    items.sort(key=order)  # stable: within a tier, the order pytest collected


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


def _can_channel() -> tuple[str, int]:
    # interface-local IPv6 multicast: never leaves this host; a group and a port of its own per test
    suffix = random.randrange(1, 0xFFFF)
    return f"ff11:7079:7468:6f6e:6465:6d6f:{os.getpid() & 0xFFFF:x}:{suffix:x}", free_port()


TEST_API_TOKEN = "test-api-token-0123456789"


def _reachable_by_the_station(tmp_path: Path) -> None:
    """`chargebus run` as root starts each service as its own user: it must reach its data directory, which
    pytest makes under a folder of root's alone. Traverse only, up to the temporary folder, nothing listed."""
    base = Path(tempfile.gettempdir()).resolve()
    folder = tmp_path.resolve()
    if base not in folder.parents:
        return
    while folder != base:
        if folder.is_dir():  # a test may name a data dir's folder before it exists
            folder.chmod(folder.stat().st_mode | stat.S_IXOTH)
        folder = folder.parent


def isolated_settings(tmp_path: Path, mqtt_url: str | None = None) -> Settings:
    """Settings no other test shares: broker port, data dir, CAN channel and port, API port, CSMS URL."""
    _reachable_by_the_station(tmp_path)
    channel, port = _can_channel()
    return Settings(
        mqtt_url=mqtt_url or f"mqtt://127.0.0.1:{free_port()}",
        data_dir=tmp_path / "data",
        can_channel=channel,
        can_port=port,
        api_host="127.0.0.1",
        api_port=free_port(),
        api_token=SecretStr(TEST_API_TOKEN),
        csms_url=f"ws://127.0.0.1:{free_port()}/ocpp",
        with_sim=True,
    )


@pytest.fixture
def settings(tmp_path: Path, broker: Broker) -> Settings:
    return isolated_settings(tmp_path, broker.url)


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process use `settings`."""
    return env_for(settings)


def env_for(settings: Settings) -> dict[str, str]:
    out = dict(os.environ)
    out.update(
        CHARGEBUS_MQTT_URL=settings.mqtt_url,
        CHARGEBUS_DATA_DIR=str(settings.data_dir),
        CHARGEBUS_CAN_CHANNEL=settings.can_channel,
        CHARGEBUS_CAN_PORT=str(settings.can_port),
        CHARGEBUS_API_HOST=settings.api_host,
        CHARGEBUS_API_PORT=str(settings.api_port),
        CHARGEBUS_CSMS_URL=settings.csms_url,
        CHARGEBUS_CONFIG_FILE=str(Path(__file__).parent / "empty.toml"),
        CHARGEBUS_WITH_SIM="true",
    )
    if settings.api_token is not None:
        out["CHARGEBUS_API_TOKEN"] = settings.api_token.get_secret_value()
    return out

"""The runtime on the whole station: crash loops are seen, a blocked event loop is restarted, a database or
broker file that cannot be read is kept and named, and the connectors tell the truth meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.contract.supervisor import ProcessTable
from services.common.settings import Settings
from tests.conftest import env_for, isolated_settings
from tests.system.stack import ALL, Observer, Stack, kill9

GARBAGE = b"this is no SQLite file: a technician's disk tool left it like this\n" * 200


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[tuple[Stack, Settings, Observer]]:
    """The station with a short watchdog and quick retries of a failed service, so the tests see them."""
    settings = isolated_settings(tmp_path)
    env = {**env_for(settings), "CHARGEBUS_WATCHDOG_S": "3", "CHARGEBUS_FAILED_RETRY_S": "2"}
    stack = Stack(env, tmp_path / "run.log")
    stack.start()
    try:
        async with Observer(settings) as observer:
            await observer.wait_online(ALL, timeout=30)
            yield stack, settings, observer
    finally:
        stack.stop()


def _process(observer: Observer, name: str) -> object:
    table = observer.get("chargebus/supervisor/state/processes")
    assert isinstance(table, ProcessTable)
    return next(p for p in table.processes if p.name == name)


async def test_a_corrupt_database_is_a_crash_loop_seen_kept_and_recovered_from(
        quick: tuple[Stack, Settings, Observer]) -> None:
    stack, settings, observer = quick
    db = settings.db_path("metering")
    pid = observer.online(("metering",))["metering"]
    for sidecar in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        sidecar.unlink(missing_ok=True)
    db.write_bytes(GARBAGE)
    kill9(pid)
    failed = await observer.wait(lambda: (p := _process(observer, "metering")).state == "failed" and p, 40,
                                 "metering failed")
    assert any(f"cannot use {db}: file is not a database" in line for line in failed.last_error), failed.last_error
    # the connector tells the CSMS and the bus: nothing can be billed now
    connector = await observer.wait(
        lambda: (c := observer.get("chargebus/ocpp_gateway/state/connector/1")) and c.status == "Unavailable" and c,
        20, "connector Unavailable while metering is down")
    assert connector.detail == "metering_down"
    assert observer.get("chargebus/power/state/connector/1").blocked_by == "metering"
    assert db.read_bytes() == GARBAGE  # never deleted, never overwritten
    # the technician moves it aside: the service comes back by itself, and so does the connector
    db.rename(db.with_name("metering.sqlite.broken"))
    await observer.wait(lambda: _process(observer, "metering").state == "running"
                        and observer.online(("metering",)), 20, "metering back")
    await observer.wait(lambda: observer.get("chargebus/ocpp_gateway/state/connector/1").status == "Available", 20,
                        "connector Available again")
    log = stack.log.read_text()
    assert "chargebus-metering: cannot use" in log and "Traceback" not in log.split("cannot use")[0][-2000:]


async def test_a_blocked_event_loop_is_restarted_by_the_watchdog(quick: tuple[Stack, Settings, Observer]) -> None:
    stack, settings, observer = quick
    before = observer.online(("auth",))["auth"]
    folder = settings.data_dir / "failpoints"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "auth.block_loop").write_text("block_loop")
    # paho's own thread keeps answering the broker: health alone would say `online` for ever
    await asyncio.sleep(2.0)
    health = observer.health("auth")
    assert health is not None and health.state == "online" and health.pid == before
    after = await observer.wait_online(("auth",), timeout=20, not_pids={"auth": before})
    assert after["auth"] != before
    assert f"child=auth pid={before} event loop silent" in stack.log.read_text()


async def test_an_unreadable_broker_file_is_moved_aside_and_the_station_starts(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    folder = settings.data_dir / "mosquitto"
    folder.mkdir(parents=True)
    (folder / "mosquitto.db").write_bytes(GARBAGE)
    stack = Stack(env_for(settings), tmp_path / "run.log")
    stack.start()
    try:
        async with Observer(settings) as observer:
            await observer.wait_online(ALL, timeout=40)
        kept = list(folder.glob("mosquitto.db.unreadable-*"))
        assert len(kept) == 1 and kept[0].read_bytes() == GARBAGE
        assert "moved aside" in stack.log.read_text()
    finally:
        stack.stop()

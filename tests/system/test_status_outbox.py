"""Conformance item 17: `chargebus status` shows the outbox as it is (it showed 0 while rows waited offline and
3 after they were sent), and a clean stop of the station logs no error."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

from services.common.contract.ocpp_gateway import CONNECTION, ConnectionState
from tests import zygote
from tests.conftest import env_for, isolated_settings
from tests.system.stack import ALL, Observer, Stack
from tests.system.station import Station, charging


def _queued(station: Station) -> int:
    """The rows the gateway's outbox holds, read from its SQLite file."""
    with sqlite3.connect(f"file:{station.settings.db_path('ocpp_gateway')}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


def _published(station: Station) -> Any:
    state = station.observer.get(CONNECTION.path)
    return state if isinstance(state, ConnectionState) else None


def _status(station: Station) -> str:
    done = zygote.chargebus(env_for(station.settings), "status")
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_status_shows_the_outbox_waiting_offline_and_empty_once_sent(station: Station) -> None:
    await station.configure(MeterValueSampleInterval="1")
    await charging(station)
    await station.csms.wait("MeterValues", 1)
    await station.csms.stop()  # gone: no connection is even opened while the rows wait
    await station.observer.wait(lambda: (c := _published(station)) is not None and not c.connected,
                                what="the gateway sees the link down")
    await station.observer.wait(lambda: _queued(station) >= 3, what="meter values queued offline")
    await station.swipe("TAG1")  # stopped offline: the StopTransaction waits behind the meter values
    await station.observer.wait(
        lambda: [p for _t, topic, p in station.observer.history if topic.endswith("/event/transaction_stopped")],
        what="the stop decided offline")
    waiting = _queued(station)
    assert waiting >= 4
    await station.observer.wait(lambda: (c := _published(station)) is not None and c.outbox_pending == waiting,
                                what=f"outbox_pending={waiting} on the bus")
    assert f"outbox_pending={waiting}" in _status(station)

    await station.csms.start()
    await station.csms.wait("StopTransaction", timeout=40)
    await station.observer.wait(lambda: _queued(station) == 0, what="the outbox emptied")
    await station.observer.wait(lambda: (c := _published(station)) is not None and c.outbox_pending == 0,
                                what="outbox_pending=0 on the bus")
    assert "outbox_pending=0" in _status(station)


async def test_a_stop_of_the_whole_process_group_is_clean(tmp_path: Path) -> None:
    """SIGTERM to every process of the station at once (systemd's default KillMode=control-group, `kill --
    -PGID`): each service finishes its orderly stop and nothing is logged as an error."""
    settings = isolated_settings(tmp_path)
    stack = Stack(env_for(settings), tmp_path / "run.log")
    stack.start()
    try:
        async with Observer(settings) as observer:
            await observer.wait_online(ALL, timeout=30)
        os.killpg(stack.pgid, signal.SIGTERM)
        assert stack.proc is not None and stack.proc.wait(30) == 0
    finally:
        stack.stop()
    log = stack.log.read_text(errors="replace")
    assert "station stopped" in log
    assert [line for line in log.splitlines() if " ERROR " in line] == []
    services = {name for name in ALL if name != "supervisor"}
    assert {name for name in services if f"stopped service={name}" in log} == services

"""One user per bus account: `chargebus run` as root (the systemd unit, CI) starts each service as its own uid,
so a compromised service (the LAN-facing api first) reads its own bus password and no other."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ocpp.v16 import call

from services.common.bus_accounts import ACCOUNTS, account_uid, password_path, station_gid
from services.common.contract.supervisor import PROCESSES, ProcessTable
from services.common.settings import SERVICES, Settings
from services.supervisor.broker_conf import broker_dir
from services.supervisor.separation import unreachable
from tests.conftest import isolated_settings
from tests.system.stack import ALL
from tests.system.station import Station, running_station

# what a compromised api would do: try to read each file, say what the kernel answered
PROBE = """
import json, os, sys
seen = {}
for path in sys.argv[1:]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read()
        seen[path] = "read"
    except PermissionError:
        seen[path] = "PermissionError"
print(json.dumps(seen))
"""


def _ids(pid: int) -> dict[str, list[int]]:
    """Uid (real, effective, saved, fs), Gid likewise and the supplementary Groups of a process."""
    found: dict[str, list[int]] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            found[key] = [int(v) for v in value.split()]
    return found


def _as_user(uid: int, gid: int, paths: list[Path]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, paths)], user=uid, group=gid, extra_groups=[],
                          capture_output=True, text=True, timeout=30, check=True)
    seen: dict[str, str] = json.loads(done.stdout)
    return seen


@pytest.fixture(autouse=True)
def _separable(tmp_path: Path) -> None:
    """The station separates only where its group can reach the interpreter and the code (it says so in one
    warning line otherwise: `separation.decide`); a checkout or Python under a closed home (pyenv under /root)
    cannot be separated, and these tests say which folder closed it instead of failing on every uid."""
    blocked = unreachable(isolated_settings(tmp_path))
    if blocked is not None:
        pytest.skip(f"{blocked} is closed to the station's group: this machine cannot run services as their users "
                    "(`make` builds the venv from Debian's /usr/bin/python3; keep the checkout outside /root)")


async def test_each_service_runs_as_its_own_user_in_the_station_group(tmp_path: Path) -> None:
    assert os.geteuid() == 0, "the station separates its services only when started as root (as in CI)"
    async with running_station(tmp_path) as station:
        settings = station.settings
        table = await station.observer.wait(
            lambda: isinstance(t := station.observer.get(PROCESSES.path), ProcessTable)
            and all(p.pid for p in t.processes if p.name in ALL) and t, 20, "the process table with every pid")
        pids = {p.name: p.pid for p in table.processes if p.pid is not None}
        uids = {}
        for name in SERVICES:
            ids = _ids(pids[name])
            uid = account_uid(settings, name)
            assert ids["Uid"] == [uid] * 4, (name, ids)
            assert ids["Gid"] == [station_gid(settings)] * 4 and ids["Groups"] == [], (name, ids)
            uids[name] = uid
        assert len(set(uids.values())) == len(SERVICES) and 0 not in uids.values()
        assert _ids(pids["mosquitto"])["Uid"][1] == 0  # the broker reads the hashed passwords, root's, at start


async def test_the_api_user_reads_its_own_bus_password_and_no_other(tmp_path: Path) -> None:
    async with running_station(tmp_path) as station:
        settings = station.settings
        # the user and group the running api process has: what its code can do, a compromised one too
        ids = _ids(station.pid("api"))
        api = (ids["Uid"][1], ids["Gid"][1])
        others = [password_path(settings, a) for a in ACCOUNTS if a != "api"]
        broker = [broker_dir(settings) / "passwd", broker_dir(settings) / "mosquitto.conf"]
        seen = _as_user(*api, [*others, *broker])
        assert seen == {str(path): "PermissionError" for path in [*others, *broker]}
        assert _as_user(*api, [password_path(settings, "api")]) == {str(password_path(settings, "api")): "read"}
        # nor can it list the folder to learn what else there is
        folder = password_path(settings, "api").parent
        assert _as_user(*api, [folder]) == {str(folder): "PermissionError"}


def _as_one_user_left_it(data: Path) -> None:
    """What a station that ran as one user (root) leaves: every file root's, the folders its own."""
    for top, dirs, files in os.walk(data):
        for name in (*dirs, *files):
            os.chown(Path(top) / name, 0, 0, follow_symlinks=False)
    os.chown(data, 0, 0)
    data.chmod(0o755)
    (data / "logs").chmod(0o755)
    (data / "bus-accounts").chmod(0o700)
    for path in (data / "bus-accounts").iterdir():
        path.chmod(0o600)


async def _local_list_version(station: Station) -> int:
    result = await station.csms.call(call.GetLocalListVersion())
    version: int = result.list_version
    return version


async def test_a_station_that_ran_as_one_user_starts_separated_and_keeps_its_data(tmp_path: Path) -> None:
    async with running_station(tmp_path) as station:
        settings: Settings = station.settings
        await station.accepted()
        await station.configure(ConnectionTimeOut="45")
        update = await station.csms.call(call.SendLocalList(
            list_version=7, update_type="Full", local_authorization_list=[
                {"idTag": "LOCAL1", "idTagInfo": {"status": "Accepted"}}]))
        assert update.status == "Accepted"
        await asyncio.to_thread(station.stack.stop)
        _as_one_user_left_it(settings.data_dir)
        stopped = datetime.now(UTC)
        await station.restart_stack()
        await station.linked_since(stopped, timeout=30)
        pids = await station.observer.wait_online(ALL, timeout=30)
        assert await _local_list_version(station) == 7
        result = await station.csms.call(call.GetConfiguration(key=["ConnectionTimeOut"]))
        assert [(k["key"], k["value"]) for k in result.configuration_key] == [("ConnectionTimeOut", "45")]
        for name in SERVICES:
            assert _ids(pids[name])["Uid"][0] == account_uid(settings, name), name
        databases = {path.stem: path.stat().st_uid for path in settings.data_dir.glob("*.sqlite")}
        assert {"ocpp_gateway", "auth"} <= set(databases)
        assert databases == {name: account_uid(settings, name) for name in databases}
        log = "".join(p.read_text(errors="replace") for p in tmp_path.glob("run*.log"))
        assert "Permission denied" not in log and "PermissionError" not in log

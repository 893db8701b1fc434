"""The technician's command line against a running station: restart, logs, config get/set."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ocpp.v16.enums import AuthorizationStatus

from services.cli.ops_cmd import log_files, parse_since
from tests import zygote
from tests.conftest import env_for
from tests.system.station import Station


def cli(station: Station, *args: str) -> subprocess.CompletedProcess[str]:
    return zygote.chargebus(env_for(station.settings), *args)


async def test_restart_one_service_and_its_logs_since_then(station: Station) -> None:
    pid = station.pid("metering")
    before = datetime.now(UTC)
    done = cli(station, "restart", "metering")
    assert done.returncode == 0 and done.stdout.strip() == "restarting: metering", done.stderr
    await station.observer.wait_online(("metering",), not_pids={"metering": pid})
    since = cli(station, "logs", "metering", "--since", before.isoformat())
    assert since.returncode == 0 and "starting service=metering" in since.stdout
    assert since.stdout.count("starting service=metering") == 1  # the first start is before --since
    everything = cli(station, "logs", "metering")
    assert everything.stdout.count("starting service=metering") == 2
    assert cli(station, "restart", "nonsense").returncode == 2


async def test_config_get_and_a_local_change_checked_like_change_configuration(station: Station) -> None:
    got = cli(station, "config", "get", "MeterValueSampleInterval")
    assert got.returncode == 0 and got.stdout.strip() == "MeterValueSampleInterval = 60", got.stdout + got.stderr
    assert cli(station, "config", "set", "MeterValueSampleInterval", "15").stdout.strip() == (
        "MeterValueSampleInterval: accepted")
    await station.observer.wait(lambda: (v := station.observer.get("chargebus/config/MeterValueSampleInterval"))
                                and v.value == "15", what="the new value on the bus")
    refused = cli(station, "config", "set", "MeterValueSampleInterval", "-3")
    assert refused.returncode == 1 and refused.stdout.strip() == "MeterValueSampleInterval: rejected"
    readonly = cli(station, "config", "set", "GetConfigurationMaxKeys", "99")
    assert readonly.returncode == 1 and "rejected" in readonly.stdout
    unknown = cli(station, "config", "set", "NoSuchKey", "1")
    assert unknown.returncode == 1 and "not_supported" in unknown.stdout
    assert "MeterValueSampleInterval = 15" in cli(station, "config", "get").stdout


async def test_status_shows_the_last_card_refused_and_why(station: Station) -> None:
    station.csms.tags["04A2B3C4D5"] = AuthorizationStatus.blocked
    await station.accepted()
    await station.swipe("04A2B3C4D5")
    await station.observer.wait(lambda: station.observer.get("chargebus/auth/state/last_decision") is not None,
                                what="the decision kept on the bus")
    shown = cli(station, "status").stdout
    line = next(line for line in shown.splitlines() if line.startswith("LAST CARD"))
    assert "04**D5 on connector" in line and ": blocked at " in line and "(the CSMS answered blocked)" in line
    assert "04A2B3C4D5" not in shown
    assert "LAST CARD 04A2B3C4D5 " in cli(station, "status", "--id-tags").stdout


def test_since_and_rotated_files_in_order(tmp_path: Path) -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_since("10m", now) == now - timedelta(minutes=10)
    assert parse_since("2026-11-26T11:00:00", now) == datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("power.log", "power.log.1", "power.log.2", "power.stderr.log", "powerx.log"):
        (logs / name).write_text(name)
    assert [p.name for p in log_files(tmp_path, "power")] == ["power.log.2", "power.log.1", "power.log",
                                                               "power.stderr.log"]

"""The data directory made for one user per bus account (as root, at every start): each service gets back
its files, and a link a service planted never makes root hand it anything else."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from services.common.bus_accounts import account_uid, station_gid
from services.common.settings import Settings
from services.supervisor.separation import prepare_data_dir


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_a_one_user_station_is_handed_back_service_by_service(tmp_path: Path) -> None:
    assert os.geteuid() == 0, "as root, like the supervisor that prepares the directory (CI runs as root)"
    settings = _settings(tmp_path)
    data = settings.data_dir
    (data / "logs").mkdir(parents=True)
    (data / "firmware" / "slots" / "v2").mkdir(parents=True)
    files = ["auth.sqlite", "auth.sqlite-wal", "logs/auth.log", "logs/auth.log.1", "power_caps.json",
             "firmware/boot.json", "firmware/slots/v2/marker", "logs/auth.stderr.log", "chargebus.lock"]
    for name in files:
        (data / name).write_text("x")
    prepare_data_dir(settings)
    owners = {name: (data / name).stat().st_uid for name in files}
    auth, power, firmware = (account_uid(settings, n) for n in ("auth", "power", "firmware"))
    assert owners == {"auth.sqlite": auth, "auth.sqlite-wal": auth, "logs/auth.log": auth,
                      "logs/auth.log.1": auth, "power_caps.json": power, "firmware/boot.json": 0,
                      "firmware/slots/v2/marker": firmware, "logs/auth.stderr.log": 0, "chargebus.lock": 0}
    for folder in (data, data / "logs"):
        info = folder.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, station_gid(settings), 0o1770)


def test_a_link_a_service_planted_hands_it_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    data = settings.data_dir
    data.mkdir()
    secret = tmp_path / "root-only"
    secret.write_text("root's")
    secret.chmod(0o600)
    (data / "api.sqlite-shm").symlink_to(secret)  # what a compromised api could leave for the next start
    os.link(secret, data / "api.sqlite-wal")
    (data / "firmware").mkdir()
    (data / "firmware" / "slot").symlink_to(tmp_path)
    prepare_data_dir(settings)
    assert secret.stat().st_uid == 0 and tmp_path.stat().st_uid == 0
    assert (data / "api.sqlite-shm").lstat().st_uid == 0

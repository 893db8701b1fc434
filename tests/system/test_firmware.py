"""Firmware Management against the whole station, a real CSMS and real FTP/HTTP servers: a signed image of
this very project installed into a new slot, the restart into it, rollback, and diagnostics uploads."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ocpp.v16 import call

from services.common.bus import Bus
from services.common.contract.firmware import JobsState
from services.common.contract.supervisor import INSTALL, InstallRequest
from services.firmware import image, keys
from tests import zygote
from tests.conftest import env_for
from tests.file_servers import ftp_server, http_server
from tests.firmware_images import BROKEN_METERING, build_image, forged_header_archive, image_parts, signing_keys
from tests.system.station import Station, charging, running_station

JOBS = "chargebus/firmware/state/jobs"


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every xdist worker of the run: the dependency wheels are downloaded once."""
    return tmp_path_factory.getbasetemp().parent / "firmware-cache"


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    return signing_keys(tmp_path / "keys")


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "ftp"
    with ftp_server(root) as url:
        yield url, root


def statuses(station: Station, kind: str = "FirmwareStatusNotification") -> list[str]:
    return [p["status"] for p in station.csms.calls(kind)]


async def notified(station: Station, status: str, kind: str = "FirmwareStatusNotification",
                   timeout: float = 60.0) -> None:
    await station.csms.wait(kind, where=lambda p: p["status"] == status, timeout=timeout)


async def update(station: Station, location: str, retries: int = 0, interval: int = 1) -> None:
    await station.csms.call(call.UpdateFirmware(location=location, retrieve_date=datetime.now(UTC).isoformat(),
                                                retries=retries, retry_interval=interval))


async def test_an_update_installs_the_new_version_restarts_into_it_and_reports_installed(
        tmp_path: Path, cache: Path, keypair: tuple[Path, Path], ftp: tuple[str, Path]) -> None:
    private, public = keypair
    url, root = ftp
    built = build_image("0.2.0", tmp_path / "build", cache, private)
    shutil.copy(built, root / built.name)
    async with running_station(tmp_path, CHARGEBUS_FIRMWARE_PUBLIC_KEY=str(public),
                               CHARGEBUS_FIRMWARE_TRIAL_S="60") as station:
        await station.csms.wait("BootNotification")
        assert station.csms.calls("BootNotification")[0]["firmware_version"] == "0.1.0"
        await update(station, f"{url}/{built.name}")
        await notified(station, "Installed", timeout=120)
        boots = station.csms.calls("BootNotification")
        assert [b["firmware_version"] for b in boots] == ["0.1.0", "0.2.0"]
        assert statuses(station) == ["Downloading", "Downloaded", "Installing", "Installed"]
        # Installed came after the new version's BootNotification, from the new version
        order = [s.action for s in station.csms.seen if s.action in ("BootNotification",
                                                                     "FirmwareStatusNotification")]
        assert order.index("BootNotification", 1) < len(order) - 1 and order[-1] == "FirmwareStatusNotification"
        status = _cli(station, "status")
        assert "FIRMWARE 0.2.0 from" in status and "last install: 0.2.0 installed" in status, status
        await station.status("Available", count=2)  # the new version serves the connector
        # the update's data stayed: the same boot state says where the station runs from, a power cut keeps it
        boot = json.loads((station.settings.data_dir / "firmware" / "boot.json").read_text())
        assert boot["active"].startswith(str(station.settings.data_dir / "firmware" / "slots" / "0.2.0-"))
        assert boot["previous"] == str(Path(sys.prefix).resolve())


async def test_tc_054_a_triggered_status_says_installing_while_on_trial_and_a_version_that_does_not_come_online_is_rolled_back(  # noqa: E501
        tmp_path: Path, cache: Path, keypair: tuple[Path, Path], ftp: tuple[str, Path]) -> None:
    private, public = keypair
    url, root = ftp
    built = build_image("0.3.0", tmp_path / "build", cache, private, broken=BROKEN_METERING)
    shutil.copy(built, root / built.name)
    async with running_station(tmp_path, CHARGEBUS_FIRMWARE_PUBLIC_KEY=str(public),
                               CHARGEBUS_FIRMWARE_TRIAL_S="10") as station:
        old_firmware = station.pid("firmware")
        await update(station, f"{url}/{built.name}")
        await station.csms.wait("BootNotification", 2, timeout=120)  # 0.3.0 runs, on trial (metering never comes)
        await station.observer.wait_online(("firmware",), timeout=30, not_pids={"firmware": old_firmware})
        result = await station.csms.call(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
        assert result.status == "Accepted"
        triggered = (await station.csms.wait("FirmwareStatusNotification", 4))[3]
        assert triggered["status"] == "Installing"  # not Idle: the new version's outcome is not known yet
        await notified(station, "InstallationFailed", timeout=150)
        versions = [b["firmware_version"] for b in station.csms.calls("BootNotification")]
        assert versions == ["0.1.0", "0.3.0", "0.1.0"], versions  # tried, then back
        assert statuses(station) == ["Downloading", "Downloaded", "Installing", "Installing", "InstallationFailed"]
        status = _cli(station, "status")
        assert "last install: 0.3.0 rolled back: not online within 10 s: metering" in status, status


async def test_a_bad_signature_and_a_corrupt_download_fail_before_anything_stops(
        tmp_path: Path, cache: Path, keypair: tuple[Path, Path], ftp: tuple[str, Path]) -> None:
    private, public = keypair
    other_private, _ = signing_keys(tmp_path / "someone-else")
    url, root = ftp
    parts = image_parts("0.2.1", tmp_path / "build", cache)
    foreign = image.pack(parts, "0.2.1", tmp_path / "foreign", keys.load_private(other_private))
    shutil.copy(foreign, root / "foreign.cbfw")
    built = image.pack(parts, "0.2.1", tmp_path / "ours", keys.load_private(private))
    corrupt = bytearray(built.read_bytes())
    corrupt[len(corrupt) // 3: len(corrupt) // 3 + 64] = b"\0" * 64
    (root / "corrupt.cbfw").write_bytes(bytes(corrupt))
    async with running_station(tmp_path, CHARGEBUS_FIRMWARE_PUBLIC_KEY=str(public)) as station:
        pid = station.pid("ocpp_gateway")
        await update(station, f"{url}/foreign.cbfw")
        await notified(station, "InstallationFailed")
        await update(station, f"{url}/corrupt.cbfw")
        await station.csms.wait("FirmwareStatusNotification", 8)
        assert statuses(station) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"] * 2
        assert station.pid("ocpp_gateway") == pid  # nothing was restarted
        assert len(station.csms.calls("BootNotification")) == 1
        log = (station.settings.data_dir / "logs" / "firmware.log").read_text()
        # neither reached a tar reader: the seal over the whole file failed first
        assert log.count("install_failed (bad_signature: the seal is not signed by the trusted key") == 2
        assert "s3cr3t" not in log  # the FTP password never reaches a log


async def test_an_update_during_a_transaction_waits_for_its_end(
        tmp_path: Path, cache: Path, keypair: tuple[Path, Path], ftp: tuple[str, Path]) -> None:
    _private, public = keypair
    other_private, _ = signing_keys(tmp_path / "someone-else")
    url, root = ftp
    built = build_image("0.2.2", tmp_path / "build", cache, other_private)  # fails at install: the wait is the point
    shutil.copy(built, root / built.name)
    async with running_station(tmp_path, CHARGEBUS_FIRMWARE_PUBLIC_KEY=str(public)) as station:
        start = await charging(station)
        await update(station, f"{url}/{built.name}")
        waiting = await station.observer.wait(
            lambda: (j := station.observer.get(JOBS)) and j.update and j.update.phase == "waiting" and j,
            what="the update waiting for the transaction")
        assert isinstance(waiting, JobsState) and statuses(station) == []
        await station.swipe(start["id_tag"])
        await station.csms.wait("StopTransaction")
        await notified(station, "InstallationFailed")
        stop_at = station.csms.calls("StopTransaction")[0]["timestamp"]
        first = next(s.at for s in station.csms.seen if s.action == "FirmwareStatusNotification")
        stop_seen = next(s.at for s in station.csms.seen if s.action == "StopTransaction")
        assert first > stop_seen, stop_at


async def test_an_unreachable_server_ends_download_failed_after_the_retries(tmp_path: Path) -> None:
    async with running_station(tmp_path) as station:
        await update(station, "ftp://cs:pw@127.0.0.1:9/chargebus-9.9.9.cbfw", retries=2, interval=1)
        await notified(station, "DownloadFailed")
        assert statuses(station) == ["Downloading", "DownloadFailed"]
        jobs = await station.observer.wait(lambda: (j := station.observer.get(JOBS)) and j.update
                                           and j.update.phase == "done" and j, what="the update done")
        assert jobs.update.attempt == 3 and jobs.update.error and "Connection refused" in jobs.update.error
        assert "pw@" not in jobs.update.location  # no password on the bus


async def test_diagnostics_are_collected_within_the_window_and_uploaded(tmp_path: Path,
                                                                        ftp: tuple[str, Path]) -> None:
    url, root = ftp
    (root / "uploads").mkdir()
    async with running_station(tmp_path) as station:
        await station.csms.wait("BootNotification")
        await station.observer.wait_online()
        begin = datetime.now(UTC)  # after every start-up line: those must be left out
        await station.configure(HeartbeatInterval="77")
        end = datetime.now(UTC) + timedelta(seconds=1)
        result = await station.csms.call(call.GetDiagnostics(location=f"{url}/uploads/", start_time=begin.isoformat(),
                                                             stop_time=end.isoformat(), retries=1, retry_interval=1))
        assert result.file_name.startswith("diagnostics-CB0000001-") and result.file_name.endswith(".tar.gz")
        await notified(station, "Uploaded", "DiagnosticsStatusNotification")
        assert statuses(station, "DiagnosticsStatusNotification") == ["Uploading", "Uploaded"]
        with tarfile.open(root / "uploads" / result.file_name) as archive:
            names = archive.getnames()
            config = json.loads(archive.extractfile("config.json").read())  # type: ignore[union-attr]
            logs = {n: archive.extractfile(n).read().decode() for n in names if n.startswith("logs/")}  # type: ignore[union-attr]
            version = archive.extractfile("version.txt").read().decode().strip()  # type: ignore[union-attr]
            health = json.loads(archive.extractfile("health.json").read())  # type: ignore[union-attr]
        assert version == "0.1.0" and "config.json" in names and "health.json" in names
        # the station as the broker kept it when the archive was made: every service's health and its states
        assert {f"chargebus/{name}/health" for name in ("ocpp_gateway", "power", "auth", "metering", "firmware")
                } <= set(health)
        assert health["chargebus/power/state/connector/1"]["connector_id"] == 1
        assert health["chargebus/ocpp_gateway/state/connection"]["registration"] == "Accepted"
        keys = config.get("keys", config)
        assert "HeartbeatInterval" in json.dumps(keys) and "AuthorizationKey" not in json.dumps(keys)
        gateway = next(text for n, text in logs.items() if "ocpp_gateway" in n)
        assert "HeartbeatInterval" in gateway  # the change inside the window
        assert "migrated db" not in gateway  # the start-up, before the window, is left out
        # the same over HTTP (PUT)
        with http_server(tmp_path / "http") as http_url:
            again = await station.csms.call(call.GetDiagnostics(location=f"{http_url}/"))
            await station.csms.wait("DiagnosticsStatusNotification", 4)
            assert statuses(station, "DiagnosticsStatusNotification")[-1] == "Uploaded"
            assert (tmp_path / "http" / again.file_name).stat().st_size > 0


def _cli(station: Station, *args: str) -> str:
    done = zygote.chargebus(env_for(station.settings), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_an_older_image_signed_with_our_key_is_refused_and_the_running_version_stays(
        tmp_path: Path, cache: Path, keypair: tuple[Path, Path], ftp: tuple[str, Path]) -> None:
    private, public = keypair
    url, root = ftp
    built = build_image("0.0.9", tmp_path / "build", cache, private)
    shutil.copy(built, root / built.name)
    async with running_station(tmp_path, CHARGEBUS_FIRMWARE_PUBLIC_KEY=str(public)) as station:
        gateway = station.pid("ocpp_gateway")
        await update(station, f"{url}/{built.name}")
        await notified(station, "InstallationFailed", timeout=120)
        assert statuses(station) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
        assert [b["firmware_version"] for b in station.csms.calls("BootNotification")] == ["0.1.0"]
        assert station.pid("ocpp_gateway") == gateway  # nothing was stopped
        log = (station.settings.data_dir / "logs" / "firmware.log").read_text()
        assert "downgrade: version 0.0.9 is older than the running 0.1.0" in log
        assert not list((station.settings.data_dir / "firmware").glob("slots/0.0.9-*"))


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


async def test_a_forged_image_with_a_300_mb_header_is_refused_before_it_is_read(
        tmp_path: Path, keypair: tuple[Path, Path], ftp: tuple[str, Path]) -> None:
    _private, public = keypair
    url, root = ftp
    forged = forged_header_archive(root / "forged.cbfw", tarfile.GNUTYPE_LONGNAME, 300 * 1024 * 1024)
    assert forged.stat().st_size < 2 * 1024 * 1024
    async with running_station(tmp_path, CHARGEBUS_FIRMWARE_PUBLIC_KEY=str(public)) as station:
        firmware = station.pid("firmware")
        await update(station, f"{url}/forged.cbfw")
        await notified(station, "InstallationFailed")
        assert statuses(station) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
        assert station.pid("firmware") == firmware
        assert peak_rss_mb(firmware) < 200, f"the firmware process grew to {peak_rss_mb(firmware):.0f} MB"
        log = (station.settings.data_dir / "logs" / "firmware.log").read_text()
        assert "bad_signature: not sealed" in log


async def test_an_install_interrupted_again_and_again_ends_installation_failed(
        tmp_path: Path, cache: Path, keypair: tuple[Path, Path], ftp: tuple[str, Path]) -> None:
    private, public = keypair
    url, root = ftp
    built = build_image("0.2.4", tmp_path / "build", cache, private)
    shutil.copy(built, root / built.name)
    async with running_station(tmp_path, CHARGEBUS_FIRMWARE_PUBLIC_KEY=str(public)) as station:
        await update(station, f"{url}/{built.name}")
        killed: dict[str, int] = {}
        for start in (1, 2, 3):  # a process killed each time it verifies (out of memory, a power cut...)
            await station.logged(f"firmware install begins (start {start} of 3)", timeout=60)
            pid = (await station.observer.wait_online(("firmware",), not_pids=killed))["firmware"]
            os.kill(pid, signal.SIGKILL)
            killed = {"firmware": pid}
        await notified(station, "InstallationFailed", timeout=60)
        assert statuses(station) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
        assert [b["firmware_version"] for b in station.csms.calls("BootNotification")] == ["0.1.0"]
        log = (station.settings.data_dir / "logs" / "firmware.log").read_text()
        assert "the install was interrupted 3 times" in log


async def test_install_takes_only_a_slot_the_firmware_service_built_under_the_data_directory(tmp_path: Path) -> None:
    async with running_station(tmp_path) as station:
        await station.csms.wait("BootNotification")
        gateway = station.pid("ocpp_gateway")
        slots = station.settings.data_dir / "firmware" / "slots"
        planted, unmarked, mislabelled = tmp_path / "planted", slots / "9.9.9-1", slots / "9.9.8-1"
        for slot in (planted, unmarked, mislabelled):
            (slot / "bin").mkdir(parents=True)
            (slot / "bin" / "chargebus").write_text(f"#!/bin/sh\ntouch {tmp_path}/planted-ran\n")
            (slot / "bin" / "chargebus").chmod(0o755)
        (mislabelled / "slot.json").write_text(json.dumps({"version": "1.0.0"}))
        # the firmware service's own account: the only declared caller of the command
        bus = Bus(station.settings, "firmware", client_id=f"test-firmware-{os.getpid()}", persistent=False,
                  health=False)
        await bus.start(5)
        try:
            for slot, version in ((planted, "9.9.9"), (unmarked, "9.9.9"), (mislabelled, "9.9.8")):
                reply = await bus.request(INSTALL, InstallRequest(slot=str(slot), version=version), timeout=10)
                assert not reply.switching and reply.reason, slot
        finally:
            await bus.stop()
        state = station.observer.get("chargebus/supervisor/state/slots")
        assert state.trial is None and state.active == str(Path(sys.prefix).resolve())
        assert not (tmp_path / "planted-ran").exists()
        assert station.pid("ocpp_gateway") == gateway and len(station.csms.calls("BootNotification")) == 1


async def test_a_location_with_cr_lf_ends_download_failed_and_upload_failed_with_the_reason(
        tmp_path: Path, ftp: tuple[str, Path]) -> None:
    url, root = ftp
    (root / "precious.cbfw").write_bytes(b"keep me")
    async with running_station(tmp_path) as station:
        await update(station, f"{url}/x.cbfw%0D%0ADELE%20precious.cbfw", retries=2)
        await notified(station, "DownloadFailed")
        assert statuses(station) == ["Downloading", "DownloadFailed"]
        jobs = await station.observer.wait(lambda: (j := station.observer.get(JOBS)) and j.update
                                           and j.update.phase == "done" and j, what="the update done")
        assert jobs.update.attempt == 1 and "control character" in jobs.update.error
        await station.csms.call(call.GetDiagnostics(location=f"{url}/in%0D%0ADELE%20precious.cbfw/", retries=2,
                                                    retry_interval=1))
        await notified(station, "UploadFailed", "DiagnosticsStatusNotification")
        log = (station.settings.data_dir / "logs" / "firmware.log").read_text()
        assert "diagnostics upload attempt 1/3 failed: a control character" in log
        assert "attempt 2/3" not in log  # the one answer that matters came: retrying cannot help
        assert (root / "precious.cbfw").read_bytes() == b"keep me"


@pytest.fixture
def tiny_download_disk(tmp_path: Path) -> Iterator[Path]:
    """The station's download folder on a 2 MB file system of its own (tmpfs, as root): a disk that fills up."""
    folder = tmp_path / "data" / "firmware" / "download"
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


async def test_an_image_over_the_maximum_or_the_free_disk_ends_download_failed_at_once(
        tmp_path: Path, ftp: tuple[str, Path], tiny_download_disk: Path) -> None:
    url, root = ftp
    (root / "huge.cbfw").write_bytes(b"x" * 4 * 1024 * 1024)
    (root / "big.cbfw").write_bytes(b"x" * (5 * 1024 * 1024 // 2))
    async with running_station(tmp_path, CHARGEBUS_FIRMWARE_MAX_IMAGE_BYTES=str(3 * 1024 * 1024),
                               CHARGEBUS_FIRMWARE_DISK_RESERVE_BYTES="0") as station:
        assert station.settings.data_dir / "firmware" / "download" == tiny_download_disk
        for name, said in (("huge.cbfw", "the largest image accepted"), ("big.cbfw", "disk full")):
            done = len(station.csms.calls("FirmwareStatusNotification")) + 2
            await update(station, f"{url}/{name}", retries=3)
            await station.csms.wait("FirmwareStatusNotification", done)
            assert statuses(station)[-2:] == ["Downloading", "DownloadFailed"]
            jobs = await station.observer.wait(
                lambda: (j := station.observer.get(JOBS)) and j.update and j.update.phase == "done" and j,
                what="the update done")
            assert jobs.update.attempt == 1 and said in jobs.update.error, jobs.update
            assert list(tiny_download_disk.iterdir()) == []  # no partial file left

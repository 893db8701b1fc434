"""OCPP 2.0.1 Firmware Management (L) and Diagnostics (N) against the whole station with
`CHARGEBUS_OCPP_VERSION=2.0.1`, a 2.0.1 CSMS and a real FTP server: a signed update's certificate and
signature checked by the firmware service before anything is installed, and GetLog uploading the archive that
1.6 GetDiagnostics uploads. Each status notification carries the requestId of what it reports."""

from __future__ import annotations

import base64
import os
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ocpp.v201 import call

from services.firmware import keys
from tests.csms import CentralSystem
from tests.file_servers import ftp_server
from tests.firmware_images import certificate, signing_keys
from tests.system.station import Station, running_station


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "ftp"
    with ftp_server(root) as url:
        yield url, root


def firmware(url: str, signer: Ed25519PrivateKey, content: bytes, certified: Ed25519PrivateKey) -> dict[str, str]:
    return {"location": url, "retrieve_date_time": datetime.now(UTC).isoformat(),
            "signing_certificate": certificate(certified),
            "signature": base64.b64encode(signer.sign(content)).decode()}


def notifications(station: Station, kind: str = "FirmwareStatusNotification") -> list[tuple[str, int | None]]:
    return [(p["status"], p.get("request_id")) for p in station.csms.calls(kind)]


async def test_l01_a_signed_update_is_checked_before_anything_is_installed(tmp_path: Path,
                                                                           ftp: tuple[str, Path]) -> None:
    private, public = signing_keys(tmp_path / "keys")
    ours, stranger = keys.load_private(private), Ed25519PrivateKey.generate()
    url, root = ftp
    content = os.urandom(200_000)  # no image of ours: it is refused once its own signature is checked
    (root / "image.cbfw").write_bytes(content)
    csms = CentralSystem(version="2.0.1")
    async with running_station(tmp_path, csms=csms, CHARGEBUS_OCPP_VERSION="2.0.1",
                               CHARGEBUS_FIRMWARE_PUBLIC_KEY=str(public)) as station:
        await csms.wait("BootNotification")
        location = f"{url}/image.cbfw"
        answer = await csms.call(call.UpdateFirmware(request_id=10, firmware=firmware(location, ours, content,
                                                                                      certified=stranger)))
        assert answer.status == "InvalidCertificate"  # it carries another key than the station trusts
        answer = await csms.call(call.UpdateFirmware(request_id=11, firmware=firmware(location, stranger, content,
                                                                                      certified=ours)))
        assert answer.status == "Accepted"
        await csms.wait("FirmwareStatusNotification", where=lambda p: p["status"] == "InvalidSignature")
        assert notifications(station) == [("Downloading", 11), ("Downloaded", 11), ("InvalidSignature", 11)]
        answer = await csms.call(call.UpdateFirmware(request_id=12, firmware=firmware(location, ours, content,
                                                                                      certified=ours)))
        assert answer.status == "Accepted"
        await csms.wait("FirmwareStatusNotification", where=lambda p: p["status"] == "InstallationFailed")
        assert notifications(station)[3:] == [("Downloading", 12), ("Downloaded", 12), ("SignatureVerified", 12),
                                              ("Installing", 12), ("InstallationFailed", 12)]
        log = (station.settings.data_dir / "logs" / "firmware.log").read_text()
        assert "does not check out over the downloaded file: nothing installed" in log
        assert "bad_signature" in log  # the image's own signature is still checked after the detached one
        triggered = await csms.call(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
        assert triggered.status == "Accepted"
        await csms.wait("FirmwareStatusNotification", 9)
        assert notifications(station)[-1] == ("Idle", None)


async def test_n01_get_log_uploads_the_diagnostics_archive_and_the_security_log(
        tmp_path: Path, ftp: tuple[str, Path]) -> None:
    url, root = ftp
    (root / "uploads").mkdir()
    csms = CentralSystem(version="2.0.1")
    async with running_station(tmp_path, csms=csms, CHARGEBUS_OCPP_VERSION="2.0.1") as station:
        await csms.wait("SecurityEventNotification")  # StartupOfTheDevice: in the security log
        answer = await csms.call(call.GetLog(log_type="DiagnosticsLog", request_id=4,
                                             log={"remote_location": f"{url}/uploads/"}, retries=1, retry_interval=1))
        assert answer.status == "Accepted" and answer.filename.startswith("diagnostics-CB0000001-")
        await csms.wait("LogStatusNotification", where=lambda p: p["status"] == "Uploaded")
        assert notifications(station, "LogStatusNotification") == [("Uploading", 4), ("Uploaded", 4)]
        with tarfile.open(root / "uploads" / answer.filename) as archive:
            assert "config.json" in archive.getnames()
        security = await csms.call(call.GetLog(log_type="SecurityLog", request_id=5,
                                               log={"remote_location": f"{url}/uploads/"}))
        assert security.status == "Accepted" and security.filename.startswith("securitylog-CB0000001-")
        await csms.wait("LogStatusNotification", 2, where=lambda p: p["status"] == "Uploaded")
        assert notifications(station, "LogStatusNotification")[2:] == [("Uploading", 5), ("Uploaded", 5)]
        with tarfile.open(root / "uploads" / security.filename) as archive:
            names = archive.getnames()
            lines = [line for n in names if n.startswith("logs/")
                     for line in archive.extractfile(n).read().decode().splitlines()]  # type: ignore[union-attr]
        assert "config.json" not in names and "health.json" not in names
        assert lines and all("security event type=" in line for line in lines)
        assert any("type=StartupOfTheDevice" in line for line in lines)

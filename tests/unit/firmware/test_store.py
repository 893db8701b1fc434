"""The numbered notifications survive the move to the station's own words, and read as phases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from services.common.contract.firmware import FirmwarePhase, Notification, UploadPhase
from services.common.db import open_engine
from services.firmware.store import JobStore

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "firmware" / "migrations"


def test_notifications_written_by_an_older_version_keep_their_numbers_and_become_phases(tmp_path: Path) -> None:
    older = tmp_path / "older"
    older.mkdir()
    for name in ("001_jobs.sql", "002_install_starts.sql"):
        (older / name).write_text((MIGRATIONS / name).read_text())
    engine = open_engine(tmp_path / "firmware.sqlite", older)
    with engine.begin() as conn:
        for kind, status in (("firmware", "Downloading"), ("firmware", "InstallationFailed"),
                             ("diagnostics", "UploadFailed"), ("firmware", "DownloadFailed"), ("diagnostics", "Idle")):
            conn.execute(text("INSERT INTO notifications (kind, status, at) VALUES (:k, :s, 'x')"),
                         {"k": kind, "s": status})
    engine.dispose()
    store = JobStore(open_engine(tmp_path / "firmware.sqlite", MIGRATIONS))
    notes = [Notification(seq=seq, kind=kind, status=status) for seq, kind, status in store.notifications()]
    assert [(n.seq, n.status) for n in notes] == [
        (1, FirmwarePhase.DOWNLOADING), (2, FirmwarePhase.INSTALL_FAILED), (3, UploadPhase.UPLOAD_FAILED),
        (4, FirmwarePhase.DOWNLOAD_FAILED), (5, UploadPhase.IDLE)]

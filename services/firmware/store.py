"""The firmware service's jobs and notifications in `<data_dir>/firmware.sqlite`.

A job's phase is written before the step it names begins, so a restart (or a power cut) resumes it:
a download starts again, an install goes on from its verified image, a switch waits for its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text

KEEP_NOTIFICATIONS = 20


@dataclass(frozen=True)
class UpdateJob:
    location: str
    retrieve_at: datetime
    retries: int
    retry_interval_s: int
    attempt: int
    phase: str
    version: str | None
    switched_at: datetime | None
    requested_at: datetime
    install_starts: int
    signature: str | None = None  # a detached signature of the whole file (`detached.py`)


@dataclass(frozen=True)
class DiagnosticsJob:
    location: str
    start: datetime | None
    stop: datetime | None
    retries: int
    retry_interval_s: int
    attempt: int
    phase: str
    file_name: str
    requested_at: datetime
    security_only: bool = False


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class JobStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- update ------------------------------------------------------------------------------------

    def update(self) -> UpdateJob | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT location, retrieve_at, retries, retry_interval_s, attempt, phase, version, switched_at, "
                "requested_at, install_starts, signature FROM update_job WHERE id = 1")).first()
        if row is None:
            return None
        retrieve_at, requested_at = _time(row[1]), _time(row[8])
        assert retrieve_at is not None and requested_at is not None
        return UpdateJob(row[0], retrieve_at, int(row[2]), int(row[3]), int(row[4]), row[5], row[6], _time(row[7]),
                         requested_at, int(row[9]), row[10])

    def new_update(self, location: str, retrieve_at: datetime, retries: int, retry_interval_s: int,
                   signature: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM update_job"))
            conn.execute(text(
                "INSERT INTO update_job (id, location, retrieve_at, retries, retry_interval_s, phase, requested_at, "
                "signature) VALUES (1, :l, :r, :n, :i, 'scheduled', :at, :s)"),
                {"l": location, "r": _iso(retrieve_at), "n": retries, "i": retry_interval_s,
                 "at": _iso(datetime.now(UTC)), "s": signature})

    def set_update(self, *, phase: str | None = None, attempt: int | None = None, version: str | None = None,
                   switched_at: datetime | None = None, install_starts: int | None = None) -> None:
        fields = {"phase": phase, "attempt": attempt, "version": version, "switched_at": _iso(switched_at),
                  "install_starts": install_starts}
        given = {k: v for k, v in fields.items() if v is not None}
        if not given:
            return
        with self.engine.begin() as conn:
            conn.execute(text(f"UPDATE update_job SET {', '.join(f'{k} = :{k}' for k in given)} WHERE id = 1"),
                         given)

    # -- diagnostics -------------------------------------------------------------------------------

    def diagnostics(self) -> DiagnosticsJob | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT location, start_at, stop_at, retries, retry_interval_s, attempt, phase, file_name, "
                "requested_at, security_only FROM diagnostics_job WHERE id = 1")).first()
        if row is None:
            return None
        requested_at = _time(row[8])
        assert requested_at is not None
        return DiagnosticsJob(row[0], _time(row[1]), _time(row[2]), int(row[3]), int(row[4]), int(row[5]), row[6],
                              row[7], requested_at, bool(row[9]))

    def new_diagnostics(self, location: str, start: datetime | None, stop: datetime | None, retries: int,
                        retry_interval_s: int, file_name: str, security_only: bool = False) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM diagnostics_job"))
            conn.execute(text(
                "INSERT INTO diagnostics_job (id, location, start_at, stop_at, retries, retry_interval_s, phase, "
                "file_name, requested_at, security_only) VALUES (1, :l, :s, :e, :n, :i, 'collecting', :f, :at, :o)"),
                {"l": location, "s": _iso(start), "e": _iso(stop), "n": retries, "i": retry_interval_s,
                 "f": file_name, "at": _iso(datetime.now(UTC)), "o": int(security_only)})

    def set_diagnostics(self, *, phase: str | None = None, attempt: int | None = None) -> None:
        given = {k: v for k, v in {"phase": phase, "attempt": attempt}.items() if v is not None}
        if given:
            with self.engine.begin() as conn:
                conn.execute(text(
                    f"UPDATE diagnostics_job SET {', '.join(f'{k} = :{k}' for k in given)} WHERE id = 1"), given)

    # -- notifications -----------------------------------------------------------------------------

    def notify(self, kind: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("INSERT INTO notifications (kind, status, at) VALUES (:k, :s, :at)"),
                         {"k": kind, "s": status, "at": _iso(datetime.now(UTC))})
            conn.execute(text("DELETE FROM notifications WHERE seq <= (SELECT MAX(seq) FROM notifications) - :n"),
                         {"n": KEEP_NOTIFICATIONS})

    def notifications(self) -> list[tuple[int, str, str]]:
        with self.engine.connect() as conn:
            return [(int(r[0]), r[1], r[2]) for r in conn.execute(text(
                "SELECT seq, kind, status FROM notifications ORDER BY seq")).all()]

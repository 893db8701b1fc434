"""The diagnostics archive: logs within a time window, the configuration keys without secrets, the version
and a health snapshot, in one tar.gz whose name the Central System is told when it asks for it.

Log records start with their UTC time (`services/common/logs.py`); a line that does not (a traceback)
belongs to the record above it and stays or goes with it. Logs are read line by line, spooled to disk and
capped, so a station with months of logs never holds them in memory and never fills its disk with one
archive. The archive is written aside and renamed: the name the CSMS was given never points at half a file.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from services.common.durable import replaced
from services.common.logs import SECURITY_EVENT, record_time, within

# RotatingFileHandler's current file and its backups (x.log, x.log.1, ...), stderr logs included
_LOG_FILE = re.compile(r".+\.log(?:\.(\d+))?")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
_SPOOL_BYTES = 1 << 20  # one log's kept records in memory up to this, on disk beyond


def _utc(moment: datetime | None) -> datetime | None:
    # a naive time is UTC by convention (OCPP, our logs); comparing it with an aware one would raise mid-archive
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Window:
    """start..stop of the request, both included; None is unbounded. Stored as aware UTC."""

    start: datetime | None = None
    stop: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start))
        object.__setattr__(self, "stop", _utc(self.stop))

    def contains(self, t: datetime) -> bool:
        return (self.start is None or self.start <= t) and (self.stop is None or t <= self.stop)


def archive_name(charge_point_id: str, now: datetime, kind: str = "diagnostics") -> str:
    """e.g. 'diagnostics-CB0000001-20261126T173311Z.tar.gz' (only [A-Za-z0-9._-] kept from the id)."""
    # the name ends up in an FTP/HTTP path on the CSMS side: no separators, no spaces
    safe = _SAFE_ID.sub("", charge_point_id) or "station"
    return f"{kind}-{safe}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar.gz"


def filter_log(lines: Iterable[str], window: Window) -> Iterator[str]:
    """The records (with their continuation lines) whose timestamp is inside the window; lines before the
    first record only without a window. Lazy: one line at a time."""
    # one definition of a record for the archive and `chargebus logs`
    return within(lines, window.start, window.stop)


def _log_files(data_dir: Path) -> list[Path]:
    folder = data_dir / "logs"
    if not folder.is_dir():
        return []
    found: list[tuple[int, str, Path]] = []
    for path in folder.iterdir():
        match = _LOG_FILE.fullmatch(path.name)
        if match is not None and path.is_file():
            found.append((int(match.group(1) or 0), path.name, path))
    # newest first (every current file, then every .1, ...): when the cap cuts, it cuts the oldest
    return [path for _, _, path in sorted(found)]


def _lines(raw: IO[bytes]) -> Iterator[str]:
    # bytes split on b"\n" and decoded one line at a time: a bad byte becomes U+FFFD, never an exception, and
    # a UTF-8 sequence never spans a newline so nothing is lost at the seams
    for chunk in raw:
        yield chunk.decode("utf-8", errors="replace")


def _member(name: str, size: int, now: datetime) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, int(now.timestamp())
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: datetime) -> None:
    tar.addfile(_member(name, len(data), now), io.BytesIO(data))


def _add_json(tar: tarfile.TarFile, name: str, value: Any, now: datetime) -> None:
    text = json.dumps(value, default=str, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    _add_bytes(tar, name, text.encode("utf-8"), now)


class _Logs:
    """Adds the filtered logs to the archive, within one byte budget for all of them."""

    def __init__(self, tar: tarfile.TarFile, window: Window, budget: int, spool_dir: Path, now: datetime,
                 security_only: bool = False) -> None:
        self.tar, self.window, self.budget, self.spool_dir, self.now = tar, window, budget, spool_dir, now
        self.security_only = security_only
        self.records: dict[str, int] = {}
        self.unreadable: dict[str, str] = {}
        self.truncated = False

    def add(self, path: Path) -> None:
        if self.truncated:
            return
        try:
            raw = path.open("rb")
        except OSError as exc:  # rotated away between listing and opening, or not ours to read
            self.unreadable[path.name] = f"{type(exc).__name__}: {exc.strerror or exc}"
            return
        size = records = 0
        with raw, tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES, dir=str(self.spool_dir)) as spool:
            for line in filter_log(_lines(raw), self.window):
                if self.security_only and (record_time(line) is None or SECURITY_EVENT not in line):
                    continue
                data = line.encode("utf-8")
                if size + len(data) > self.budget:
                    self.truncated = True
                    break
                spool.write(data)
                size += len(data)
                records += record_time(line) is not None
            self.budget -= size
            if size == 0:  # nothing of this file in the window
                return
            spool.seek(0)
            self.tar.addfile(_member(f"logs/{path.name}", size, self.now), spool)
        self.records[path.name] = records


def collect(data_dir: Path, out_dir: Path, *, charge_point_id: str, version: str, config: Mapping[str, str],
            secrets: Collection[str], health: Mapping[str, Any], window: Window, now: datetime,
            max_log_bytes: int = 50_000_000, security_only: bool = False) -> Path:
    """Write out_dir/archive_name(...) atomically (temp file in out_dir, fsync, rename) and return its path.

    Members: logs/<file> (filtered by the window, files with nothing in it left out, at most max_log_bytes
    of log content in all), config.json (keys without secrets, compared case-insensitively, and the names
    left out), version.txt, health.json, summary.json. Any failure leaves no file behind and raises.
    `security_only`: the security log, the records that are security events, with version.txt and
    summary.json alone beside them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / archive_name(charge_point_id, now, "securitylog" if security_only else "diagnostics")
    hidden = {name.lower() for name in secrets}
    # 0644: mkstemp's 0600 would keep an uploader running as another user out; the gzip header has no file
    # name and `now` as its time: the same inputs give the same bytes
    with replaced(final, 0o644, dir_sync_may_fail=True) as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=int(now.timestamp())) as packed, \
            tarfile.open(fileobj=packed, mode="w") as tar:
        logs = _Logs(tar, window, max_log_bytes, out_dir, now, security_only)
        for path in _log_files(data_dir):
            logs.add(path)
        if not security_only:
            _add_json(tar, "config.json", {
                "keys": {key: config[key] for key in config if key.lower() not in hidden},
                "left_out": sorted(key for key in config if key.lower() in hidden),
            }, now)
            _add_json(tar, "health.json", health, now)
        _add_bytes(tar, "version.txt", f"{version}\n".encode(), now)
        _add_json(tar, "summary.json", {
            "charge_point_id": charge_point_id,
            "version": version,
            "created": _iso(now),
            "window": {"start": None if window.start is None else _iso(window.start),
                       "stop": None if window.stop is None else _iso(window.stop)},
            "logs": logs.records,
            "logs_truncated": logs.truncated,
            "max_log_bytes": max_log_bytes,
            "logs_unreadable": logs.unreadable,
        }, now)
    return final

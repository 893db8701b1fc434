"""The GetDiagnostics archive: logs within a time window, the configuration keys without secrets, the
version and a health snapshot, in one tar.gz.

Log records start with their UTC time (`services/common/logs.py`); a line that does not (a traceback)
belongs to the record above it and stays or goes with it. Logs are read line by line and capped, so a
station with months of logs never holds them in memory. The archive is written aside and renamed: the
name the CSMS was given never points at half a file.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")
_LOG_FILE = re.compile(r".*\.log(\.\d+)?$")


@dataclass(frozen=True)
class Window:
    start: datetime | None = None
    stop: datetime | None = None

    def contains(self, t: datetime) -> bool:
        return (self.start is None or self.start <= t) and (self.stop is None or t <= self.stop)


def archive_name(charge_point_id: str, now: datetime) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "", charge_point_id) or "station"
    return f"diagnostics-{safe}-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.tar.gz"


def _stamp(line: str) -> datetime | None:
    match = _STAMP.match(line)
    if match is None:
        return None
    try:
        moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(microsecond=int(match.group(2)) * 1000, tzinfo=UTC)


def filter_log(lines: Iterable[str], window: Window) -> Iterator[str]:
    """The records (with their continuation lines) whose time is inside the window."""
    unbounded = window.start is None and window.stop is None
    keep = unbounded  # lines before the first record: only without a window
    for line in lines:
        moment = _stamp(line)
        if moment is not None:
            keep = window.contains(moment)
        if keep:
            yield line


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: datetime) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(now.timestamp())
    tar.addfile(info, io.BytesIO(data))


def _log_files(data_dir: Path) -> list[Path]:
    folder = data_dir / "logs"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and _LOG_FILE.fullmatch(p.name))


def collect(data_dir: Path, out_dir: Path, *, charge_point_id: str, version: str, config: Mapping[str, str],
            secrets: Collection[str], health: Mapping[str, Any], window: Window, now: datetime,
            max_log_bytes: int = 50_000_000) -> Path:
    """Write out_dir/archive_name(...) atomically and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / archive_name(charge_point_id, now)
    hidden = {s.lower() for s in secrets}
    left_out = sorted(k for k in config if k.lower() in hidden)
    included: dict[str, int] = {}
    budget, truncated = max_log_bytes, False
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=f".{final.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                for path in _log_files(data_dir):
                    if budget <= 0:
                        truncated = True
                        break
                    kept = io.BytesIO()  # one file's records: log files rotate at 5 MB
                    records = 0
                    with path.open(encoding="utf-8", errors="replace") as lines:
                        for line in filter_log(lines, window):
                            data = line.encode("utf-8")
                            if len(data) > budget:
                                truncated = True
                                break
                            budget -= len(data)
                            kept.write(data)
                            records += _stamp(line) is not None
                    if kept.tell():
                        _add_bytes(tar, f"logs/{path.name}", kept.getvalue(), now)
                        included[path.name] = records
                keys = {k: config[k] for k in sorted(config) if k.lower() not in hidden}
                _add_bytes(tar, "config.json", json.dumps({"keys": keys, "left_out": left_out}, indent=2).encode(), now)
                _add_bytes(tar, "version.txt", f"{version}\n".encode(), now)
                _add_bytes(tar, "health.json", json.dumps(health, default=str, sort_keys=True, indent=2).encode(), now)
                summary = {
                    "charge_point_id": charge_point_id, "version": version,
                    "created": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "window": {"start": window.start.isoformat() if window.start else None,
                               "stop": window.stop.isoformat() if window.stop else None},
                    "logs": included, "logs_truncated": truncated,
                }
                _add_bytes(tar, "summary.json", json.dumps(summary, indent=2).encode(), now)
            raw.flush()
            os.fsync(raw.fileno())
        tmp.chmod(0o644)
        tmp.replace(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final

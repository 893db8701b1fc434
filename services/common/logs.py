"""Logging: key=value context lines to stdout and a rotating file per process in the data dir; times in UTC."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


# a colon ends the tag only when a blank or the end follows it: "id_tag=%s: %s" stays readable
_ID_TAG = re.compile(r"\b((?:parent_)?id_tag)=([^\s,;)]+?)(?=:?(?:[\s,;)]|$))")
_CREDENTIALS = re.compile(r"(://[^/\s:@]*):[^/\s@]*@")


def mask_id_tag(tag: str) -> str:
    """An idTag is personal data: enough of it to tell two cards apart in a log, not to copy one."""
    if len(tag) >= 6:
        return f"{tag[:2]}**{tag[-2:]}"
    return f"{tag[:1]}**" if tag else tag


def redact_url(url: str) -> str:
    """The URL without a password in it (the user stays: it says which account was used)."""
    return _CREDENTIALS.sub(r"\1:***@", url)


def scrub(text: str, mask_tags: bool = True) -> str:
    """A line fit to show: no password in a URL, and `id_tag=…` masked unless `mask_tags` is false."""
    cleaned = redact_url(text)
    if mask_tags:
        cleaned = _ID_TAG.sub(lambda m: f"{m.group(1)}={mask_id_tag(m.group(2))}", cleaned)
    return cleaned


class PrivacyFilter(logging.Filter):
    """Passwords in URLs are never logged; idTags are masked unless the log level is DEBUG."""

    def __init__(self, mask_tags: bool) -> None:
        super().__init__()
        self.mask_tags = mask_tags

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message, self.mask_tags)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class UtcFormatter(logging.Formatter):
    """Times in UTC, whatever the station's time zone: the CSMS, OCPP and GetDiagnostics windows speak UTC."""

    converter = time.gmtime  # type: ignore[assignment]  # typeshed's signature is narrower than the docs'


def setup_logging(name: str, level: str, data_dir: Path | None) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    privacy = PrivacyFilter(mask_tags=level != "DEBUG")
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(UtcFormatter(FORMAT))
    stream.addFilter(privacy)
    root.addHandler(stream)
    if data_dir is not None:
        logs = data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            logs / f"{name}.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
        rotating.setFormatter(UtcFormatter(FORMAT))
        rotating.addFilter(privacy)
        root.addHandler(rotating)
    # paho logs every packet at DEBUG; that belongs to the broker log, not ours
    logging.getLogger("paho").setLevel(logging.WARNING)


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def record_time(line: str) -> datetime | None:
    """The UTC time a log record starts with, or None for a continuation line (a traceback)."""
    match = _STAMP.match(line)
    if match is None:
        return None
    try:
        moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(microsecond=int(match.group(2)) * 1000, tzinfo=UTC)


def within(lines: Iterable[str], start: datetime | None, stop: datetime | None) -> Iterator[str]:
    """The records (with their continuation lines) whose time is in [start, stop]; lines before the first
    record only when neither bound is given."""
    keep = start is None and stop is None
    for line in lines:
        moment = record_time(line)
        if moment is not None:
            keep = (start is None or start <= moment) and (stop is None or moment <= stop)
        if keep:
            yield line

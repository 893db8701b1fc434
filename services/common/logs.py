"""Logging: key=value context lines to stdout and a rotating file per process in the data dir; times in UTC."""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import re
import sys
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


_CONTEXT: ContextVar[dict[str, Any]] = ContextVar("chargebus_log_context", default={})  # noqa: B039  # never mutated
_FIELD = re.compile(r"\b([a-z_]+)=([^\s,;()]+?)(?=:?(?:[\s,;)]|$))")


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Fields every log record inside carries in the JSON format (an OCPP message id, a transaction id);
    per asyncio task, like every context variable."""
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, service, logger, message, the `key=value` pairs of the
    message (session, transaction_id, connector, ...) and the context's fields (ocpp_message_id, ...)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "service": self.service, "logger": record.name, "message": message}
        for key, value in _FIELD.findall(message):
            out.setdefault(key, int(value) if value.isdigit() else value)
        out.update(_CONTEXT.get())
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(name: str, level: str, data_dir: Path | None, fmt: str = "text") -> None:
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    privacy = PrivacyFilter(mask_tags=level != "DEBUG")
    formatter = JsonFormatter(name) if fmt == "json" else UtcFormatter(FORMAT)
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(formatter)
    stream.addFilter(privacy)
    root.addHandler(stream)
    if data_dir is not None:
        logs = data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            logs / f"{name}.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
        rotating.setFormatter(formatter)
        rotating.addFilter(privacy)
        root.addHandler(rotating)
    # paho logs every packet at DEBUG; that belongs to the broker log, not ours
    logging.getLogger("paho").setLevel(logging.WARNING)


_JSON_STAMP = '{"ts": "'
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def record_time(line: str) -> datetime | None:
    """The UTC time a log record starts with, or None for a continuation line (a traceback)."""
    if line.startswith(_JSON_STAMP):  # the JSON format: its "ts" comes first
        try:
            return datetime.fromisoformat(line[len(_JSON_STAMP):line.index('"', len(_JSON_STAMP))])
        except ValueError:
            return None
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

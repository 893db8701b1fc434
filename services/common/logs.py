"""Logging: key=value context lines to stdout and a rotating file per process in the data dir; times in UTC."""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# the scrubber is its own module: the supervisor's capture of the children's output uses it too; the two
# helpers are named here as well, where the services have always found them
from services.common.redact import mask_token as mask_token
from services.common.redact import redact_url as redact_url
from services.common.redact import scrub

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UtcFormatter(logging.Formatter):
    """Times in UTC, whatever the station's time zone: the CSMS, the protocol and diagnostics windows speak UTC.

    Every line it writes is scrubbed whole (message, traceback, stack), whichever logger it came from: the
    OCPP library logs whole frames, a database error prints its parameters."""

    converter = time.gmtime  # type: ignore[assignment]  # typeshed's signature is narrower than the docs'

    def __init__(self, fmt: str, mask_tags: bool = True) -> None:
        super().__init__(fmt)
        self.mask_tags = mask_tags

    def format(self, record: logging.LogRecord) -> str:
        return _once(self, record, lambda: scrub(super(UtcFormatter, self).format(record), self.mask_tags))


def _once(formatter: logging.Formatter, record: logging.LogRecord, make: Callable[[], str]) -> str:
    """A record's line, made once per formatter: the file and stdout handlers share one, and scrubbing a line
    costs as much as writing it."""
    key = f"_chargebus_line_{id(formatter)}"
    line = record.__dict__.get(key)
    if line is None:
        line = make()
        record.__dict__[key] = line
    return line


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

    def __init__(self, service: str, mask_tags: bool = True) -> None:
        super().__init__()
        self.service = service
        self.mask_tags = mask_tags

    def format(self, record: logging.LogRecord) -> str:
        return _once(self, record, lambda: self._format(record))

    def _format(self, record: logging.LogRecord) -> str:
        # each field scrubbed before it is encoded: the patterns read text, not JSON escapes
        message = scrub(record.getMessage(), self.mask_tags)
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "service": self.service, "logger": record.name, "message": message}
        for key, value in _FIELD.findall(message):
            out.setdefault(key, int(value) if value.isdigit() else value)
        out.update({k: scrub(v, self.mask_tags) if isinstance(v, str) else v for k, v in _CONTEXT.get().items()})
        if record.exc_info:
            out["exception"] = scrub(self.formatException(record.exc_info), self.mask_tags)
        if record.stack_info:
            out["stack"] = scrub(self.formatStack(record.stack_info), self.mask_tags)
        return json.dumps(out, default=str)


def setup_logging(name: str, level: str, data_dir: Path | None, fmt: str = "text") -> None:
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    mask_tags = level != "DEBUG"  # tokens are personal data: in full only when a technician asked for DEBUG
    formatter = JsonFormatter(name, mask_tags) if fmt == "json" else UtcFormatter(FORMAT, mask_tags)
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(formatter)
    root.addHandler(stream)
    if data_dir is not None:
        logs = data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            logs / f"{name}.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
        rotating.setFormatter(formatter)
        root.addHandler(rotating)
    # paho logs every packet at DEBUG; that belongs to the broker log, not ours
    logging.getLogger("paho").setLevel(logging.WARNING)
    # websockets logs every frame at DEBUG cut in its middle ('[2,"…","Chan...e":"<the key>"}]'): no scrubber
    # can tell a secret in what is left. The OCPP frames are logged whole (and scrubbed) by the `ocpp` logger.
    logging.getLogger("websockets").setLevel(logging.INFO)


_JSON_STAMP = '{"ts": "'
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


# how a log record says it is a security event (`log.warning(SECURITY_EVENT + " type=%s ...", ...)`): the
# security log is the records that say so (`firmware/diagnostics.py` uploads them alone when asked)
SECURITY_EVENT = "security event"


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

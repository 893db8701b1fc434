"""Logging: key=value context lines to stdout and a rotating file per process in the data dir; times in UTC."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UtcFormatter(logging.Formatter):
    """Times in UTC, whatever the station's time zone: the CSMS, OCPP and GetDiagnostics windows speak UTC."""

    converter = time.gmtime  # type: ignore[assignment]  # typeshed's signature is narrower than the docs'


def setup_logging(name: str, level: str, data_dir: Path | None) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(UtcFormatter(FORMAT))
    root.addHandler(stream)
    if data_dir is not None:
        logs = data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            logs / f"{name}.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
        rotating.setFormatter(UtcFormatter(FORMAT))
        root.addHandler(rotating)
    # paho logs every packet at DEBUG; that belongs to the broker log, not ours
    logging.getLogger("paho").setLevel(logging.WARNING)

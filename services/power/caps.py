"""The maintenance caps (cmd/set_limit) on disk, so a cap a technician set holds across restarts until cleared.

A small JSON file, `<data_dir>/power_caps.json`, replaced atomically (written aside, fsynced, renamed): a
power cut leaves the old file or the new one. An unreadable file is moved aside and logged: without it the
station runs without a cap, which the technician sees in `chargebus status`.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from services.common.durable import write_text

log = logging.getLogger(__name__)


def load(path: Path) -> dict[int, float]:
    try:
        raw = json.loads(path.read_text())
        return {int(k): float(v) for k, v in raw.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        log.error("maintenance caps not readable (%s): moved to %s, no cap in force", exc, aside.name)
        path.rename(aside)
        return {}


def save(path: Path, caps: dict[int, float]) -> None:
    write_text(path, json.dumps({str(k): v for k, v in sorted(caps.items())}))

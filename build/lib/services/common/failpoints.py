"""Fault injection for tests: a named point in the code misbehaves on purpose, once.

A point is armed by a file `<data_dir>/failpoints/<name>` holding the action:
- `hang`: this task waits for ever (a test then kill -9s the process exactly there);
- `disk_full`: raise the error SQLite gives when the disk is full;
- `block_loop`: block the whole event loop (the paho thread goes on answering the broker's keepalive).
The file is removed when the point fires, so it fires once. A station has no such files: a point costs
one stat() where it sits, and there are few.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

_folder: Path | None = None


def arm_from(data_dir: Path) -> None:
    global _folder
    _folder = data_dir / "failpoints"


async def hit(name: str) -> None:
    if _folder is None:
        return
    path = _folder / name
    try:
        action = path.read_text().strip()
    except OSError:
        return
    path.unlink(missing_ok=True)
    log.warning("failpoint %s fires: %s", name, action)
    if action == "hang":
        await asyncio.Event().wait()
    elif action == "disk_full":
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    elif action == "block_loop":
        time.sleep(3600)
    else:
        log.error("failpoint %s: unknown action %r", name, action)

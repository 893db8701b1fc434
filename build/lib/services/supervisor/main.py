"""Entry of the supervisor process: `chargebus run` and `python -m services.supervisor`."""

from __future__ import annotations

import asyncio
import fcntl
from typing import IO

import setproctitle

from services.common.logs import setup_logging
from services.common.settings import Settings

from .launcher import fork_launcher
from .supervisor import supervise


def _lock(settings: Settings) -> IO[bytes]:
    """One station per data directory: two would share SQLite files and broker persistence.

    The kernel drops the lock with the process, so a power cut never leaves a stale one.
    """
    handle = (settings.data_dir / "chargebus.lock").open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SystemExit(f"chargebus: another `chargebus run` uses {settings.data_dir}; stop it first") from None
    return handle


def run(settings: Settings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(settings)
    setup_logging("supervisor", settings.log_level, settings.data_dir)
    setproctitle.setproctitle("chargebus-supervisor")
    # before any thread exists (asyncio, paho): the one safe moment to fork
    launcher = fork_launcher()
    try:
        return asyncio.run(supervise(settings, launcher))
    finally:
        lock.close()

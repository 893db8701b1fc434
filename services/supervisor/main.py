"""Entry of the supervisor process: `chargebus run` and `python -m services.supervisor`."""

from __future__ import annotations

import asyncio
import fcntl
import gc
import logging
import os
from typing import IO

import setproctitle

from services.common.logs import setup_logging
from services.common.settings import Settings

from . import data_snapshot, page_merging, separation, slots
from .launcher import fork_launcher
from .supervisor import supervise

log = logging.getLogger(__name__)


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
    setup_logging("supervisor", settings.log_level, settings.data_dir, settings.log_format)
    setproctitle.setproctitle("chargebus-supervisor")
    running = slots.running_slot()
    path = slots.state_path(settings.data_dir)
    boot = slots.at_start(slots.load(path, running))
    slots.save(path, boot)
    if boot.trial_version is None and boot.outcome is not None and boot.outcome.installed:
        data_snapshot.discard(settings.data_dir)  # the trial went well: the old databases are not needed
    if boot.active != running:
        log.warning("the station runs from slot %s (this is %s): restarting from it", boot.active, running)
        data_snapshot.settle(settings.data_dir, boot)  # a trial that never started is rolled back with its data
        _exec(boot.active, lock)
    separate = separation.decide(settings)
    if separate:
        separation.prepare_data_dir(settings)
    # before any thread exists (asyncio, paho): the one safe moment to fork
    launcher = fork_launcher(settings.ocpp_version, settings.page_merging)
    gc.enable()  # off since the preload, so that the launcher's children share its pages (see `launcher.preload`)
    if settings.page_merging:
        log.info("page merging: %s", page_merging.ksmd_state())
    try:
        slot = asyncio.run(supervise(settings, launcher, boot, separate))
    finally:
        lock.close()
    if slot is not None:
        data_snapshot.settle(settings.data_dir, slots.load(path, running))  # every process has stopped
        _exec(slot, None)
    return 0


def _exec(slot: str, lock: IO[bytes] | None) -> None:
    """Become `chargebus run` of another slot: same pid and process group (a power cut still takes all),
    same environment; the lock goes with the old image (its descriptor is close-on-exec) and is taken anew."""
    if lock is not None:
        lock.close()
    logging.shutdown()
    argv = slots.exec_argv(slot)
    os.execv(argv[0], argv)

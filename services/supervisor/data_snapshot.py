"""The services' databases as they were before a version on trial touched them, put back if it is rolled back.

A new version may migrate a database in a way the version before cannot read (a table rebuilt, values
rewritten). The supervisor takes a copy of every `<data_dir>/*.sqlite` at the switch, when every process has
stopped, and, if the trial fails, restores the copies before it starts the previous version again: code and
data go back together. What the services wrote during the trial (seconds, while they came up) is lost with
it; a trial that succeeds drops the copy.

Only a supervisor of this version or later does this: a rollback done by an older one (it found the new
version unable to start at all) leaves the databases as they are.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path

from .slots import BootState

log = logging.getLogger(__name__)


def folder(data_dir: Path) -> Path:
    return data_dir / "firmware" / "before-trial"


def settle(data_dir: Path, state: BootState) -> None:
    """Called with every process stopped, before the supervisor becomes another slot's: copy the databases when
    a trial begins, put them back when one was rolled back."""
    if state.trial_version is not None and state.trial_starts == 0:
        take(data_dir)
    elif state.trial_version is None and state.outcome is not None and not state.outcome.installed:
        restore(data_dir)


def take(data_dir: Path) -> None:
    target = folder(data_dir)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for db in sorted(data_dir.glob("*.sqlite")):
        source = sqlite3.connect(db)
        try:
            copy = sqlite3.connect(target / db.name)
            try:
                source.backup(copy)  # through the WAL: what was committed, whatever is checkpointed yet
            finally:
                copy.close()
        finally:
            source.close()
    log.info("databases kept before the trial: %s", ", ".join(p.name for p in sorted(target.glob("*.sqlite"))))


def restore(data_dir: Path) -> None:
    kept = folder(data_dir)
    if not kept.is_dir():
        return
    for copy in sorted(kept.glob("*.sqlite")):
        db = data_dir / copy.name
        stat = db.stat() if db.exists() else None
        for journal in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            journal.unlink(missing_ok=True)  # the trial's: applied to the old file they would undo the restore
        restored = db.with_name(db.name + ".restoring")
        shutil.copyfile(copy, restored)
        if stat is not None:  # each service's own account owns its file (process separation)
            os.chown(restored, stat.st_uid, stat.st_gid)
            os.chmod(restored, stat.st_mode & 0o7777)
        os.replace(restored, db)
    log.warning("databases restored to before the trial: %s", ", ".join(p.name for p in sorted(kept.glob("*.sqlite"))))
    discard(data_dir)


def discard(data_dir: Path) -> None:
    shutil.rmtree(folder(data_dir), ignore_errors=True)

"""A version on trial that is rolled back takes the databases it migrated back with it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from services.supervisor import data_snapshot, slots
from services.supervisor.slots import BootState

BEFORE = BootState(active="/slots/old", factory="/factory", previous=None)


def _db(path: Path, rows: list[str]) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS t (v TEXT)")
    db.execute("DELETE FROM t")
    db.executemany("INSERT INTO t VALUES (?)", [(r,) for r in rows])
    db.commit()
    db.close()


def _rows(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT v FROM t ORDER BY v")]
    finally:
        db.close()


def test_the_switch_keeps_the_databases_and_a_rollback_puts_them_back(tmp_path: Path) -> None:
    auth, other = tmp_path / "auth.sqlite", tmp_path / "metering.sqlite"
    _db(auth, ["old-row"])
    _db(other, ["kept"])
    trial = slots.switching(BEFORE, "/slots/new", "0.2.0")
    data_snapshot.settle(tmp_path, trial)  # the supervisor, all stopped, about to become the new slot
    assert sorted(p.name for p in data_snapshot.folder(tmp_path).iterdir()) == ["auth.sqlite", "metering.sqlite"]

    _db(auth, ["migrated-row"])  # the new version rewrites what the old one reads
    trial_wal = auth.with_name("auth.sqlite-wal")
    trial_wal.write_bytes(b"a journal the trial left behind")
    data_snapshot.settle(tmp_path, slots.rolled_back(slots.at_start(trial), "not online"))

    assert _rows(auth) == ["old-row"] and _rows(other) == ["kept"]
    assert not data_snapshot.folder(tmp_path).exists() and not trial_wal.exists()


def test_a_trial_that_succeeds_drops_the_copy_and_nothing_else_touches_the_files(tmp_path: Path) -> None:
    _db(tmp_path / "auth.sqlite", ["old-row"])
    trial = slots.switching(BEFORE, "/slots/new", "0.2.0")
    data_snapshot.settle(tmp_path, trial)
    _db(tmp_path / "auth.sqlite", ["new-row"])
    data_snapshot.settle(tmp_path, slots.at_start(trial))  # a restart during the trial: neither kept nor restored
    assert _rows(tmp_path / "auth.sqlite") == ["new-row"] and data_snapshot.folder(tmp_path).exists()
    data_snapshot.discard(tmp_path)  # what the slot keeper does once every service is online
    assert not data_snapshot.folder(tmp_path).exists()
    data_snapshot.settle(tmp_path, slots.rolled_back(trial, "later"))  # no copy: nothing to put back
    assert _rows(tmp_path / "auth.sqlite") == ["new-row"]

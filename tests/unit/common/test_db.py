"""Numbered migrations on a real SQLite file: from empty, from an older release, and bad folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from services.common.db import migrate, open_engine, schema_version


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql)
    return folder


def test_from_empty_then_upgrade_keeps_rows(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", {"001_items.sql": "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);"})
    engine = open_engine(tmp_path / "db.sqlite", folder)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO items (name) VALUES ('kept')"))
    assert schema_version(engine) == 1
    engine.dispose()
    _write(folder, {"002_price.sql": "ALTER TABLE items ADD COLUMN price INTEGER NOT NULL DEFAULT 0;\n"
                                     "UPDATE items SET price = 7;"})
    engine = open_engine(tmp_path / "db.sqlite", folder)
    assert schema_version(engine) == 2
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, price FROM items")).all() == [("kept", 7)]
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", {"001_a.sql": "CREATE TABLE a (x INTEGER);"})
    engine = open_engine(tmp_path / "db.sqlite", folder)
    assert migrate(engine, folder) == 1  # a second CREATE TABLE would raise


@pytest.mark.parametrize("files", [{"001_a.sql": "", "003_c.sql": ""}, {"1_a.sql": ""}, {"002_b.sql": ""}])
def test_bad_migration_folders_are_refused(tmp_path: Path, files: dict[str, str]) -> None:
    folder = _write(tmp_path / "m", files)
    with pytest.raises(ValueError):
        open_engine(tmp_path / "db.sqlite", folder)


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", {"001_a.sql": "CREATE TABLE a (x INTEGER);",
                                     "002_bad.sql": "CREATE TABLE b (y INTEGER); INSERT INTO nope VALUES (1);"})
    with pytest.raises(Exception, match="nope"):
        open_engine(tmp_path / "db.sqlite", folder)
    (folder / "002_bad.sql").write_text("CREATE TABLE b (y INTEGER);")
    engine = open_engine(tmp_path / "db.sqlite", folder)
    assert schema_version(engine) == 2


def test_a_write_now_is_committed_and_a_failed_one_leaves_nothing_open(tmp_path: Path) -> None:
    """The direct write a ChangeConfiguration waits on: committed when it returns (another connection reads it),
    and one that fails neither half-applies nor leaves the pooled connection inside a transaction."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    from services.common.db import write_now

    folder = _write(tmp_path / "m", {"001_kv.sql": "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);"})
    engine = open_engine(tmp_path / "db.sqlite", folder)
    upsert = "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
    write_now(engine, upsert, ("a", "1"))
    with pytest.raises(IntegrityError):  # as SQLAlchemy's, the error every store's caller handles
        write_now(engine, upsert, ("a", None))
    write_now(engine, upsert, ("b", "2"))  # the connection is usable again: no transaction was left open
    reader = sqlite3.connect(tmp_path / "db.sqlite")
    try:
        assert reader.execute("SELECT k, v FROM kv ORDER BY k").fetchall() == [("a", "1"), ("b", "2")]
    finally:
        reader.close()

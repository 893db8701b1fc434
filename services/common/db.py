"""SQLite through SQLAlchemy: one file per owning service, WAL, numbered SQL migrations.

Migrations are files `NNN_<what>.sql` in the service's `migrations/` folder, applied in order
inside one transaction each; `PRAGMA user_version` records the last one applied, so a firmware
update that adds a migration upgrades the file in place and loses nothing.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError

log = logging.getLogger(__name__)


class StorageError(RuntimeError):
    """A service database that cannot be used (corrupt, read-only, disk full): the service stops with one line.

    The file is never deleted or overwritten: what to do with it is a technician's decision.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot use {path}: {reason}")
        self.path = path
        self.reason = reason

_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def open_engine(path: Path, migrations: Path) -> Engine:
    """Open (creating if needed) a service database, bring its schema up to date, and check it can be written.

    Raises StorageError naming the file when it cannot be read or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = _engine(path)
        version = migrate(engine, migrations)
        with engine.begin() as conn:  # a write now, not at the first charge: read-only files and full disks show here
            conn.exec_driver_sql(f"PRAGMA user_version = {version}")
    except (DatabaseError, OperationalError) as exc:
        raise StorageError(path, str(exc.orig)) from exc
    except OSError as exc:
        raise StorageError(path, exc.strerror or str(exc)) from exc
    return engine


def _engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: object, _record: object) -> None:
        cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we tell anyone; a power cut loses nothing acknowledged.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
        # pysqlite would commit DDL implicitly; we issue BEGIN ourselves so a migration is all or nothing
        dbapi_conn.isolation_level = None  # type: ignore[attr-defined]

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def reading(engine: Engine) -> Iterator[sqlite3.Connection]:
    """The pooled DBAPI connection, for the reads and writes an answer or a start waits on: SQLAlchemy's
    per-transaction machinery costs as much again as the statement itself. Each statement outside `writing` is its
    own snapshot; errors come as SQLAlchemy's (`SQLAlchemyError`), as from the rest."""
    pooled = engine.raw_connection()
    try:
        conn = pooled.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        try:
            yield conn
        except sqlite3.Error as exc:
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc
    finally:
        pooled.close()  # back to the pool, which rolls back whatever a failed COMMIT left open


@contextmanager
def writing(engine: Engine) -> Iterator[sqlite3.Connection]:
    """One transaction on the pooled DBAPI connection (`reading`): BEGIN IMMEDIATE ... COMMIT, on disk before it
    returns, as every commit is."""
    with reading(engine) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def write_now(engine: Engine, sql: str, params: tuple[object, ...]) -> None:
    """One statement in a transaction of its own (a key the Central System changes)."""
    with writing(engine) as conn:
        conn.execute(sql, params)


def migration_files(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for file in sorted(folder.glob("*.sql")):
        match = _MIGRATION.match(file.name)
        if not match:
            raise ValueError(f"migration file name {file.name} is not NNN_name.sql")
        found.append((int(match.group(1)), file))
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"migrations in {folder} are not numbered 001.. without gaps: {numbers}")
    return found


def schema_version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("PRAGMA user_version")).scalar_one())


def migrate(engine: Engine, folder: Path) -> int:
    """Apply the migrations not yet applied; returns the schema version."""
    current = schema_version(engine)
    for number, file in migration_files(folder):
        if number <= current:
            continue
        # whole-line comments go first: a `;` in a comment must not split a statement
        body = "\n".join(line for line in file.read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith("--"))
        statements = [s.strip() for s in body.split(";") if s.strip()]
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(f"PRAGMA user_version = {number}")
        log.info("migrated db=%s to version=%d (%s)", engine.url.database, number, file.name)
        current = number
    return current


def warm_up() -> None:
    """Run SQLAlchemy's first engine, migration, insert and select once, in the launcher before it forks: what
    they build lazily (compiled statements, dialect caches) is then shared by every service."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "migrations"
        folder.mkdir()
        (folder / "001_warm.sql").write_text("CREATE TABLE warm (k TEXT PRIMARY KEY, v TEXT)")
        engine = open_engine(Path(tmp) / "warm.sqlite", folder)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO warm (k, v) VALUES (:k, :v)"), {"k": "a", "v": "b"})
            conn.execute(text("SELECT v FROM warm WHERE k = :k"), {"k": "a"}).first()
        engine.dispose()

"""The authorization cache and the local list in auth's SQLite file, keyed by the token's type and case-folded value."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from services.common.contract.auth import (
    IdToken,
    LocalListEntry,
    SendLocalListRequest,
    TokenInfo,
    TokenType,
    UpdateStatus,
    UpdateType,
)


class ListRefused(Exception):
    """A local list update that cannot be applied: nothing of it is (the SQLite transaction rolls back)."""

    def __init__(self, status: UpdateStatus, why: str) -> None:
        super().__init__(why)
        self.status = status


_COLUMNS = "status, group_token, group_type, expires_at"


def _info(row: Any) -> TokenInfo | None:
    if row is None:
        return None
    # TokenInfo reads a stored date without a time zone as UTC (rows written before that rule)
    return TokenInfo(status=row[0], group=IdToken(value=row[1], type=TokenType(row[2])) if row[1] else None,
                     expires_at=datetime.fromisoformat(row[3]) if row[3] else None)


class AuthStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # (update, part, version, kind) the staged update goes on with
        self._next_part: tuple[str, int, int, UpdateType] | None = None
        self._state: tuple[int, int] | None = None

    def cached(self, token: IdToken) -> TokenInfo | None:
        with self.engine.connect() as conn:
            return _info(conn.execute(text(f"SELECT {_COLUMNS} FROM cache WHERE token_key = :k"),
                                      {"k": token.key}).first())

    def local(self, token: IdToken) -> TokenInfo | None:
        with self.engine.connect() as conn:
            return _info(conn.execute(text(f"SELECT {_COLUMNS} FROM local_list WHERE token_key = :k"),
                                      {"k": token.key}).first())

    def remember(self, token: IdToken, info: TokenInfo) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(
                f"INSERT INTO cache (token_key, token, token_type, {_COLUMNS}, updated_at) "
                "VALUES (:k, :t, :y, :s, :g, :gy, :e, :u) "
                "ON CONFLICT (token_key) DO UPDATE SET token = excluded.token, status = excluded.status, "
                "group_token = excluded.group_token, group_type = excluded.group_type, "
                "expires_at = excluded.expires_at, updated_at = excluded.updated_at"),
                _row(token, info) | {"u": datetime.now(UTC).isoformat()})

    def clear_cache(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM cache"))

    def drop_staged(self) -> None:
        """Forget an update whose last part never came (at start: the process that was sending it is gone)."""
        self._next_part = None
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM local_list_staging"))

    def apply_part(self, part: SendLocalListRequest, max_length: int) -> tuple[int, int]:
        """Stage one part of a local list update; its last part applies the whole update, all or nothing.

        Returns (version, size) in force after the part. Raises ListRefused (version mismatch, failed, a part
        out of order): the list is then exactly what it was, and the update's staged parts are dropped.
        An empty list is version 0 (OCTT TC_042_2), stored so: the version reported is the one compared.
        """
        try:
            return self._apply_part(part, max_length)
        except ListRefused:
            self.drop_staged()
            raise

    def _apply_part(self, part: SendLocalListRequest, max_length: int) -> tuple[int, int]:
        expected = (part.update, part.part, part.version, part.update_type)
        if part.part > 0 and self._next_part != expected:  # in order, and the same version and kind throughout
            raise ListRefused(UpdateStatus.FAILED, f"part {part.part} of update {part.update!r} (version "
                                                   f"{part.version}, {part.update_type}) does not follow the parts "
                                                   f"before it (expected {self._next_part})")
        full = part.update_type is UpdateType.FULL
        if full and any(e.info is None for e in part.entries):
            raise ListRefused(UpdateStatus.FAILED, "a full list needs the info of every token")
        with self.engine.begin() as conn:
            if part.part == 0:
                conn.execute(text("DELETE FROM local_list_staging"))
            if not full and part.version <= (current := _current_version(conn)):
                raise ListRefused(UpdateStatus.VERSION_MISMATCH, f"version {part.version} is not above {current}")
            self._stage(conn, part.entries)
            if part.more:
                self._next_part = (part.update, part.part + 1, part.version, part.update_type)
                return self._known_state(conn)
            self._next_part = None
            if full:
                conn.execute(text("DELETE FROM local_list"))
            conn.execute(text(
                f"INSERT INTO local_list (token_key, token, token_type, {_COLUMNS}) "
                f"SELECT token_key, token, token_type, {_COLUMNS} FROM local_list_staging WHERE status IS NOT NULL "
                "ON CONFLICT (token_key) DO UPDATE SET token = excluded.token, status = excluded.status, "
                "group_token = excluded.group_token, group_type = excluded.group_type, "
                "expires_at = excluded.expires_at"))
            conn.execute(text("DELETE FROM local_list WHERE token_key IN "
                              "(SELECT token_key FROM local_list_staging WHERE status IS NULL)"))
            conn.execute(text("DELETE FROM local_list_staging"))
            size = _size(conn)
            if size > max_length:
                raise ListRefused(UpdateStatus.FAILED, f"{size} entries exceed the capacity of {max_length}")
            version = part.version if size > 0 else 0
            conn.execute(text("UPDATE local_list_version SET version = :v"), {"v": version})
        self._state = version, size
        return version, size

    @staticmethod
    def _stage(conn: Connection, entries: list[LocalListEntry]) -> None:
        # straight to the driver, row by row from the entries: no second copy of the part
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                f"INSERT INTO local_list_staging (token_key, token, token_type, {_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_staged(e.token, e.info) for e in entries))
        except sqlite3.IntegrityError:  # which of two entries for one token (compared without case) would count?
            raise ListRefused(UpdateStatus.FAILED, "the same token more than once in one update") from None
        finally:
            cursor.close()

    def local_list_state(self) -> tuple[int, int]:
        """(version, size) of the list in force; read once, then kept by `apply_part` (auth is its one writer)."""
        if self._state is None:
            with self.engine.connect() as conn:
                return self._known_state(conn)
        return self._state

    def _known_state(self, conn: Connection) -> tuple[int, int]:
        if self._state is None:
            self._state = _current_version(conn), _size(conn)
        return self._state


def _size(conn: Connection) -> int:
    return int(conn.execute(text("SELECT COUNT(*) FROM local_list")).scalar_one())


def _current_version(conn: Connection) -> int:
    """The list's version: 0 while it is empty, also where an older release stored the empty list's own."""
    version = int(conn.execute(text("SELECT version FROM local_list_version")).scalar_one())
    empty = conn.execute(text("SELECT 1 FROM local_list LIMIT 1")).first() is None
    return 0 if empty else version


def _staged(token: IdToken, info: TokenInfo | None) -> tuple[object, ...]:
    """A row of local_list_staging, its columns in table order; without info (remove the token) no status."""
    if info is None:
        return token.key, token.value, token.type.value, None, None, None, None
    group = info.group
    return (token.key, token.value, token.type.value, info.status.value, group.value if group else None,
            group.type.value if group else None, info.expires_at.isoformat() if info.expires_at else None)


def _row(token: IdToken, info: TokenInfo) -> dict[str, object]:
    """The same columns as `_staged`, named for a statement with named parameters."""
    return dict(zip(("k", "t", "y", "s", "g", "gy", "e"), _staged(token, info), strict=True))

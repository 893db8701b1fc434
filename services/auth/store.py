"""The authorization cache and the local list in auth's SQLite file, keyed by the token's type and case-folded value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from services.common.contract.auth import IdToken, LocalListEntry, TokenInfo, TokenType, UpdateStatus, UpdateType


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

    def apply_list(self, version: int, update_type: UpdateType, entries: list[LocalListEntry], max_length: int
                   ) -> tuple[int, int]:
        """Apply a full list or a differential update all or nothing; returns (version, size).

        Raises ListRefused (version mismatch, failed): the list is then exactly what it was.
        An empty list is version 0 (OCTT TC_042_2), stored so: the version reported is the one compared.
        """
        keys = {e.token.key for e in entries}
        if len(keys) < len(entries):  # which of two entries for one token (compared without case) would count?
            raise ListRefused(UpdateStatus.FAILED, "the same token more than once in one update")
        with self.engine.begin() as conn:
            current = _current_version(conn)
            if update_type is UpdateType.FULL:
                if any(e.info is None for e in entries):
                    raise ListRefused(UpdateStatus.FAILED, "a full list needs the info of every token")
                conn.execute(text("DELETE FROM local_list"))
            elif version <= current:
                raise ListRefused(UpdateStatus.VERSION_MISMATCH, f"version {version} is not above {current}")
            # straight to the driver, row by row from the entries: no second copy of a 9999-entry list
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(
                    f"INSERT INTO local_list (token_key, token, token_type, {_COLUMNS}) "
                    "VALUES (:k, :t, :y, :s, :g, :gy, :e) ON CONFLICT (token_key) DO UPDATE SET "
                    "token = excluded.token, status = excluded.status, group_token = excluded.group_token, "
                    "group_type = excluded.group_type, expires_at = excluded.expires_at",
                    (_row(e.token, e.info) for e in entries if e.info is not None))
                cursor.executemany("DELETE FROM local_list WHERE token_key = :k",
                                   ({"k": e.token.key} for e in entries if e.info is None))
            finally:
                cursor.close()
            size = int(conn.execute(text("SELECT COUNT(*) FROM local_list")).scalar_one())
            if size > max_length:
                raise ListRefused(UpdateStatus.FAILED, f"{size} entries exceed the capacity of {max_length}")
            version = version if size > 0 else 0
            conn.execute(text("UPDATE local_list_version SET version = :v"), {"v": version})
        return version, size

    def local_list_state(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            version = _current_version(conn)
            size = int(conn.execute(text("SELECT COUNT(*) FROM local_list")).scalar_one())
        return version, size


def _current_version(conn: Connection) -> int:
    """The list's version: 0 while it is empty, also where an older release stored the empty list's own."""
    version = int(conn.execute(text("SELECT version FROM local_list_version")).scalar_one())
    empty = conn.execute(text("SELECT 1 FROM local_list LIMIT 1")).first() is None
    return 0 if empty else version


def _row(token: IdToken, info: TokenInfo) -> dict[str, object]:
    group = info.group
    return {"k": token.key, "t": token.value, "y": token.type.value, "s": info.status.value,
            "g": group.value if group else None, "gy": group.type.value if group else None,
            "e": info.expires_at.isoformat() if info.expires_at else None}

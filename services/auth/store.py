"""The authorization cache and the local list in auth's SQLite file, keyed by the case-folded idTag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from services.common.contract.auth import IdTagInfo, id_tag_key


def _info(row: Any) -> IdTagInfo | None:
    if row is None:
        return None
    # IdTagInfo reads a stored date without a time zone as UTC (rows written before that rule)
    return IdTagInfo(status=row[0], parent_id_tag=row[1],
                     expiry_date=datetime.fromisoformat(row[2]) if row[2] else None)


class AuthStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def cached(self, id_tag: str) -> IdTagInfo | None:
        with self.engine.connect() as conn:
            return _info(conn.execute(text(
                "SELECT status, parent_id_tag, expiry_date FROM cache WHERE id_tag_key = :k"),
                {"k": id_tag_key(id_tag)}).first())

    def local(self, id_tag: str) -> IdTagInfo | None:
        with self.engine.connect() as conn:
            return _info(conn.execute(text(
                "SELECT status, parent_id_tag, expiry_date FROM local_list WHERE id_tag_key = :k"),
                {"k": id_tag_key(id_tag)}).first())

    def remember(self, id_tag: str, info: IdTagInfo) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO cache (id_tag_key, id_tag, status, parent_id_tag, expiry_date, updated_at) "
                "VALUES (:k, :t, :s, :p, :e, :u) "
                "ON CONFLICT (id_tag_key) DO UPDATE SET id_tag = excluded.id_tag, status = excluded.status, "
                "parent_id_tag = excluded.parent_id_tag, expiry_date = excluded.expiry_date, "
                "updated_at = excluded.updated_at"),
                {"k": id_tag_key(id_tag), "t": id_tag, "s": info.status.value, "p": info.parent_id_tag,
                 "e": info.expiry_date.isoformat() if info.expiry_date else None,
                 "u": datetime.now(UTC).isoformat()})

    def clear_cache(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM cache"))

    def local_list_state(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            version = int(conn.execute(text("SELECT version FROM local_list_version")).scalar_one())
            size = int(conn.execute(text("SELECT COUNT(*) FROM local_list")).scalar_one())
        return version, size

"""The authorization cache and the local list in auth's SQLite file, keyed by the case-folded idTag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from services.common.contract.auth import IdTagInfo, LocalListEntry, UpdateStatus, UpdateType, id_tag_key


class ListRefused(Exception):
    """A local list update that cannot be applied: nothing of it is (the SQLite transaction rolls back)."""

    def __init__(self, status: UpdateStatus, why: str) -> None:
        super().__init__(why)
        self.status = status


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

    def apply_list(self, version: int, update_type: UpdateType, entries: list[LocalListEntry], max_length: int
                   ) -> tuple[int, int]:
        """Apply a Full list or a Differential update all or nothing; returns (version, size).

        Raises ListRefused (VersionMismatch, Failed): the list is then exactly what it was.
        An empty list is version 0 (OCTT TC_042_2), stored so: the version reported is the one compared.
        """
        keys = {id_tag_key(e.id_tag) for e in entries}
        if len(keys) < len(entries):  # which of two entries for one idTag (a CiString20) would count?
            raise ListRefused(UpdateStatus.FAILED, "the same idTag more than once in one update")
        with self.engine.begin() as conn:
            current = _current_version(conn)
            if update_type is UpdateType.FULL:
                if any(e.info is None for e in entries):
                    raise ListRefused(UpdateStatus.FAILED, "a Full list needs idTagInfo for every idTag")
                conn.execute(text("DELETE FROM local_list"))
            elif version <= current:
                raise ListRefused(UpdateStatus.VERSION_MISMATCH, f"version {version} is not above {current}")
            # straight to the driver, row by row from the entries: no second copy of a 9999-entry list
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(
                    "INSERT INTO local_list (id_tag_key, id_tag, status, parent_id_tag, expiry_date) "
                    "VALUES (:k, :t, :s, :p, :e) ON CONFLICT (id_tag_key) DO UPDATE SET id_tag = excluded.id_tag, "
                    "status = excluded.status, parent_id_tag = excluded.parent_id_tag, "
                    "expiry_date = excluded.expiry_date",
                    (_row(e.id_tag, e.info) for e in entries if e.info is not None))
                cursor.executemany("DELETE FROM local_list WHERE id_tag_key = :k",
                                   ({"k": id_tag_key(e.id_tag)} for e in entries if e.info is None))
            finally:
                cursor.close()
            size = int(conn.execute(text("SELECT COUNT(*) FROM local_list")).scalar_one())
            if size > max_length:
                raise ListRefused(UpdateStatus.FAILED, f"{size} entries exceed LocalAuthListMaxLength {max_length}")
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


def _row(id_tag: str, info: IdTagInfo) -> dict[str, object]:
    return {"k": id_tag_key(id_tag), "t": id_tag, "s": info.status.value, "p": info.parent_id_tag,
            "e": info.expiry_date.isoformat() if info.expiry_date else None}

"""The installed charging profiles in smart_charging's SQLite file (`<data_dir>/smart_charging.sqlite`).

Every change is one SQLite transaction: a new profile that replaces two others replaces both
or neither, and a crash never leaves half of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import Engine, text

from services.common.contract.smart_charging import LimitProfile

from .planner import Installed
from .profiles import from_contract, to_contract


class ProfileStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> tuple[list[Installed], list[str]]:
        """The installed profiles, and a line for each row that could not be read (kept in the file)."""
        installed, unreadable = [], []
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, connector_id, session_id, body FROM profiles ORDER BY id")).all()
        for pid, connector, session_id, body in rows:
            try:
                installed.append(Installed(from_contract(int(connector), LimitProfile.model_validate_json(body)),
                                           session_id))
            except (ValidationError, ValueError) as exc:
                unreadable.append(f"profile {pid}: {exc}")
        return installed, unreadable

    def replace(self, removed: Sequence[Installed], added: Sequence[Installed]) -> None:
        with self.engine.begin() as conn:
            if removed:
                conn.execute(text("DELETE FROM profiles WHERE id = :id"), [{"id": i.profile.id} for i in removed])
            if added:
                now = datetime.now(UTC).isoformat()
                conn.execute(text(
                    "INSERT INTO profiles (id, connector_id, purpose, stack_level, session_id, body, installed_at) "
                    "VALUES (:id, :connector, :purpose, :level, :session, :body, :at)"),
                    [{"id": i.profile.id, "connector": i.profile.connector_id, "purpose": i.profile.purpose.value,
                      "level": i.profile.stack_level, "session": i.session_id,
                      "body": to_contract(i.profile).model_dump_json(exclude_none=True), "at": now} for i in added])

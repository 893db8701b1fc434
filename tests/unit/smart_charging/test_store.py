"""Profiles stored by an older version, in the shape of the protocol that set them, come back as limit profiles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from services.common.db import open_engine
from services.smart_charging.profiles import Kind, Period, Purpose, Recurrency, Schedule
from services.smart_charging.store import ProfileStore

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "smart_charging" / "migrations"
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_a_profile_stored_before_the_move_to_the_stations_words_is_read_back_the_same(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    (first / "001_profiles.sql").write_text((MIGRATIONS / "001_profiles.sql").read_text())
    engine = open_engine(tmp_path / "smart_charging.sqlite", first)
    stored = {"charging_profile_id": 7, "transaction_id": 42, "stack_level": 1, "charging_profile_purpose":
              "TxProfile", "charging_profile_kind": "Recurring", "recurrency_kind": "Weekly",
              "valid_from": "2026-11-26T10:00:00Z", "charging_schedule": {
                  "duration": 3600, "start_schedule": "2026-11-26T10:00:00Z", "charging_rate_unit": "A",
                  "min_charging_rate": 6.0,
                  "charging_schedule_period": [{"start_period": 0, "limit": 16.0, "number_phases": 3},
                                               {"start_period": 600, "limit": 32.0}]}}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO profiles VALUES (7, 1, 'TxProfile', 1, 's-1', :body, 'x')"),
                     {"body": json.dumps(stored)})
    engine.dispose()
    installed, unreadable = ProfileStore(open_engine(tmp_path / "smart_charging.sqlite", MIGRATIONS)).load()
    assert unreadable == [] and len(installed) == 1
    profile = installed[0].profile
    assert (installed[0].session_id, profile.id, profile.connector_id, profile.purpose, profile.kind,
            profile.recurrency, profile.valid_from) == ("s-1", 7, 1, Purpose.TX, Kind.RECURRING, Recurrency.WEEKLY, T0)
    assert profile.schedule == Schedule((Period(0, 16.0, 3), Period(600, 32.0)), "A", 3600, T0, 6.0)

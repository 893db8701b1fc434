"""auth's store: idTags are one card whatever their case (CiString20), expiry dates are UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from services.auth.decision import Policy, decide_offline
from services.auth.store import AuthStore
from services.common.contract.auth import AuthorizationStatus, IdTagInfo
from services.common.db import open_engine

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "auth" / "migrations"


def test_the_cache_finds_a_card_in_any_case_and_keeps_one_row(tmp_path: Path) -> None:
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    store.remember("abcd1234", IdTagInfo(status=AuthorizationStatus.ACCEPTED))
    store.remember("ABCD1234", IdTagInfo(status=AuthorizationStatus.BLOCKED))
    found = store.cached("AbCd1234")
    assert found is not None and found.status is AuthorizationStatus.BLOCKED
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM cache")).scalar_one() == 1


def test_an_expiry_date_without_a_time_zone_is_utc_and_the_card_keeps_working(tmp_path: Path) -> None:
    """Item 10: a naive expiryDate (valid per the schema) used to break the card for good."""
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    future = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None)
    past = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None)
    store.remember("LATER", IdTagInfo.model_validate({"status": "Accepted", "expiry_date": future.isoformat()}))
    store.remember("GONE", IdTagInfo.model_validate({"status": "Accepted", "expiry_date": past.isoformat()}))
    now = datetime.now(UTC)
    later, gone = store.cached("later"), store.cached("gone")
    assert later is not None and later.expiry_date is not None and later.expiry_date.tzinfo is UTC
    assert decide_offline(Policy(), None, later, now)[0].status is AuthorizationStatus.ACCEPTED
    assert decide_offline(Policy(), None, gone, now)[0].status is AuthorizationStatus.EXPIRED


def test_rows_of_the_first_schema_are_kept_by_the_migration(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    (first / "001_auth.sql").write_text((MIGRATIONS / "001_auth.sql").read_text())
    engine = open_engine(tmp_path / "auth.sqlite", first)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO cache VALUES ('Tag1', 'Accepted', NULL, '2030-01-01T00:00:00', 'x')"))
    engine.dispose()
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    found = store.cached("TAG1")
    assert found is not None and found.expiry_date == datetime(2030, 1, 1, tzinfo=UTC)

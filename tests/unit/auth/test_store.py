"""auth's store: tokens are one card whatever their case, and of their type; expiry dates are UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from services.auth.decision import Policy, decide_offline
from services.auth.store import AuthStore, ListRefused
from services.common.contract.auth import (
    AuthorizationStatus,
    IdToken,
    LocalListEntry,
    TokenInfo,
    TokenType,
    UpdateStatus,
    UpdateType,
)
from services.common.db import open_engine

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "auth" / "migrations"


def card(value: str) -> IdToken:
    return IdToken(value=value, type=TokenType.ISO14443)


def test_the_cache_finds_a_card_in_any_case_and_keeps_one_row(tmp_path: Path) -> None:
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    store.remember(card("abcd1234"), TokenInfo(status=AuthorizationStatus.ACCEPTED))
    store.remember(card("ABCD1234"), TokenInfo(status=AuthorizationStatus.BLOCKED))
    found = store.cached(card("AbCd1234"))
    assert found is not None and found.status is AuthorizationStatus.BLOCKED
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM cache")).scalar_one() == 1


def test_an_expiry_date_without_a_time_zone_is_utc_and_the_card_keeps_working(tmp_path: Path) -> None:
    """Item 10: a naive expiryDate (valid per the schema) used to break the card for good."""
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    future = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None)
    past = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None)
    store.remember(card("LATER"), TokenInfo.model_validate({"status": "accepted", "expires_at": future.isoformat()}))
    store.remember(card("GONE"), TokenInfo.model_validate({"status": "accepted", "expires_at": past.isoformat()}))
    now = datetime.now(UTC)
    later, gone = store.cached(card("later")), store.cached(card("gone"))
    assert later is not None and later.expires_at is not None and later.expires_at.tzinfo is UTC
    assert decide_offline(Policy(), None, later, now)[0].status is AuthorizationStatus.ACCEPTED
    assert decide_offline(Policy(), None, gone, now)[0].status is AuthorizationStatus.EXPIRED


def test_rows_of_the_first_schema_are_kept_by_the_migrations(tmp_path: Path) -> None:
    """Rows from before types: a card's UID in the station's own words (ConcurrentTx is in_use), group kept."""
    first = tmp_path / "first"
    first.mkdir()
    (first / "001_auth.sql").write_text((MIGRATIONS / "001_auth.sql").read_text())
    engine = open_engine(tmp_path / "auth.sqlite", first)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO cache VALUES ('Tag1', 'Accepted', NULL, '2030-01-01T00:00:00', 'x')"))
        conn.execute(text("INSERT INTO local_list VALUES ('Busy1', 'ConcurrentTx', 'FLEET', NULL)"))
    engine.dispose()
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    found = store.cached(card("TAG1"))
    assert found is not None and found.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert found.status is AuthorizationStatus.ACCEPTED
    assert store.local(card("busy1")) == TokenInfo(status=AuthorizationStatus.IN_USE, group=card("FLEET"))
    assert store.cached(IdToken(value="Tag1", type=TokenType.CENTRAL)) is None  # another kind of token


def test_the_same_value_of_two_types_is_two_tokens(tmp_path: Path) -> None:
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    store.remember(card("42"), TokenInfo(status=AuthorizationStatus.BLOCKED))
    store.remember(IdToken(value="42", type=TokenType.KEY_CODE), TokenInfo(status=AuthorizationStatus.ACCEPTED))
    assert store.cached(card("42")) == TokenInfo(status=AuthorizationStatus.BLOCKED)


def test_an_empty_list_is_version_0_and_a_differential_is_compared_with_it(tmp_path: Path) -> None:
    """Item 3: the version reported is the one compared (OCTT TC_042_2: an empty list is version 0)."""
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    accepted = TokenInfo(status=AuthorizationStatus.ACCEPTED)
    store.apply_list(5, UpdateType.FULL, [LocalListEntry(token=card("A1"), info=accepted)], 9999)
    assert store.apply_list(3, UpdateType.FULL, [], 9999) == (0, 0)
    added = [LocalListEntry(token=card("B1"), info=accepted)]
    assert store.apply_list(1, UpdateType.DIFFERENTIAL, added, 9999) == (1, 1)
    assert store.apply_list(4, UpdateType.DIFFERENTIAL, [LocalListEntry(token=card("b1"))], 9999) == (0, 0)
    assert store.local_list_state() == (0, 0)


def test_one_token_twice_in_an_update_fails_and_changes_nothing(tmp_path: Path) -> None:
    """Item 10: tokens are compared without case, so `twice1` and `TWICE1` are one card: which entry would count?"""
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    accepted = TokenInfo(status=AuthorizationStatus.ACCEPTED)
    store.apply_list(1, UpdateType.FULL, [LocalListEntry(token=card("KEEP1"), info=accepted)], 9999)
    twice = [LocalListEntry(token=card("TWICE1"), info=accepted),
             LocalListEntry(token=card("twice1"), info=TokenInfo(status=AuthorizationStatus.BLOCKED))]
    for update in (UpdateType.FULL, UpdateType.DIFFERENTIAL):
        with pytest.raises(ListRefused) as refused:
            store.apply_list(2, update, twice, 9999)
        assert refused.value.status is UpdateStatus.FAILED
    assert store.local_list_state() == (1, 1) and store.local(card("TWICE1")) is None

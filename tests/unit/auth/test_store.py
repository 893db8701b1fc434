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
    SendLocalListRequest,
    TokenInfo,
    TokenType,
    UpdateStatus,
    UpdateType,
)
from services.common.db import open_engine

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "auth" / "migrations"


def card(value: str) -> IdToken:
    return IdToken(value=value, type=TokenType.ISO14443)


def apply(store: AuthStore, version: int, update_type: UpdateType, entries: list[LocalListEntry], *,
          part: int = 0, more: bool = False, update: str = "u1", capacity: int = 9999) -> tuple[int, int]:
    return store.apply_part(SendLocalListRequest(version=version, update_type=update_type, entries=entries,
                                                 update=update, part=part, more=more), capacity)


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
    apply(store, 5, UpdateType.FULL, [LocalListEntry(token=card("A1"), info=accepted)])
    assert apply(store, 3, UpdateType.FULL, []) == (0, 0)
    added = [LocalListEntry(token=card("B1"), info=accepted)]
    assert apply(store, 1, UpdateType.DIFFERENTIAL, added) == (1, 1)
    assert apply(store, 4, UpdateType.DIFFERENTIAL, [LocalListEntry(token=card("b1"))]) == (0, 0)
    assert store.local_list_state() == (0, 0)


def test_one_token_twice_in_an_update_fails_and_changes_nothing(tmp_path: Path) -> None:
    """Item 10: tokens are compared without case, so `twice1` and `TWICE1` are one card: which entry would count?"""
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    accepted = TokenInfo(status=AuthorizationStatus.ACCEPTED)
    apply(store, 1, UpdateType.FULL, [LocalListEntry(token=card("KEEP1"), info=accepted)])
    twice = [LocalListEntry(token=card("TWICE1"), info=accepted),
             LocalListEntry(token=card("twice1"), info=TokenInfo(status=AuthorizationStatus.BLOCKED))]
    for update in (UpdateType.FULL, UpdateType.DIFFERENTIAL):
        with pytest.raises(ListRefused) as refused:
            apply(store, 2, update, twice)
        assert refused.value.status is UpdateStatus.FAILED
    assert store.local_list_state() == (1, 1) and store.local(card("TWICE1")) is None


def test_an_update_in_parts_is_in_force_only_with_its_last_part(tmp_path: Path) -> None:
    """Issue 16 item 20: a 9999-entry list comes in parts so that no process holds all of it; until the last part
    a lookup sees the old list, and the last part brings in the whole update at once."""
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    accepted = TokenInfo(status=AuthorizationStatus.ACCEPTED)
    apply(store, 1, UpdateType.FULL, [LocalListEntry(token=card("OLD1"), info=accepted)])
    first = [LocalListEntry(token=card(f"NEW{i}"), info=accepted) for i in range(3)]
    assert apply(store, 2, UpdateType.FULL, first, update="u2", more=True) == (1, 1)
    assert store.local(card("OLD1")) == accepted and store.local(card("NEW0")) is None
    last = [LocalListEntry(token=card("NEW3"), info=accepted)]
    assert apply(store, 2, UpdateType.FULL, last, update="u2", part=1) == (2, 4)
    assert store.local(card("OLD1")) is None and store.local(card("new0")) == accepted
    # a differential in parts: additions and removals from every part
    removal = [LocalListEntry(token=card("NEW0")), LocalListEntry(token=card("ADD1"), info=accepted)]
    assert apply(store, 3, UpdateType.DIFFERENTIAL, removal, update="u3", more=True) == (2, 4)
    assert apply(store, 3, UpdateType.DIFFERENTIAL, [LocalListEntry(token=card("NEW1"))], update="u3", part=1) \
        == (3, 3)
    assert {t for t in ("NEW0", "NEW1", "NEW2", "NEW3", "ADD1") if store.local(card(t))} == {"NEW2", "NEW3", "ADD1"}


@pytest.mark.parametrize("broken", ["twice across parts", "part skipped", "another update", "over capacity",
                                    "another version", "another kind"])
def test_an_update_whose_parts_do_not_fit_changes_nothing_and_is_dropped(tmp_path: Path, broken: str) -> None:
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    accepted = TokenInfo(status=AuthorizationStatus.ACCEPTED)
    apply(store, 1, UpdateType.FULL, [LocalListEntry(token=card("KEEP1"), info=accepted)])
    apply(store, 2, UpdateType.FULL, [LocalListEntry(token=card("P1"), info=accepted)], update="u2", more=True)
    token, part, update, capacity, version, kind = {
        "twice across parts": ("p1", 1, "u2", 9999, 2, UpdateType.FULL),
        "part skipped": ("P3", 2, "u2", 9999, 2, UpdateType.FULL),
        "another update": ("P2", 1, "u9", 9999, 2, UpdateType.FULL),
        "over capacity": ("P2", 1, "u2", 1, 2, UpdateType.FULL),
        "another version": ("P2", 1, "u2", 9999, 3, UpdateType.FULL),
        "another kind": ("P2", 1, "u2", 9999, 2, UpdateType.DIFFERENTIAL)}[broken]
    with pytest.raises(ListRefused) as refused:
        apply(store, version, kind, [LocalListEntry(token=card(token), info=accepted)], part=part, update=update,
              capacity=capacity)
    assert refused.value.status is UpdateStatus.FAILED
    assert store.local_list_state() == (1, 1) and store.local(card("KEEP1")) == accepted
    # dropped: its next part does not bring it back
    with pytest.raises(ListRefused):
        apply(store, 2, UpdateType.FULL, [LocalListEntry(token=card("P4"), info=accepted)], update="u2", part=2)
    assert store.local(card("P1")) is None and store.local_list_state() == (1, 1)


def test_a_restarted_auth_does_not_go_on_with_an_update_it_was_given_in_part(tmp_path: Path) -> None:
    accepted = TokenInfo(status=AuthorizationStatus.ACCEPTED)
    store = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    apply(store, 2, UpdateType.FULL, [LocalListEntry(token=card("P1"), info=accepted)], update="u2", more=True)
    again = AuthStore(open_engine(tmp_path / "auth.sqlite", MIGRATIONS))
    again.drop_staged()  # as the service does at its start
    with pytest.raises(ListRefused):
        apply(again, 2, UpdateType.FULL, [LocalListEntry(token=card("P2"), info=accepted)], update="u2", part=1)
    with again.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM local_list_staging")).scalar_one() == 0
    assert again.local_list_state() == (0, 0)

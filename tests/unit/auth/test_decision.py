"""The authorization decision, online and offline, with expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.auth.decision import Policy, decide_offline, decide_online, describe
from services.common.contract.auth import AuthorizationStatus, AuthSource, TokenInfo

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ACCEPTED = TokenInfo(status=AuthorizationStatus.ACCEPTED)
BLOCKED = TokenInfo(status=AuthorizationStatus.BLOCKED)
EXPIRED_ENTRY = TokenInfo(status=AuthorizationStatus.ACCEPTED, expires_at=NOW - timedelta(seconds=1))


def test_online_pre_authorize_uses_accepted_local_entries_only() -> None:
    assert decide_online(Policy(), None, ACCEPTED, NOW) == (ACCEPTED, AuthSource.CACHE)
    assert decide_online(Policy(), ACCEPTED, BLOCKED, NOW) == (ACCEPTED, AuthSource.LOCAL_LIST)
    assert decide_online(Policy(), None, BLOCKED, NOW) is None  # ask the CSMS
    assert decide_online(Policy(), None, EXPIRED_ENTRY, NOW) is None
    assert decide_online(Policy(local_first=False), ACCEPTED, None, NOW) is None
    assert decide_online(Policy(authorization_cache=False), None, ACCEPTED, NOW) is None


def test_offline() -> None:
    assert decide_offline(Policy(), None, ACCEPTED, NOW) == (ACCEPTED, AuthSource.CACHE)
    info, source = decide_offline(Policy(), None, EXPIRED_ENTRY, NOW)
    assert info.status is AuthorizationStatus.EXPIRED and source is AuthSource.CACHE
    info, source = decide_offline(Policy(), None, None, NOW)
    assert info.status is AuthorizationStatus.INVALID and source is AuthSource.OFFLINE_POLICY
    info, _ = decide_offline(Policy(unknown_when_offline=True), None, None, NOW)
    assert info.status is AuthorizationStatus.ACCEPTED
    info, _ = decide_offline(Policy(local_when_offline=False), None, ACCEPTED, NOW)
    assert info.status is AuthorizationStatus.INVALID


def test_a_decision_in_words_says_who_decided_and_why() -> None:
    assert describe(BLOCKED, AuthSource.LOCAL_LIST, False) == "the local list says blocked"
    assert describe(TokenInfo(status=AuthorizationStatus.INVALID), AuthSource.CSMS, False) == \
        "the CSMS answered invalid"
    info, source = decide_offline(Policy(), None, None, NOW)
    assert describe(info, source, False) == "unknown card, unknown_when_offline=false: invalid"

"""The authorization decision, online and offline, with expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.auth.decision import Policy, decide_offline, decide_online, describe
from services.common.contract.auth import AuthorizationStatus, AuthSource, IdTagInfo

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ACCEPTED = IdTagInfo(status=AuthorizationStatus.ACCEPTED)
BLOCKED = IdTagInfo(status=AuthorizationStatus.BLOCKED)
EXPIRED_ENTRY = IdTagInfo(status=AuthorizationStatus.ACCEPTED, expiry_date=NOW - timedelta(seconds=1))


def test_online_pre_authorize_uses_accepted_local_entries_only() -> None:
    assert decide_online(Policy(), None, ACCEPTED, NOW) == (ACCEPTED, AuthSource.CACHE)
    assert decide_online(Policy(), ACCEPTED, BLOCKED, NOW) == (ACCEPTED, AuthSource.LOCAL_LIST)
    assert decide_online(Policy(), None, BLOCKED, NOW) is None  # ask the CSMS
    assert decide_online(Policy(), None, EXPIRED_ENTRY, NOW) is None
    assert decide_online(Policy(local_pre_authorize=False), ACCEPTED, None, NOW) is None
    assert decide_online(Policy(authorization_cache_enabled=False), None, ACCEPTED, NOW) is None


def test_offline() -> None:
    assert decide_offline(Policy(), None, ACCEPTED, NOW) == (ACCEPTED, AuthSource.CACHE)
    info, source = decide_offline(Policy(), None, EXPIRED_ENTRY, NOW)
    assert info.status is AuthorizationStatus.EXPIRED and source is AuthSource.CACHE
    info, source = decide_offline(Policy(), None, None, NOW)
    assert info.status is AuthorizationStatus.INVALID and source is AuthSource.OFFLINE_POLICY
    info, _ = decide_offline(Policy(allow_offline_tx_for_unknown_id=True), None, None, NOW)
    assert info.status is AuthorizationStatus.ACCEPTED
    info, _ = decide_offline(Policy(local_authorize_offline=False), None, ACCEPTED, NOW)
    assert info.status is AuthorizationStatus.INVALID


def test_a_decision_in_words_says_who_decided_and_why() -> None:
    assert describe(BLOCKED, AuthSource.LOCAL_LIST, False) == "the local list says Blocked"
    assert describe(IdTagInfo(status=AuthorizationStatus.INVALID), AuthSource.CSMS, False) == \
        "the CSMS answered Invalid"
    info, source = decide_offline(Policy(), None, None, NOW)
    assert describe(info, source, False) == "unknown card, AllowOfflineTxForUnknownId=false: Invalid"

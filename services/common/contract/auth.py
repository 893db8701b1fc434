"""Authorization topics: the decision for a token, the cache and the local list."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Never

from pydantic import Field, field_validator

from .base import Empty, Kind, Model, Topic


class TokenType(StrEnum):
    """How a token identifies its holder."""

    ISO14443 = "iso14443"  # the UID of a contactless card (what the station's reader reads)
    ISO15693 = "iso15693"
    CENTRAL = "central"  # made up by the CSMS (e.g. a start from an app)
    EMAID = "emaid"  # e-mobility account id
    KEY_CODE = "key_code"
    LOCAL = "local"
    MAC_ADDRESS = "mac_address"
    NO_AUTHORIZATION = "no_authorization"


class IdToken(Model):
    """Who asks to charge: a value and what kind of value it is."""

    value: str = Field(min_length=1, max_length=36)
    type: TokenType

    @property
    def key(self) -> str:
        """The form two tokens are compared in: the value without case (`abcd1234` is `ABCD1234`), and its type."""
        return f"{self.type.value}:{self.value.casefold()}"


def same_token(a: IdToken | None, b: IdToken | None) -> bool:
    return a is not None and b is not None and a.key == b.key


class AuthorizationStatus(StrEnum):
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    INVALID = "invalid"
    IN_USE = "in_use"  # already charging elsewhere, and may not twice at once


class AuthSource(StrEnum):
    CSMS = "csms"  # asked the Central System
    LOCAL_LIST = "local_list"
    CACHE = "cache"
    OFFLINE_POLICY = "offline_policy"  # offline and unknown: the unknown_when_offline setting decided


class TokenInfo(Model):
    """What is known of a token: may it charge, in which group, until when."""

    status: AuthorizationStatus
    group: IdToken | None = Field(None, description="Tokens of one group may stop each other's sessions.")
    expires_at: datetime | None = Field(None, description="UTC; a date sent without a time zone is read as UTC.")

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # comparing a naive date with an aware one would fail for good
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class AuthorizeRequest(Model):
    token: IdToken
    connector_id: int = Field(0, ge=0)


class AuthorizeDecision(Model):
    token: IdToken
    info: TokenInfo
    source: AuthSource


class Decided(Model):
    """One authorization decision, for a technician (a refused card otherwise leaves no trace)."""

    token: IdToken
    connector_id: int = Field(ge=0)
    status: AuthorizationStatus
    source: AuthSource
    at: datetime
    reason: str = Field("", description="In words, for a technician: who decided and on what ground.")


class CacheCleared(Model):
    accepted: bool = Field(description="False when the cache is switched off.")


class LocalListState(Model):
    version: int
    size: int


class UpdateType(StrEnum):
    FULL = "full"  # the list becomes exactly these entries
    DIFFERENTIAL = "differential"  # these entries are added, replaced or (without info) removed


class UpdateStatus(StrEnum):
    ACCEPTED = "accepted"
    FAILED = "failed"
    NOT_SUPPORTED = "not_supported"  # the local list is switched off
    VERSION_MISMATCH = "version_mismatch"


class LocalListEntry(Model):
    token: IdToken
    info: TokenInfo | None = Field(None, description="None in a differential update: remove the token.")


LIST_PART_ENTRIES = 250  # entries per send_local_list command: what either side holds as objects at once


class SendLocalListRequest(Model):
    """One part of a local list update. A long update comes in parts, in order, each with the same `update`
    id; nothing of it is in force until its last part (`more` false) arrives, and then all of it is."""

    version: int = Field(ge=0)
    update_type: UpdateType
    entries: list[LocalListEntry] = Field(default_factory=list, max_length=LIST_PART_ENTRIES)
    update: str = Field("", max_length=64, description="Names the update its parts belong to.")
    part: int = Field(0, ge=0, description="0 for the first part of an update, then 1, 2, ...")
    more: bool = Field(False, description="True: more parts follow, so this one is only staged.")


class SendLocalListReply(Model):
    status: UpdateStatus
    version: int = Field(description="The version in force after the request (-1: the local list is disabled).")
    size: int = Field(ge=0)


class LocalListVersion(Model):
    version: int = Field(description="0: the list is empty; -1: the local list is switched off (local_list).")
    size: int = Field(0, ge=0, description="Entries on the list.")


class LookupRequest(Model):
    token: IdToken


class LookupReply(Model):
    token: IdToken
    local: TokenInfo | None = Field(description="Its local list entry, if any.")
    cached: TokenInfo | None = Field(description="Its authorization cache entry, if any.")
    list_version: int


class ListConflict(Model):
    token: IdToken
    connector_id: int = Field(ge=0)
    local: TokenInfo = Field(description="What the local list says.")
    csms: TokenInfo = Field(description="What the CSMS answered instead.")


_CARD = {"value": "04A2B3C4", "type": "iso14443"}

AUTHORIZE = Topic(
    "chargebus/auth/cmd/authorize", Kind.CMD, AuthorizeRequest, reply=AuthorizeDecision, owner="auth",
    subscribers=("ocpp_gateway",),
    doc="Decide for a token. Online: local list and cache first (local_first), else the CSMS through the "
    "gateway. Offline: local list and cache (local_when_offline), unknown tokens by unknown_when_offline.",
    example={"token": _CARD, "connector_id": 1},
)
CLEAR_CACHE = Topic(
    "chargebus/auth/cmd/clear_cache", Kind.CMD, Empty, reply=CacheCleared, owner="auth",
    subscribers=("ocpp_gateway",), doc="Empty the authorization cache (the local list stays).",
    example={},
)
SEND_LOCAL_LIST = Topic(
    "chargebus/auth/cmd/send_local_list", Kind.CMD, SendLocalListRequest, reply=SendLocalListReply, owner="auth",
    subscribers=("ocpp_gateway",), max_bytes=256 * 1024,
    doc="A full list or a differential update, applied all or nothing (one SQLite transaction). A long update "
    "(9999 entries) comes in parts of up to 250 entries, sent one after the other: a part with more=true is "
    "staged and answered accepted, the last part applies the whole update. version_mismatch for a differential "
    "version not above the current one; failed beyond local_list_capacity, for a token twice in one update, or "
    "for a part out of order or of another version or kind than the first (the update is then dropped); "
    "not_supported while the local list is switched off.",
    example={"version": 4, "update_type": "differential", "update": "5f0c2a", "part": 0, "more": False,
             "entries": [
        {"token": _CARD, "info": {"status": "accepted", "group": {"value": "FLEET1", "type": "central"},
                                  "expires_at": None}},
        {"token": {"value": "DEADBEEF", "type": "iso14443"}, "info": None}]},
)
GET_LOCAL_LIST_VERSION = Topic(
    "chargebus/auth/cmd/get_local_list_version", Kind.CMD, Empty, reply=LocalListVersion, owner="auth",
    subscribers=("ocpp_gateway", "cli"),
    doc="The version of the local list in force, -1 while the list is switched off.",
    example={},
)
LOOKUP = Topic(
    "chargebus/auth/cmd/lookup", Kind.CMD, LookupRequest, reply=LookupReply, owner="auth",
    subscribers=("cli",), doc="What the local list and the cache know of a token (no decision, no CSMS).",
    example={"token": _CARD},
)
DECIDED: Topic[Decided, Never] = Topic(
    "chargebus/auth/event/decided", Kind.EVENT, Decided, owner="auth", private=True, subscribers=("api", "cli"),
    doc="Every authorization decision with where it came from (local list, cache, CSMS, offline policy). The token "
    "is personal data: the api shows it to an authenticated user only.",
    example={"token": _CARD, "connector_id": 1, "status": "blocked", "source": "local_list",
             "at": "2026-11-26T17:00:00Z"},
)
LAST_DECISION: Topic[Decided, Never] = Topic(
    "chargebus/auth/state/last_decision", Kind.STATE, Decided, owner="auth", retain=True,
    private=True, subscribers=("api", "cli"),
    doc="The latest authorization decision (as the decided event), kept so that `chargebus status` and the page "
    "show why the last card was refused even after the fact.",
    example={"token": _CARD, "connector_id": 1, "status": "invalid", "source": "csms",
             "at": "2026-11-26T17:00:00Z", "reason": "the CSMS answered invalid"},
)
LOCAL_LIST_CONFLICT: Topic[ListConflict, Never] = Topic(
    "chargebus/auth/event/local_list_conflict", Kind.EVENT, ListConflict, owner="auth",
    private=True, subscribers=("ocpp_gateway", "api"),
    doc="The CSMS answered differently from a valid local list entry: the gateway reports the conflict to it.",
    example={"token": _CARD, "connector_id": 1,
             "local": {"status": "accepted", "group": None, "expires_at": None},
             "csms": {"status": "blocked", "group": None, "expires_at": None}},
)
LOCAL_LIST: Topic[LocalListState, Never] = Topic(
    "chargebus/auth/state/local_list", Kind.STATE, LocalListState, owner="auth", retain=True,
    subscribers=("ocpp_gateway", "api"), doc="Version and size of the local authorization list.",
    example={"version": 3, "size": 120},
)

"""Authorization topics: the decision for an idTag, the cache and the local list."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Never

from pydantic import Field, field_validator

from .base import Empty, Kind, Model, Topic


class AuthorizationStatus(StrEnum):
    """OCPP 1.6 AuthorizationStatus."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


class AuthSource(StrEnum):
    CSMS = "csms"  # Authorize.req answered by the Central System
    LOCAL_LIST = "local_list"
    CACHE = "cache"
    OFFLINE_POLICY = "offline_policy"  # offline and unknown: AllowOfflineTxForUnknownId decided


def id_tag_key(id_tag: str) -> str:
    """The form two idTags are compared in: IdToken is CiString20, so `abcd1234` and `ABCD1234` are one card."""
    return id_tag.casefold()


def same_id_tag(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and id_tag_key(a) == id_tag_key(b)


class IdTagInfo(Model):
    """OCPP IdTagInfo, snake_case."""

    status: AuthorizationStatus
    parent_id_tag: str | None = Field(None, max_length=20)
    expiry_date: datetime | None = Field(None, description="UTC; a date the CSMS sent without a time zone is "
                                         "read as UTC.")

    @field_validator("expiry_date")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # the OCPP schema's date-time allows no offset; comparing naive with aware would fail for good
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class AuthorizeRequest(Model):
    id_tag: str = Field(min_length=1, max_length=20)
    connector_id: int = Field(0, ge=0)


class AuthorizeDecision(Model):
    id_tag: str
    info: IdTagInfo
    source: AuthSource


class Decided(Model):
    """One authorization decision, for a technician (a refused card otherwise leaves no trace)."""

    id_tag: str
    connector_id: int = Field(ge=0)
    status: AuthorizationStatus
    source: AuthSource
    at: datetime
    reason: str = Field("", description="In words, for a technician: who decided and on what ground.")


class CacheCleared(Model):
    accepted: bool = Field(description="False when the cache is disabled (ClearCache answers Rejected).")


class LocalListState(Model):
    version: int
    size: int


class UpdateType(StrEnum):
    """OCPP 1.6 UpdateType of SendLocalList."""

    FULL = "Full"
    DIFFERENTIAL = "Differential"


class UpdateStatus(StrEnum):
    """OCPP 1.6 UpdateStatus of SendLocalList.conf."""

    ACCEPTED = "Accepted"
    FAILED = "Failed"
    NOT_SUPPORTED = "NotSupported"
    VERSION_MISMATCH = "VersionMismatch"


class LocalListEntry(Model):
    id_tag: str = Field(min_length=1, max_length=20)
    info: IdTagInfo | None = Field(None, description="None in a Differential update: remove the idTag.")


class SendLocalListRequest(Model):
    version: int = Field(ge=0)
    update_type: UpdateType
    entries: list[LocalListEntry] = Field(default_factory=list, max_length=100_000)


class SendLocalListReply(Model):
    status: UpdateStatus
    version: int = Field(description="The version in force after the request (-1: the local list is disabled).")
    size: int = Field(ge=0)


class LocalListVersion(Model):
    version: int = Field(description="0: the list is empty; -1: the local list is disabled (LocalAuthListEnabled).")
    size: int = Field(0, ge=0, description="Entries on the list.")


class LookupRequest(Model):
    id_tag: str = Field(min_length=1, max_length=20)


class LookupReply(Model):
    id_tag: str
    local: IdTagInfo | None = Field(description="Its local list entry, if any.")
    cached: IdTagInfo | None = Field(description="Its authorization cache entry, if any.")
    list_version: int


class LocalListConflict(Model):
    id_tag: str
    connector_id: int = Field(ge=0)
    local: IdTagInfo = Field(description="What the local list says.")
    csms: IdTagInfo = Field(description="What the CSMS answered instead.")


AUTHORIZE = Topic(
    "chargebus/auth/cmd/authorize", Kind.CMD, AuthorizeRequest, reply=AuthorizeDecision, owner="auth",
    subscribers=("ocpp_gateway",),
    doc="Decide for an idTag. Online: local list (LocalPreAuthorize), cache, else Authorize.req through the "
    "gateway. Offline: local list/cache (LocalAuthorizeOffline), unknown tags by AllowOfflineTxForUnknownId.",
    example={"id_tag": "04A2B3C4", "connector_id": 1},
)
CLEAR_CACHE = Topic(
    "chargebus/auth/cmd/clear_cache", Kind.CMD, Empty, reply=CacheCleared, owner="auth",
    subscribers=("ocpp_gateway",), doc="ClearCache.req: empty the authorization cache (the local list stays).",
    example={},
)
SEND_LOCAL_LIST = Topic(
    "chargebus/auth/cmd/send_local_list", Kind.CMD, SendLocalListRequest, reply=SendLocalListReply, owner="auth",
    subscribers=("ocpp_gateway",), max_bytes=4 * 1024 * 1024,
    doc="SendLocalList.req: a Full list or a Differential update, applied all or nothing (one SQLite transaction). "
    "VersionMismatch for a differential version not above the current one; Failed beyond SendLocalListMaxLength "
    "or LocalAuthListMaxLength; NotSupported while LocalAuthListEnabled is false. Up to 9999 entries (~1.2 MB).",
    example={"version": 4, "update_type": "Differential", "entries": [
        {"id_tag": "04A2B3C4", "info": {"status": "Accepted", "parent_id_tag": "FLEET1", "expiry_date": None}},
        {"id_tag": "DEADBEEF", "info": None}]},
)
GET_LOCAL_LIST_VERSION = Topic(
    "chargebus/auth/cmd/get_local_list_version", Kind.CMD, Empty, reply=LocalListVersion, owner="auth",
    subscribers=("ocpp_gateway", "cli"),
    doc="GetLocalListVersion.req: the version in force, -1 while the list is disabled.",
    example={},
)
LOOKUP = Topic(
    "chargebus/auth/cmd/lookup", Kind.CMD, LookupRequest, reply=LookupReply, owner="auth",
    subscribers=("cli",), doc="What the local list and the cache know of an idTag (no decision, no CSMS).",
    example={"id_tag": "04A2B3C4"},
)
DECIDED: Topic[Decided, Never] = Topic(
    "chargebus/auth/event/decided", Kind.EVENT, Decided, owner="auth", private=True, subscribers=("api", "cli"),
    doc="Every authorization decision with where it came from (local list, cache, CSMS, offline policy). The idTag "
    "is personal data: the api shows it to an authenticated user only.",
    example={"id_tag": "04A2B3C4", "connector_id": 1, "status": "Blocked", "source": "local_list",
             "at": "2026-11-26T17:00:00Z"},
)
LAST_DECISION: Topic[Decided, Never] = Topic(
    "chargebus/auth/state/last_decision", Kind.STATE, Decided, owner="auth", retain=True,
    private=True, subscribers=("api", "cli"),
    doc="The latest authorization decision (as the decided event), kept so that `chargebus status` and the page "
    "show why the last card was refused even after the fact.",
    example={"id_tag": "04A2B3C4", "connector_id": 1, "status": "Invalid", "source": "csms",
             "at": "2026-11-26T17:00:00Z", "reason": "the CSMS answered Invalid"},
)
LOCAL_LIST_CONFLICT: Topic[LocalListConflict, Never] = Topic(
    "chargebus/auth/event/local_list_conflict", Kind.EVENT, LocalListConflict, owner="auth",
    private=True, subscribers=("ocpp_gateway", "api"),
    doc="The CSMS answered (Authorize, StartTransaction) differently from a valid local list entry: the gateway "
    "reports it with a StatusNotification errorCode LocalListConflict.",
    example={"id_tag": "04A2B3C4", "connector_id": 1,
             "local": {"status": "Accepted", "parent_id_tag": None, "expiry_date": None},
             "csms": {"status": "Blocked", "parent_id_tag": None, "expiry_date": None}},
)
LOCAL_LIST: Topic[LocalListState, Never] = Topic(
    "chargebus/auth/state/local_list", Kind.STATE, LocalListState, owner="auth", retain=True,
    subscribers=("api",), doc="Version and size of the local authorization list.",
    example={"version": 3, "size": 120},
)

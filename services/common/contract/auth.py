"""Authorization topics: the decision for an idTag, the cache and the local list."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

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


class CacheCleared(Model):
    accepted: bool = Field(description="False when the cache is disabled (ClearCache answers Rejected).")


class LocalListState(Model):
    version: int
    size: int


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
LOCAL_LIST = Topic(
    "chargebus/auth/state/local_list", Kind.STATE, LocalListState, owner="auth", retain=True,
    subscribers=("api",), doc="Version and size of the local authorization list.",
    example={"version": 3, "size": 120},
)

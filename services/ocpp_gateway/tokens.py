"""1.6 idTags and IdTagInfo as the station's tokens: the mapping, both ways, in one place.

A 1.6 idTag carries no type. The station's reader reads contactless cards, and every idTag a 1.6 CSMS
names (in a remote start, a local list, a reservation) is compared with what the reader read, so all of
them are one kind of token: iso14443. A token of another kind (never from this gateway's own peers) has no
1.6 idTag.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.common.contract.auth import AuthorizationStatus, IdToken, TokenInfo, TokenType, UpdateStatus

log = logging.getLogger(__name__)

TOKEN_TYPE = TokenType.ISO14443
MAX_ID_TAG = 20  # IdToken is CiString20Type in 1.6
_STATUSES = {"Accepted": AuthorizationStatus.ACCEPTED, "Blocked": AuthorizationStatus.BLOCKED,
             "Expired": AuthorizationStatus.EXPIRED, "Invalid": AuthorizationStatus.INVALID,
             "ConcurrentTx": AuthorizationStatus.IN_USE}
UPDATE_STATUSES = {UpdateStatus.ACCEPTED: "Accepted", UpdateStatus.FAILED: "Failed",
                   UpdateStatus.NOT_SUPPORTED: "NotSupported", UpdateStatus.VERSION_MISMATCH: "VersionMismatch"}


def token(id_tag: str) -> IdToken:
    return IdToken(value=id_tag, type=TOKEN_TYPE)


def id_tag(token: IdToken) -> str | None:
    """The idTag a 1.6 CSMS knows this token by; None for a token no 1.6 message can carry."""
    if token.type is not TOKEN_TYPE or len(token.value) > MAX_ID_TAG:
        return None
    return token.value


def same_tag(a: str | None, b: str | None) -> bool:
    """One card whatever the case it is read in: IdToken is a CiString."""
    return a is not None and b is not None and a.casefold() == b.casefold()


def info(raw: dict[str, Any]) -> TokenInfo:
    """An IdTagInfo (snake_case, as the `ocpp` library hands it over, or camelCase from a raw payload).

    Raises ValueError for one the station cannot use (an unknown status, an expiryDate that is no date).
    """
    status = _STATUSES.get(raw.get("status", ""))
    if status is None:
        raise ValueError(f"unknown idTagInfo status {raw.get('status')!r}")
    parent = raw.get("parent_id_tag", raw.get("parentIdTag"))
    try:
        return TokenInfo(status=status, group=token(parent) if parent else None,
                         expires_at=raw.get("expiry_date", raw.get("expiryDate")))
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def info_or_none(raw: Any) -> TokenInfo | None:
    """The IdTagInfo of a CSMS answer, or None (logged) when it has none the station can use."""
    if not isinstance(raw, dict) or "status" not in raw:
        return None
    try:
        return info(raw)
    except ValueError as exc:
        log.warning("unusable idTagInfo from the CSMS: %s", exc)
        return None


def parent(found: TokenInfo | None) -> str | None:
    """The parentIdTag of what is known of a token."""
    return found.group.value if found is not None and found.group is not None else None


def utc_date(value: str) -> datetime:
    """A 1.6 dateTime as an IdTagInfo's expiryDate is read: without a time zone it is UTC. ValueError if none."""
    expires = info({"status": "Accepted", "expiry_date": value}).expires_at
    assert expires is not None
    return expires

"""OCPP 2.0.1 IdToken and IdTokenInfo (C, D) in the station's terms: a token is a value and its type, as on the
bus; what a CSMS says of it comes down to whether it may charge, its group and until when.

2.0.1 says more than the services need. ConcurrentTx is `in_use`; the refusals the station cannot act on one by
one (Unknown, NoCredit, NotAllowedTypeEVSE, NotAtThisLocation, NotAtThisTime) are `invalid`: no charge.
"""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call
from ocpp.v201.enums import AuthorizationStatusEnumType as Status
from pydantic import ValidationError

from services.common.contract.auth import AuthorizationStatus, IdToken, TokenInfo, TokenType

from ..link import Link

TOKEN_TYPES = {TokenType.ISO14443: "ISO14443", TokenType.ISO15693: "ISO15693", TokenType.CENTRAL: "Central",
               TokenType.EMAID: "eMAID", TokenType.KEY_CODE: "KeyCode", TokenType.LOCAL: "Local",
               TokenType.MAC_ADDRESS: "MacAddress", TokenType.NO_AUTHORIZATION: "NoAuthorization"}
_TYPES_BACK = {name: kind for kind, name in TOKEN_TYPES.items()}
STATUSES = {Status.accepted: AuthorizationStatus.ACCEPTED, Status.blocked: AuthorizationStatus.BLOCKED,
            Status.concurrent_tx: AuthorizationStatus.IN_USE, Status.expired: AuthorizationStatus.EXPIRED,
            Status.invalid: AuthorizationStatus.INVALID, Status.no_credit: AuthorizationStatus.INVALID,
            Status.not_allowed_type_evse: AuthorizationStatus.INVALID,
            Status.not_at_this_location: AuthorizationStatus.INVALID,
            Status.not_at_this_time: AuthorizationStatus.INVALID, Status.unknown: AuthorizationStatus.INVALID}


def id_token(token: IdToken) -> dict[str, Any]:
    """The IdToken a message carries (the `ocpp` library's snake_case)."""
    return {"id_token": token.value, "type": TOKEN_TYPES[token.type]}


def token(raw: dict[str, Any]) -> IdToken:
    """A received IdToken; ValueError for a type or a value the station does not take."""
    kind = _TYPES_BACK.get(raw.get("type", ""))
    if kind is None:
        raise ValueError(f"unknown IdToken type {raw.get('type')!r}")
    try:
        return IdToken(value=raw.get("id_token", ""), type=kind)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def info(raw: dict[str, Any]) -> TokenInfo:
    """A received IdTokenInfo; ValueError for one the station cannot use (an unknown status, a bad date)."""
    status = STATUSES.get(raw.get("status", ""))
    if status is None:
        raise ValueError(f"unknown idTokenInfo status {raw.get('status')!r}")
    group = raw.get("group_id_token")
    try:
        return TokenInfo(status=status, group=token(group) if group else None,
                         expires_at=raw.get("cache_expiry_date_time"))
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


async def authorize(link: Link, token: IdToken) -> TokenInfo:
    """Authorize (C01) on the 2.0.1 link: what the CSMS says of the token, in the services' terms. Raises the
    link's CsmsUnavailable or CsmsCallError, and ValueError for an answer the station cannot use."""
    conf = await link.call(call.Authorize(id_token=id_token(token)), timeout=30)
    return info(conf.id_token_info)

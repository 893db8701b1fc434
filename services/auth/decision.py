"""The authorization decision of OCPP 1.6 §3.5, as a pure function of what is known about an idTag.

Online, with LocalPreAuthorize, the local list decides (an Accepted entry starts at once, a Blocked,
Expired or Invalid one refuses: the list is the CSMS's own word), and an Accepted cache entry starts
at once; anything else goes to the CSMS. Offline (or when the CSMS does not answer),
LocalAuthorizeOffline lets the list and the cache decide, and an unknown idTag is Accepted only with
AllowOfflineTxForUnknownId. The list always wins over the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.contract.auth import AuthorizationStatus, AuthSource, IdTagInfo


@dataclass(frozen=True)
class Policy:
    authorization_cache_enabled: bool = True
    local_auth_list_enabled: bool = True
    local_pre_authorize: bool = True
    local_authorize_offline: bool = True
    allow_offline_tx_for_unknown_id: bool = False


ASK_CSMS = None


def effective(info: IdTagInfo, now: datetime) -> IdTagInfo:
    """An Accepted entry whose expiryDate has passed is Expired."""
    if info.status is AuthorizationStatus.ACCEPTED and info.expiry_date is not None and info.expiry_date <= now:
        return IdTagInfo(status=AuthorizationStatus.EXPIRED, parent_id_tag=info.parent_id_tag,
                         expiry_date=info.expiry_date)
    return info


def known(policy: Policy, local: IdTagInfo | None, cached: IdTagInfo | None, now: datetime
          ) -> tuple[IdTagInfo, AuthSource] | None:
    """What the local list (first) or the cache says, if either is enabled and knows the tag."""
    if policy.local_auth_list_enabled and local is not None:
        return effective(local, now), AuthSource.LOCAL_LIST
    if policy.authorization_cache_enabled and cached is not None:
        return effective(cached, now), AuthSource.CACHE
    return None


def decide_online(policy: Policy, local: IdTagInfo | None, cached: IdTagInfo | None, now: datetime
                  ) -> tuple[IdTagInfo, AuthSource] | None:
    """A local answer when pre-authorisation allows one; None means: ask the CSMS."""
    if not policy.local_pre_authorize:
        return ASK_CSMS
    if policy.local_auth_list_enabled and local is not None:
        return effective(local, now), AuthSource.LOCAL_LIST
    found = known(policy, local, cached, now)
    if found is not None and found[0].status is AuthorizationStatus.ACCEPTED:
        return found
    return ASK_CSMS


def conflicts(local: IdTagInfo | None, csms: IdTagInfo, now: datetime) -> bool:
    """The CSMS answered otherwise than a valid local list entry says (reported as LocalListConflict)."""
    if local is None:
        return False
    return (effective(local, now).status is AuthorizationStatus.ACCEPTED) != (
        csms.status is AuthorizationStatus.ACCEPTED)


def decide_offline(policy: Policy, local: IdTagInfo | None, cached: IdTagInfo | None, now: datetime
                   ) -> tuple[IdTagInfo, AuthSource]:
    if policy.local_authorize_offline:
        found = known(policy, local, cached, now)
        if found is not None:
            return found
    status = AuthorizationStatus.ACCEPTED if policy.allow_offline_tx_for_unknown_id else AuthorizationStatus.INVALID
    return IdTagInfo(status=status), AuthSource.OFFLINE_POLICY


_SAYS = {AuthSource.CSMS: "the CSMS answered", AuthSource.LOCAL_LIST: "the local list says",
         AuthSource.CACHE: "the authorization cache says"}


def describe(info: IdTagInfo, source: AuthSource, allow_unknown_offline: bool) -> str:
    """A decision in words, for `chargebus status` and the page."""
    if source is AuthSource.OFFLINE_POLICY:
        return f"unknown card, AllowOfflineTxForUnknownId={str(allow_unknown_offline).lower()}: {info.status.value}"
    return f"{_SAYS[source]} {info.status.value}"

"""The authorization decision, as a pure function of what is known about a token.

Online, with local_first, the local list decides (an accepted entry starts at once, a blocked, expired or
invalid one refuses: the list is the CSMS's own word), and an accepted cache entry starts at once; anything
else goes to the CSMS. Offline (or when the CSMS does not answer), local_when_offline lets the list and the
cache decide, and an unknown token is accepted only with unknown_when_offline. The list always wins over the
cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.contract.auth import AuthorizationStatus, AuthSource, TokenInfo


@dataclass(frozen=True)
class Policy:
    authorization_cache: bool = True
    local_list: bool = True
    local_first: bool = True
    local_when_offline: bool = True
    unknown_when_offline: bool = False


ASK_CSMS = None


def effective(info: TokenInfo, now: datetime) -> TokenInfo:
    """An accepted entry whose expiry has passed is expired."""
    if info.status is AuthorizationStatus.ACCEPTED and info.expires_at is not None and info.expires_at <= now:
        return TokenInfo(status=AuthorizationStatus.EXPIRED, group=info.group, expires_at=info.expires_at)
    return info


def known(policy: Policy, local: TokenInfo | None, cached: TokenInfo | None, now: datetime
          ) -> tuple[TokenInfo, AuthSource] | None:
    """What the local list (first) or the cache says, if either is switched on and knows the token."""
    if policy.local_list and local is not None:
        return effective(local, now), AuthSource.LOCAL_LIST
    if policy.authorization_cache and cached is not None:
        return effective(cached, now), AuthSource.CACHE
    return None


def decide_online(policy: Policy, local: TokenInfo | None, cached: TokenInfo | None, now: datetime
                  ) -> tuple[TokenInfo, AuthSource] | None:
    """A local answer when pre-authorisation allows one; None means: ask the CSMS."""
    if not policy.local_first:
        return ASK_CSMS
    if policy.local_list and local is not None:
        return effective(local, now), AuthSource.LOCAL_LIST
    found = known(policy, local, cached, now)
    if found is not None and found[0].status is AuthorizationStatus.ACCEPTED:
        return found
    return ASK_CSMS


def conflicts(local: TokenInfo | None, csms: TokenInfo, now: datetime) -> bool:
    """The CSMS answered otherwise than a valid local list entry says (a conflict the CSMS is told of)."""
    if local is None:
        return False
    return (effective(local, now).status is AuthorizationStatus.ACCEPTED) != (
        csms.status is AuthorizationStatus.ACCEPTED)


def decide_offline(policy: Policy, local: TokenInfo | None, cached: TokenInfo | None, now: datetime
                   ) -> tuple[TokenInfo, AuthSource]:
    if policy.local_when_offline:
        found = known(policy, local, cached, now)
        if found is not None:
            return found
    status = AuthorizationStatus.ACCEPTED if policy.unknown_when_offline else AuthorizationStatus.INVALID
    return TokenInfo(status=status), AuthSource.OFFLINE_POLICY


_SAYS = {AuthSource.CSMS: "the CSMS answered", AuthSource.LOCAL_LIST: "the local list says",
         AuthSource.CACHE: "the authorization cache says"}


def describe(info: TokenInfo, source: AuthSource, allow_unknown_offline: bool) -> str:
    """A decision in words, for `chargebus status` and the page."""
    if source is AuthSource.OFFLINE_POLICY:
        return f"unknown card, unknown_when_offline={str(allow_unknown_offline).lower()}: {info.status.value}"
    return f"{_SAYS[source]} {info.status.value}"

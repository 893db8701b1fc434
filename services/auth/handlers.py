"""One handler per command and event of auth: the authorization decision, the cache, the local list."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from services.common.bus import Bus, BusError
from services.common.contract import auth, ocpp_gateway
from services.common.contract.auth import (
    AuthorizeDecision,
    AuthorizeRequest,
    AuthSource,
    CacheCleared,
    Decided,
    IdToken,
    ListConflict,
    LocalListState,
    LocalListVersion,
    LookupReply,
    LookupRequest,
    SendLocalListReply,
    SendLocalListRequest,
    TokenInfo,
    UpdateStatus,
)
from services.common.contract.base import Empty
from services.common.contract.ocpp_gateway import ConnectionState, CsmsAuthorizeRequest, Registration, TokenInfoSeen
from services.common.contract.station_settings import Setting
from services.common.lifecycle import give_back_memory
from services.common.settings_view import SettingsView

from .decision import Policy, conflicts, decide_offline, decide_online, describe
from .store import AuthStore, ListRefused

log = logging.getLogger(__name__)

READS = (Setting.AUTHORIZATION_CACHE, Setting.LOCAL_LIST, Setting.LOCAL_FIRST, Setting.LOCAL_WHEN_OFFLINE,
         Setting.UNKNOWN_WHEN_OFFLINE, Setting.LOCAL_LIST_CAPACITY)
CSMS_TIMEOUT_S = 30.0


class Handlers:
    def __init__(self, bus: Bus, store: AuthStore, config: SettingsView) -> None:
        self.bus = bus
        self.store = store
        self.config = config
        self.online = False

    def republish(self) -> None:
        """After every (re)connection: the retained state is the store's, not what a broker restored."""
        version, size = self.store.local_list_state()
        self.bus.publish(auth.LOCAL_LIST, LocalListState(version=version, size=size))

    def policy(self) -> Policy:
        c = self.config
        return Policy(authorization_cache=c.flag(Setting.AUTHORIZATION_CACHE), local_list=c.flag(Setting.LOCAL_LIST),
                      local_first=c.flag(Setting.LOCAL_FIRST), local_when_offline=c.flag(Setting.LOCAL_WHEN_OFFLINE),
                      unknown_when_offline=c.flag(Setting.UNKNOWN_WHEN_OFFLINE))

    async def on_connection(self, state: ConnectionState | None, _p: dict[str, str]) -> None:
        if state is not None:
            self.online = state.connected and state.registration is Registration.ACCEPTED

    # -- the decision ---------------------------------------------------------------------------------

    async def on_authorize(self, request: AuthorizeRequest, _p: dict[str, str]) -> AuthorizeDecision:
        policy, now = self.policy(), datetime.now(UTC)
        local = self.store.local(request.token) if policy.local_list else None
        cached = self.store.cached(request.token)
        if self.online:
            found = decide_online(policy, local, cached, now)
            if found is not None:
                return self._decided(request, *found)
            try:
                info = await self.bus.request(ocpp_gateway.CSMS_AUTHORIZE, CsmsAuthorizeRequest(token=request.token),
                                              timeout=CSMS_TIMEOUT_S)
            except BusError as exc:
                log.warning("csms authorize failed id_token=%s: %s; deciding offline", request.token.value, exc)
                return self._decided(request, *decide_offline(policy, local, cached, now),
                                     why=f"the CSMS did not answer ({exc.code})")
            else:
                self._answered(request.token, info, request.connector_id)
                return self._decided(request, info, AuthSource.CSMS)
        return self._decided(request, *decide_offline(policy, local, cached, now), why="offline")

    def _decided(self, request: AuthorizeRequest, info: TokenInfo, source: AuthSource, why: str = ""
                 ) -> AuthorizeDecision:
        log.info("authorize id_token=%s type=%s status=%s source=%s", request.token.value, request.token.type,
                 info.status, source)
        reason = describe(info, source, self.config.flag(Setting.UNKNOWN_WHEN_OFFLINE))
        decided = Decided(token=request.token, connector_id=request.connector_id, status=info.status,
                          source=source, at=datetime.now(UTC), reason=f"{why}: {reason}" if why else reason)
        self.bus.publish(auth.DECIDED, decided)
        self.bus.publish(auth.LAST_DECISION, decided)
        return AuthorizeDecision(token=request.token, info=info, source=source)

    def _answered(self, token: IdToken, info: TokenInfo, connector_id: int) -> None:
        """What the CSMS said of a token: cached, unless the local list holds it (then compared with it)."""
        local = self.store.local(token) if self.config.flag(Setting.LOCAL_LIST) else None
        if local is not None:
            if conflicts(local, info, datetime.now(UTC)):
                log.warning("local list conflict id_token=%s list=%s csms=%s", token.value, local.status,
                            info.status)
                self.bus.publish(auth.LOCAL_LIST_CONFLICT, ListConflict(
                    token=token, connector_id=connector_id, local=local, csms=info))
            return  # the list is the CSMS's own word for it: the cache does not shadow it
        if self.config.flag(Setting.AUTHORIZATION_CACHE):
            self.store.remember(token, info)

    async def on_token_info(self, seen: TokenInfoSeen, _p: dict[str, str]) -> None:
        self._answered(seen.token, seen.info, seen.connector_id or 0)

    async def on_clear_cache(self, _request: Empty, _p: dict[str, str]) -> CacheCleared:
        if not self.config.flag(Setting.AUTHORIZATION_CACHE):
            return CacheCleared(accepted=False)
        self.store.clear_cache()
        log.info("authorization cache cleared")
        return CacheCleared(accepted=True)

    # -- the local list ---------------------------------------------------------------------------------

    def _version(self) -> int:
        """The version reported: -1 while the list is switched off, else the store's (0 while the list is empty,
        OCTT TC_042_2), the same one a differential update is compared with."""
        if not self.config.flag(Setting.LOCAL_LIST):
            return -1
        return self.store.local_list_state()[0]

    async def on_get_local_list_version(self, _request: Empty, _p: dict[str, str]) -> LocalListVersion:
        return LocalListVersion(version=self._version(), size=self.store.local_list_state()[1])

    async def on_send_local_list(self, request: SendLocalListRequest, _p: dict[str, str]) -> SendLocalListReply:
        if not self.config.flag(Setting.LOCAL_LIST):
            return SendLocalListReply(status=UpdateStatus.NOT_SUPPORTED, version=-1, size=0)
        if request.part > 0 and not request.more:
            self.bus.after_reply(self._after_long_update)  # once the last part itself is gone, not while it is held
        return self._apply(request)

    def _after_long_update(self) -> None:
        """SQLite keeps a page cache per pooled connection, filled by the list's rows; closed, the next lookup
        opens a fresh one (a millisecond) and the heap they held goes back to the system."""
        self.store.engine.dispose()
        give_back_memory()

    def _apply(self, request: SendLocalListRequest) -> SendLocalListReply:
        started = time.perf_counter()
        try:
            version, size = self.store.apply_part(request, self.config.number(Setting.LOCAL_LIST_CAPACITY))
        except ListRefused as refused:
            version, size = self.store.local_list_state()
            log.warning("local list update refused status=%s: %s", refused.status, refused)
            return SendLocalListReply(status=refused.status, version=version, size=size)
        if request.more:
            return SendLocalListReply(status=UpdateStatus.ACCEPTED, version=version, size=size)
        log.info("local list %s version=%d parts=%d size=%d last part in=%.0fms", request.update_type, version,
                 request.part + 1, size, (time.perf_counter() - started) * 1000)
        self.bus.publish(auth.LOCAL_LIST, LocalListState(version=version, size=size))
        return SendLocalListReply(status=UpdateStatus.ACCEPTED, version=version, size=size)

    async def on_lookup(self, request: LookupRequest, _p: dict[str, str]) -> LookupReply:
        return LookupReply(token=request.token, local=self.store.local(request.token),
                           cached=self.store.cached(request.token), list_version=self._version())


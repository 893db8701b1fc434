"""auth: decides Accepted/Blocked/Expired/Invalid for an idTag, online or offline; keeps the cache."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.common.bus import BusError
from services.common.config_view import ConfigView
from services.common.contract import auth, ocpp_gateway
from services.common.contract.auth import (
    AuthorizeDecision,
    AuthorizeRequest,
    AuthSource,
    CacheCleared,
    IdTagInfo,
    LocalListState,
)
from services.common.contract.base import Empty
from services.common.contract.ocpp_gateway import ConnectionState, CsmsAuthorizeRequest, IdTagInfoSeen, Registration
from services.common.db import open_engine
from services.common.lifecycle import Service

from .decision import Policy, decide_offline, decide_online
from .store import AuthStore

log = logging.getLogger(__name__)

KEYS = ("AuthorizationCacheEnabled", "LocalAuthListEnabled", "LocalPreAuthorize", "LocalAuthorizeOffline",
        "AllowOfflineTxForUnknownId")
CSMS_TIMEOUT_S = 30.0


class AuthService(Service):
    name = "auth"

    async def setup(self) -> None:
        self.engine = open_engine(self.settings.db_path(self.name), Path(__file__).parent / "migrations")
        self.store = AuthStore(self.engine)
        self.config = ConfigView(self.bus, *KEYS)
        self.online = False
        self.bus.handle(auth.AUTHORIZE, self.on_authorize)
        self.bus.handle(auth.CLEAR_CACHE, self.on_clear_cache)
        self.bus.on(ocpp_gateway.ID_TAG_INFO, self.on_id_tag_info)
        self.bus.watch(ocpp_gateway.CONNECTION.filter, self.on_connection)
        self.bus.when_connected(self.republish)

    def republish(self) -> None:
        """After every (re)connection: the retained state is the store's, not what a broker restored."""
        version, size = self.store.local_list_state()
        self.bus.publish(auth.LOCAL_LIST, LocalListState(version=version, size=size))

    async def shutdown(self) -> None:
        self.engine.dispose()

    def policy(self) -> Policy:
        c = self.config
        return Policy(authorization_cache_enabled=c.get_bool("AuthorizationCacheEnabled"),
                      local_auth_list_enabled=c.get_bool("LocalAuthListEnabled"),
                      local_pre_authorize=c.get_bool("LocalPreAuthorize"),
                      local_authorize_offline=c.get_bool("LocalAuthorizeOffline"),
                      allow_offline_tx_for_unknown_id=c.get_bool("AllowOfflineTxForUnknownId"))

    async def on_connection(self, _t: str, _d: Any, state: Any, _p: dict[str, str]) -> None:
        if isinstance(state, ConnectionState):
            self.online = state.connected and state.registration is Registration.ACCEPTED

    async def on_authorize(self, request: AuthorizeRequest, _p: dict[str, str]) -> AuthorizeDecision:
        policy, now = self.policy(), datetime.now(UTC)
        local, cached = self.store.local(request.id_tag), self.store.cached(request.id_tag)
        if self.online:
            found = decide_online(policy, local, cached, now)
            if found is not None:
                return self._decided(request.id_tag, *found)
            try:
                info: IdTagInfo = await self.bus.request(ocpp_gateway.CSMS_AUTHORIZE,
                                                         CsmsAuthorizeRequest(id_tag=request.id_tag),
                                                         timeout=CSMS_TIMEOUT_S)
            except BusError as exc:
                log.warning("csms authorize failed id_tag=%s: %s; deciding offline", request.id_tag, exc)
            else:
                self._remember(request.id_tag, info)
                return self._decided(request.id_tag, info, AuthSource.CSMS)
        return self._decided(request.id_tag, *decide_offline(policy, local, cached, now))

    def _decided(self, id_tag: str, info: IdTagInfo, source: AuthSource) -> AuthorizeDecision:
        log.info("authorize id_tag=%s status=%s source=%s", id_tag, info.status, source)
        return AuthorizeDecision(id_tag=id_tag, info=info, source=source)

    def _remember(self, id_tag: str, info: IdTagInfo) -> None:
        if self.config.get_bool("AuthorizationCacheEnabled"):
            self.store.remember(id_tag, info)

    async def on_id_tag_info(self, seen: IdTagInfoSeen, _p: dict[str, str]) -> None:
        self._remember(seen.id_tag, seen.info)

    async def on_clear_cache(self, _request: Empty, _p: dict[str, str]) -> CacheCleared:
        if not self.config.get_bool("AuthorizationCacheEnabled"):
            return CacheCleared(accepted=False)
        self.store.clear_cache()
        log.info("authorization cache cleared")
        return CacheCleared(accepted=True)




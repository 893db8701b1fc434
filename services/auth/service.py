"""auth: decides whether a token may charge, online or offline; keeps the cache and the
local list. Wiring only: the decisions are in `decision.py`, the answers in `handlers.py`."""

from __future__ import annotations

from pathlib import Path

from services.common.contract import auth, ocpp_gateway
from services.common.db import open_engine
from services.common.lifecycle import Service
from services.common.settings_view import SettingsView

from .handlers import READS, Handlers
from .store import AuthStore


class AuthService(Service):
    name = "auth"

    async def setup(self) -> None:
        self.engine = open_engine(self.settings.db_path(self.name), Path(__file__).parent / "migrations")
        self.store = AuthStore(self.engine)
        self.store.drop_staged()  # an update that was coming in parts when auth stopped will not go on
        h = Handlers(self.bus, self.store, SettingsView(self.bus, *READS))
        self.bus.handle(auth.AUTHORIZE, h.on_authorize)
        self.bus.handle(auth.CLEAR_CACHE, h.on_clear_cache)
        self.bus.handle(auth.SEND_LOCAL_LIST, h.on_send_local_list)
        self.bus.handle(auth.GET_LOCAL_LIST_VERSION, h.on_get_local_list_version)
        self.bus.handle(auth.LOOKUP, h.on_lookup)
        self.bus.on(ocpp_gateway.TOKEN_INFO, h.on_token_info)
        self.bus.follow(ocpp_gateway.CONNECTION, h.on_connection)
        self.bus.when_connected(h.republish)

    async def shutdown(self) -> None:
        self.engine.dispose()

"""smart_charging: owns the charging profiles (SQLite) and publishes the current limit in force.

Wiring and the loop that follows the schedules: the limit is re-evaluated at every period boundary
(the planner says when the next one is), on every profile change and when a session starts or ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from services.common.contract import ocpp_gateway, smart_charging
from services.common.db import open_engine
from services.common.lifecycle import Service
from services.common.settings_view import SettingsView

from .handlers import READS, Charging
from .store import ProfileStore

log = logging.getLogger(__name__)

SESSIONS_GRACE_S = 5.0  # without the gateway's retained states by then, connectors are taken as idle
MAX_SLEEP_S = 60.0  # re-evaluated at least this often: the wall clock may have been set meanwhile


class SmartChargingService(Service):
    name = "smart_charging"

    async def setup(self) -> None:
        self.engine = open_engine(self.settings.db_path(self.name), Path(__file__).parent / "migrations")
        store = ProfileStore(self.engine)
        installed, unreadable = store.load()
        for line in unreadable:  # kept in the file for a technician; the station follows the others
            log.error("stored profile not readable, ignored: %s", line)
        log.info("profiles installed: %s", [i.profile.id for i in installed])
        self.charging = c = Charging(self.bus, store, SettingsView(self.bus, *READS), installed)
        self.bus.handle(smart_charging.SET_PROFILE, c.on_set_profile)
        self.bus.handle(smart_charging.BEGIN_SESSION, c.on_begin_session)
        self.bus.handle(smart_charging.CLEAR_PROFILES, c.on_clear)
        self.bus.handle(smart_charging.GET_COMPOSITE, c.on_get_composite)
        self.bus.handle(smart_charging.LIST_PROFILES, c.on_list)
        self.bus.follow(ocpp_gateway.TRANSACTION, c.on_transaction)
        self.bus.when_connected(c.republish)

    async def run(self) -> None:
        c = self.charging
        deadline = time.monotonic() + SESSIONS_GRACE_S
        while not c.ready and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline - time.monotonic()):
                    await c.changed.wait()
            c.changed.clear()
        c.become_ready("no session state from the gateway yet: connectors taken as idle")
        while True:
            c.changed.clear()
            now = datetime.now(UTC)
            changes = [limit.next_change_at for limit in c.publish_limits(now) if limit.next_change_at is not None]
            sleep_s = min([MAX_SLEEP_S, *((at - now).total_seconds() for at in changes)])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, sleep_s)):
                    await c.changed.wait()

    async def shutdown(self) -> None:
        self.engine.dispose()

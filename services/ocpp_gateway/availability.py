"""ChangeAvailability: persisted per connector, published for power as a retained intent, Scheduled while a
transaction runs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ocpp.v16.enums import AvailabilityStatus
from sqlalchemy import Engine, text

from services.common.bus import Bus
from services.common.contract import ocpp_gateway
from services.common.contract.ocpp_gateway import AvailabilityIntent

log = logging.getLogger(__name__)


class Availability:
    def __init__(self, engine: Engine, bus: Bus, connectors: tuple[int, ...], *, busy: Callable[[int], bool],
                 on_change: Callable[[int], Awaitable[None]]) -> None:
        self._engine = engine
        self._bus = bus
        self._connectors = connectors
        self._busy = busy  # a session is open on the connector
        self.on_change = on_change
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT connector_id, operative, scheduled FROM availability")).tuples().all()
        self.operative = {c: True for c in (0, *connectors)}
        self.scheduled: dict[int, bool] = {}
        for connector_id, operative, scheduled in rows:
            self.operative[connector_id] = bool(operative)
            if scheduled is not None:
                self.scheduled[connector_id] = bool(scheduled)

    def _targets(self, connector_id: int) -> tuple[int, ...]:
        return self._connectors if connector_id == 0 else (connector_id,)

    def effective(self, connector_id: int) -> bool:
        """Operative as the station shows it: a connector is inoperative when it or the station is."""
        return self.operative[0] and self.operative[connector_id]

    async def change(self, connector_id: int, operative: bool) -> str:
        busy = any(self._busy(c) for c in self._targets(connector_id))
        if busy and self.operative[connector_id] != operative:
            self.scheduled[connector_id] = operative
            self._save(connector_id)
            log.info("availability scheduled connector=%d operative=%s", connector_id, operative)
            return AvailabilityStatus.scheduled
        self.scheduled.pop(connector_id, None)
        self.operative[connector_id] = operative
        self._save(connector_id)
        self.apply()
        await self.on_change(connector_id)
        return AvailabilityStatus.accepted

    async def transaction_ended(self, connector_id: int) -> None:
        for target in (connector_id, 0):
            if target in self.scheduled and not any(self._busy(c) for c in self._targets(target)):
                await self.change(target, self.scheduled[target])

    def _save(self, connector_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO availability (connector_id, operative, scheduled) VALUES (:c, :o, :s) "
                "ON CONFLICT (connector_id) DO UPDATE SET operative = excluded.operative, "
                "scheduled = excluded.scheduled"),
                {"c": connector_id, "o": int(self.operative[connector_id]), "s": (
                    None if connector_id not in self.scheduled else int(self.scheduled[connector_id]))})

    def apply(self) -> None:
        """Publish what is in force, retained: power follows it, also when it starts again after us (and at
        every reconnection of ours, the broker may have lost it)."""
        for connector_id in self._connectors:
            self._bus.publish(ocpp_gateway.AVAILABILITY, AvailabilityIntent(
                connector_id=connector_id, operative=self.effective(connector_id)), connector_id=connector_id)

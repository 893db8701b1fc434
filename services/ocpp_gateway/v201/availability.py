"""OCPP 2.0.1 G03-G05: ChangeAvailability of the station, an EVSE or its connector, and C11: ClearCache. Both
are the gateway's parts the 1.6 calls use (`availability.py`, auth's cache): persisted, published for power as
the retained intent, Scheduled while a transaction runs.

EVSEs and connectors are the station's connectors as `connector_status.connector_of` names them.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import ChangeAvailabilityStatusEnumType as Status
from ocpp.v201.enums import ClearCacheStatusEnumType as CacheStatus
from ocpp.v201.enums import OperationalStatusEnumType as Operational

from services.common.bus import Bus, BusError
from services.common.contract import auth
from services.common.contract.base import Empty

from ..availability import Availability
from .connector_status import connector_of

log = logging.getLogger(__name__)


class AvailabilityActions(ChargePoint):
    """Needs `availability` and `bus` from the class it is mixed into."""

    availability: Availability
    bus: Bus

    @on(Action.change_availability)
    async def on_change_availability(self, operational_status: str, evse: dict[str, Any] | None = None,
                                     **_custom: Any) -> call_result.ChangeAvailability:
        connector = connector_of(evse)
        if connector is None:
            return call_result.ChangeAvailability(status=Status.rejected)
        status = await self.availability.change(connector, operational_status == Operational.operative)
        return call_result.ChangeAvailability(status=Status(str(status)))

    @on(Action.clear_cache)
    async def on_clear_cache(self, **_custom: Any) -> call_result.ClearCache:
        try:
            cleared = await self.bus.request(auth.CLEAR_CACHE, Empty(), timeout=5)
        except BusError as exc:
            log.warning("clear cache failed: %s", exc)
            return call_result.ClearCache(status=CacheStatus.rejected)
        return call_result.ClearCache(status=CacheStatus.accepted if cleared.accepted else CacheStatus.rejected)

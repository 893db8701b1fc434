"""The station's side of an OCPP 2.0.1 connection: the handlers of each block, assembled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from ocpp.messages import Call, unpack

from services.common.bus import Bus

from ..availability import Availability
from ..engine import TransactionEngine
from ..link import Link
from ..status import StatusReporter
from ..tx_store import TxStore
from .availability import AvailabilityActions
from .data_transfer import DataTransferActions
from .jobs import JobActions
from .local_list import LocalListActions
from .provisioning import ProvisioningActions, Spawn
from .remote_control import RemoteControlActions
from .reservation import ReservationActions
from .security_events import SecurityEvents
from .smart_charging import SmartChargingActions
from .trigger import TriggerActions
from .variable_store import VariableStore


class ChargePoint201(ProvisioningActions, LocalListActions, TriggerActions, AvailabilityActions, SmartChargingActions,
                     RemoteControlActions, ReservationActions, JobActions, DataTransferActions):
    """One instance per WebSocket connection; the parts it uses outlive it."""

    def __init__(self, cp_id: str, connection: Any, *, variables: VariableStore, bus: Bus, link: Link,
                 status: StatusReporter, availability: Availability, store: TxStore, spawn: Spawn,
                 transactions: TransactionEngine, reset: Callable[[str], Coroutine[Any, Any, None]],
                 reset_evse: Callable[[int], Coroutine[Any, Any, None]], reset_pending: Callable[[], bool],
                 schedule_reset: Callable[[int], None], security: SecurityEvents,
                 response_timeout: float = 30.0) -> None:
        super().__init__(cp_id, connection, variables, spawn, response_timeout=response_timeout)
        self.bus = bus
        self.link = link
        self.status = status
        self.availability = availability
        self.store = store
        self.transactions = transactions
        self.reset = reset
        self.reset_evse = reset_evse
        self.reset_pending = reset_pending
        self.schedule_reset = schedule_reset
        self.security = security
        self._held_until: asyncio.Event | None = None

    def hold_calls_until(self, ready: asyncio.Event) -> None:
        """The CSMS's calls are answered once `ready` is set (`Link.ready`)."""
        self._held_until = ready

    async def route_message(self, raw_msg: str | bytes) -> None:
        # the library answers each call before it reads the next frame: a call held here holds those after it,
        # which keeps their order (the answers to our own calls are not held back by anything)
        held = self._held_until
        if held is not None and not held.is_set() and _is_call(raw_msg):
            await held.wait()
        await super().route_message(raw_msg)


def _is_call(raw_msg: str | bytes) -> bool:
    try:
        return isinstance(unpack(raw_msg), Call)
    except Exception:  # not a frame at all: the library answers it as such
        return False

"""The station's side of an OCPP 2.0.1 connection: the handlers of each block, assembled."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

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

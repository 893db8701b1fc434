"""What every profile's handlers act on, and the protocol class they extend."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from services.common.bus import Bus
from services.common.contract.ocpp_gateway import Registration

from ..availability import Availability
from ..config_store import ConfigStore
from ..link import Link
from ..ports import Transactions
from ..protocol import StationProtocol
from ..status import StatusReporter


@dataclass(frozen=True)
class Station:
    """The gateway's parts a CSMS call may use; outlives every connection."""

    bus: Bus
    config: ConfigStore
    transactions: Transactions
    availability: Availability
    registration: Callable[[], Registration]  # of the live link
    reset: Callable[[str], Coroutine[Any, Any, None]]  # Reset Soft/Hard: stop, let the CSMS hear of it, restart
    spawn: Callable[[Coroutine[Any, Any, None], str], None]  # work that goes on after the answer
    link: Link
    status: StatusReporter
    response_timeout_s: float = 30.0  # for our own CALLs (the link's deadline is the one that counts)


class Actions(StationProtocol):
    """One instance per WebSocket connection."""

    def __init__(self, cp_id: str, connection: Any, station: Station) -> None:
        super().__init__(cp_id, connection, response_timeout=station.response_timeout_s + 1)
        self.station = station

    def answering(self) -> bool:
        return bool(self.station.registration() != Registration.REJECTED)

    def accepted(self) -> bool:
        return bool(self.station.registration() == Registration.ACCEPTED)

"""One handler per `contract.sim` command: change the model, put the change on CAN, reply with the state."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.common.bus import BusError
from services.common.contract import ErrorCode
from services.common.contract.hardware import HardwareFault
from services.common.contract.sim import (
    EstopRequest,
    EvRequest,
    FaultRequest,
    PlugRequest,
    SimCondition,
    SimState,
    SwipeRequest,
)

from .can_link import CanLink
from .model import SimModel

log = logging.getLogger(__name__)


class Handlers:
    def __init__(self, model: SimModel, link: CanLink, publish: Callable[[bool], SimState]) -> None:
        self._m = model
        self._link = link
        self._publish = publish

    def _applied(self) -> SimState:
        """Send the frames that carry the change now (not at the next cycle), then publish and reply."""
        if SimCondition.MODULE_SILENT not in self._m.faults:
            self._link.send_status(self._m)
        self._link.send_ev(self._m)
        self._link.send_inputs(self._m)
        return self._publish(True)

    async def on_plug(self, req: PlugRequest, _p: dict[str, str]) -> SimState:
        self._m.plugged = True
        log.info("ev plugged connector=%d", req.connector_id)
        return self._applied()

    async def on_unplug(self, req: PlugRequest, _p: dict[str, str]) -> SimState:
        self._m.plugged = False
        log.info("ev unplugged connector=%d", req.connector_id)
        return self._applied()

    async def on_swipe(self, req: SwipeRequest, _p: dict[str, str]) -> SimState:
        if HardwareFault.READER in self._m.faults:
            raise BusError(ErrorCode.REJECTED, "the RFID reader is faulted")
        if not (req.card.isascii() and req.card.isprintable()):
            raise BusError(ErrorCode.BAD_REQUEST, "a card's id is printable ASCII")
        self._m.swipes += 1
        self._link.send_rfid(req.card, self._m.swipes)
        log.info("rfid swipe id_token=%s", req.card)
        return self._publish(False)

    async def on_fault(self, req: FaultRequest, _p: dict[str, str]) -> SimState:
        if req.code is None:
            self._m.faults.clear()
        else:
            self._m.faults.add(req.code)
        log.info("faults now=%s", sorted(self._m.faults))
        return self._applied()

    async def on_ev(self, req: EvRequest, _p: dict[str, str]) -> SimState:
        if req.soc_pct is not None:
            self._m.soc_pct = req.soc_pct
        if req.max_current_a is not None:
            self._m.max_current_a = req.max_current_a
        log.info("ev soc_pct=%.1f max_current_a=%.1f", self._m.soc_pct, self._m.max_current_a)
        return self._applied()

    async def on_estop(self, req: EstopRequest, _p: dict[str, str]) -> SimState:
        self._m.estop = req.pressed
        log.warning("emergency stop %s", "pressed" if req.pressed else "released")
        return self._applied()

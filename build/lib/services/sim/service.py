"""Wiring: the model stepped every 100 ms, its frames on CAN, its state on the bus."""

from __future__ import annotations

import asyncio
import logging
import time

from services.common.contract import sim
from services.common.contract.sim import SimCondition, SimState
from services.common.lifecycle import Service

from .can_link import CanLink, Command
from .handlers import Handlers
from .model import SimModel
from .settings import SimSettings

log = logging.getLogger(__name__)

CYCLE_S = 0.1
SOC_PUBLISH_EVERY_S = 1.0


class SimService(Service):
    name = "sim"

    async def setup(self) -> None:
        cfg = SimSettings()
        if self.settings.can_interface == "socketcan" and not cfg.allow_socketcan:
            raise SystemExit(f"chargebus-sim: refusing to simulate hardware on SocketCAN {self.settings.can_channel}: "
                             "the real devices are there (bench with vcan: CHARGEBUS_SIM_ALLOW_SOCKETCAN=true)")
        self.model = SimModel(
            battery_wh=cfg.battery_kwh * 1000.0, soc_pct=cfg.soc_pct, max_current_a=cfg.max_current_a,
            target_voltage_v=cfg.target_voltage_v, time_factor=cfg.time_factor,
            heartbeat_timeout_s=cfg.heartbeat_timeout_s,
        )
        self.link = CanLink(self.settings)
        self.link.open()
        self._published: SimState | None = None
        self._published_at = 0.0
        h = Handlers(self.model, self.link, self.publish)
        self.bus.handle(sim.PLUG, h.on_plug)
        self.bus.handle(sim.UNPLUG, h.on_unplug)
        self.bus.handle(sim.SWIPE, h.on_swipe)
        self.bus.handle(sim.FAULT, h.on_fault)
        self.bus.handle(sim.EV, h.on_ev)
        self.bus.handle(sim.ESTOP, h.on_estop)
        self.bus.when_connected(self.republish)

    def republish(self) -> None:
        self.publish(True)

    async def run(self) -> None:
        self.link.start(self.on_command)
        self.publish(True)
        while True:
            self.model.step(time.monotonic())
            self.send_cyclic()
            self.publish(False)
            await asyncio.sleep(CYCLE_S)

    async def shutdown(self) -> None:
        self.link.close()

    def on_command(self, cmd: Command) -> None:
        m = self.model
        changed = (cmd.enable, cmd.current_a) != (m.cmd_enable, m.cmd_current_a)
        m.step(time.monotonic())  # integrate at the old current up to now
        m.on_command(cmd.enable, cmd.voltage_v, cmd.current_a, time.monotonic())
        if changed and SimCondition.MODULE_SILENT not in m.faults:
            self.link.send_status(m)  # the new current shows at once rather than at the next cycle

    def send_cyclic(self) -> None:
        if SimCondition.MODULE_SILENT not in self.model.faults:
            self.link.send_status(self.model)
        self.link.send_meter(self.model)
        self.link.send_ev(self.model)
        self.link.send_inputs(self.model)

    def publish(self, force: bool) -> SimState:
        """Retained state on every change; a SoC that merely creeps up at most once a second."""
        state = self.model.state()
        now = time.monotonic()
        old = self._published
        if not force and old is not None:
            if state == old:
                return state
            soc_only = state.model_copy(update={"soc_pct": old.soc_pct}) == old
            if soc_only and now - self._published_at < SOC_PUBLISH_EVERY_S:
                return state
        self._published, self._published_at = state, now
        self.bus.publish(sim.SIM_STATE, state, connector_id=state.connector_id)
        return state

"""The simulated hardware as pure state: DC power module, DC meter, EV, fault switches. No CAN, no clock.

The module enables its output only while commanded, an EV is plugged, no fault blocks it and the
controller's heartbeat is fresh (missing for more than `heartbeat_timeout_s` opens the output: a
power controller restart shorter than that keeps the charge going). The output current is
min(set-point, EV request, module limits) at once, so the next status frame shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from services.common.contract.hardware import HardwareFault
from services.common.contract.sim import SimCondition, SimFault, SimState

MODULE_MAX_CURRENT_A = 500.0
MODULE_MAX_VOLTAGE_V = 1000.0
MODULE_MAX_POWER_W = 200_000.0
AMBIENT_C = 25.0

# faults that do not stop the output on their own (the controller decides); every other fault opens it
NON_BLOCKING: frozenset[SimFault] = frozenset({HardwareFault.READER, SimCondition.MODULE_SILENT})


@dataclass
class SimModel:
    battery_wh: float = 60_000.0
    soc_pct: float = 40.0
    max_current_a: float = 200.0
    target_voltage_v: float = 450.0
    time_factor: float = 1.0  # >1 makes the SoC rise faster than real energy would
    heartbeat_timeout_s: float = 3.0
    connector_id: int = 1
    plugged: bool = False
    faults: set[SimFault] = field(default_factory=set)
    estop: bool = False  # the emergency-stop button, latched until released
    energy_wh: float = 0.0  # the DC meter: since the simulator (the meter) powered up
    cmd_enable: bool = False
    cmd_voltage_v: float = 0.0
    cmd_current_a: float = 0.0
    cmd_seen_at: float | None = None
    swipes: int = 0
    _stepped_at: float | None = None

    # -- inputs ---------------------------------------------------------------------------------

    def on_command(self, enable: bool, voltage_v: float, current_a: float, now: float) -> None:
        self.cmd_enable, self.cmd_voltage_v, self.cmd_current_a, self.cmd_seen_at = enable, voltage_v, current_a, now

    def step(self, now: float) -> None:
        """Integrate energy and SoC since the last step; drop the command when the heartbeat is lost."""
        if self._stepped_at is not None:
            dt = max(0.0, now - self._stepped_at)
            delivered_wh = self.voltage_v * self.current_a * dt / 3600.0
            self.energy_wh += delivered_wh
            self.soc_pct = min(100.0, self.soc_pct + delivered_wh * self.time_factor / self.battery_wh * 100.0)
        self._stepped_at = now
        if self.cmd_enable and not self.heartbeat_ok(now):
            self.cmd_enable = False  # the controller is gone: open the output and stay open until told again

    def heartbeat_ok(self, now: float) -> bool:
        return self.cmd_seen_at is not None and now - self.cmd_seen_at <= self.heartbeat_timeout_s

    # -- derived --------------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        # the emergency stop opens the output through the safety chain, whatever the controller says
        return self.cmd_enable and self.plugged and not self.estop and not (self.faults - NON_BLOCKING)

    @property
    def ev_request_a(self) -> float:
        if not self.plugged or self.soc_pct >= 100.0 or HardwareFault.EV_COMMUNICATION in self.faults:
            return 0.0
        return self.max_current_a

    @property
    def battery_voltage_v(self) -> float:
        return 350.0 + 70.0 * self.soc_pct / 100.0

    @property
    def voltage_v(self) -> float:
        if not self.enabled:
            return 0.0
        return min(self.battery_voltage_v, self.cmd_voltage_v or MODULE_MAX_VOLTAGE_V)

    @property
    def current_a(self) -> float:
        if not self.enabled or self.voltage_v <= 0:
            return 0.0
        limit = min(self.cmd_current_a, self.ev_request_a, MODULE_MAX_CURRENT_A, MODULE_MAX_POWER_W / self.voltage_v)
        return math.floor(max(0.0, limit) * 10) / 10  # 0.1 A resolution, never above a limit

    @property
    def temperature_c(self) -> float:
        if HardwareFault.HIGH_TEMPERATURE in self.faults:
            return 95.0
        return AMBIENT_C + 20.0 * self.current_a / MODULE_MAX_CURRENT_A

    @property
    def pilot(self) -> str:
        if not self.plugged:
            return "A_Unplugged"
        return "C_Charging" if self.enabled else "B_Connected"

    def state(self) -> SimState:
        return SimState(connector_id=self.connector_id, plugged=self.plugged, soc_pct=round(self.soc_pct, 1),
                        max_current_a=self.max_current_a, faults=sorted(self.faults), estop=self.estop)

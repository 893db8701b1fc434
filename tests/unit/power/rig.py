"""One connector's inputs as a table row, and the controller they build (with a fake clock: plain floats)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.common.contract.hardware import HardwareFault
from services.power.can_codec import EvStatus, ModuleStatus, Pilot, StationInputs
from services.power.controller import Controller

T0 = 100.0  # "now" in the tests: well after the boot grace of a controller started at 0
WALL = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)


@dataclass
class Rig:
    """The inputs of one table row."""

    plugged: bool = False
    request_a: float = 200.0
    faults: frozenset[HardwareFault] = field(default_factory=frozenset)
    module_enabled: bool = False
    module_current_a: float = 0.0
    energized: bool = False
    operative: bool = True
    finishing: bool = False
    smart_a: float | None = None
    cap_a: float | None = None
    estop: bool = False
    suspended: bool = False
    service_down: str | None = None


def build(rig: Rig, now: float = T0) -> Controller:
    ctl = Controller(started_at=0.0)
    ctl.on_module(ModuleStatus(rig.module_enabled, 400.0 if rig.module_enabled else 0.0, rig.module_current_a, 30.0,
                               rig.faults), now)
    ctl.on_ev(ev(rig.plugged, rig.request_a), now)
    ctl.on_inputs(StationInputs(emergency_stop=rig.estop), now)
    ctl.settle(now)  # the plug is seen before the intent is set, as on the wire
    ctl.energized, ctl.operative = rig.energized, rig.operative
    ctl.finishing = rig.finishing
    ctl.smart_limit_a, ctl.cap_a = rig.smart_a, rig.cap_a
    ctl.suspended = rig.suspended
    ctl.service_down = rig.service_down
    return ctl


def ev(plugged: bool, request_a: float = 200.0, soc: float = 40.0) -> EvStatus:
    return EvStatus(Pilot.B if plugged else Pilot.A, plugged, request_a if plugged else 0.0, 450.0, soc)

"""Simulator topics: the bench hardware driven from the CLI and tests."""

from __future__ import annotations

from enum import StrEnum
from typing import Never

from pydantic import Field

from .base import Kind, Model, Topic
from .hardware import HardwareFault


class SimCondition(StrEnum):
    """Failures the bench can stage besides the module's fault bits."""

    MODULE_SILENT = "module_silent"  # the power module stops its CAN heartbeat


SimFault = HardwareFault | SimCondition
SIM_FAULTS: tuple[SimFault, ...] = (*HardwareFault, *SimCondition)


class PlugRequest(Model):
    connector_id: int = Field(1, ge=1, le=1)


class SwipeRequest(Model):
    card: str = Field(min_length=1, max_length=20, description="The card's UID, as its reader reads it.")


class FaultRequest(Model):
    code: SimFault | None = Field(description="Fault to raise; null clears every fault.")


class EvRequest(Model):
    connector_id: int = Field(1, ge=1, le=1)
    soc_pct: float | None = Field(None, ge=0, le=100)
    max_current_a: float | None = Field(None, ge=0, le=1000)


class SimState(Model):
    connector_id: int
    plugged: bool
    soc_pct: float
    max_current_a: float
    faults: list[SimFault]
    estop: bool = Field(False, description="The emergency-stop button is pressed.")


class EstopRequest(Model):
    pressed: bool = Field(description="True presses the emergency-stop button, false releases it.")


_EXAMPLE = {"connector_id": 1, "plugged": True, "soc_pct": 40.0, "max_current_a": 200.0, "faults": [],
            "estop": False}

SIM_STATE: Topic[SimState, Never] = Topic(
    "chargebus/sim/state/ev/{connector_id}", Kind.STATE, SimState, owner="sim", retain=True,
    subscribers=("cli", "api"), doc="What the simulated EV and hardware are doing.", example=_EXAMPLE,
)
PLUG = Topic("chargebus/sim/cmd/plug", Kind.CMD, PlugRequest, reply=SimState, owner="sim",
             subscribers=("cli",), doc="Plug the EV in (control pilot state B); replies once applied on CAN.",
             example={"connector_id": 1})
UNPLUG = Topic("chargebus/sim/cmd/unplug", Kind.CMD, PlugRequest, reply=SimState, owner="sim",
               subscribers=("cli",), doc="Unplug the EV (control pilot state A); replies once applied on CAN.",
             example={"connector_id": 1})
SWIPE = Topic("chargebus/sim/cmd/swipe", Kind.CMD, SwipeRequest, reply=SimState, owner="sim",
              subscribers=("cli",), doc="Present a card at the RFID reader.", example={"card": "04A2B3C4"})
FAULT = Topic("chargebus/sim/cmd/fault", Kind.CMD, FaultRequest, reply=SimState, owner="sim",
              subscribers=("cli",), doc="Raise a hardware fault, or clear all with null.",
              example={"code": "ground_failure"})
EV = Topic("chargebus/sim/cmd/ev", Kind.CMD, EvRequest, reply=SimState, owner="sim", subscribers=("cli",),
           doc="Set the EV's state of charge and the most current it will draw.",
           example={"connector_id": 1, "soc_pct": 20.0, "max_current_a": 300.0})
ESTOP = Topic("chargebus/sim/cmd/estop", Kind.CMD, EstopRequest, reply=SimState, owner="sim", subscribers=("cli",),
              doc="Press or release the emergency-stop button: the module opens its output at once and the "
              "StationInputs frame reports it.", example={"pressed": True})

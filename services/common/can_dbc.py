"""The CAN wire as the DBC describes it: where the DBC is, how to open the bus, which signal carries which fault.

Shared by `power` (the controller) and `sim` (the bench hardware): the DBC is their only contract, so
finding it, opening python-can and naming its fault signals are written once, here. Encoding and
decoding stay with each side, through cantools.
"""

from __future__ import annotations

import os
from pathlib import Path

import can

from .contract.hardware import HardwareFault
from .settings import Settings

DBC_NAME = "chargebus.dbc"
DBC_ENV = "CHARGEBUS_DBC"

FAULT_SIGNALS: dict[HardwareFault, str] = {
    HardwareFault.GROUND_FAILURE: "FaultGround",
    HardwareFault.HIGH_TEMPERATURE: "FaultHighTemperature",
    HardwareFault.OVER_CURRENT: "FaultOverCurrent",
    HardwareFault.OVER_VOLTAGE: "FaultOverVoltage",
    HardwareFault.UNDER_VOLTAGE: "FaultUnderVoltage",
    HardwareFault.POWER_METER: "FaultPowerMeter",
    HardwareFault.POWER_SWITCH: "FaultPowerSwitch",
    HardwareFault.CONNECTOR_LOCK: "FaultConnectorLock",
    HardwareFault.EV_COMMUNICATION: "FaultEvCommunication",
    HardwareFault.READER: "FaultReader",
    HardwareFault.INTERNAL: "FaultInternal",
}


def find_dbc() -> Path:
    """The DBC next to the source tree: works from a checkout, an editable install and the Docker image.

    Order: `$CHARGEBUS_DBC`, `<repo>/proto/can/` relative to this file, the copy packaged next to this
    file (an installed wheel: a firmware slot; in the source tree it is a link to proto/can), then
    `proto/can/` in the working directory or any of its parents.
    """
    named = os.environ.get(DBC_ENV)
    candidates = [Path(named)] if named else []
    candidates.append(Path(__file__).resolve().parents[2] / "proto" / "can" / DBC_NAME)
    candidates.append(Path(__file__).with_name(DBC_NAME))
    cwd = Path.cwd().resolve()
    candidates += [parent / "proto" / "can" / DBC_NAME for parent in (cwd, *cwd.parents)]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"{DBC_NAME} not found; looked in {[str(p) for p in candidates[:3]]} (set {DBC_ENV})")


def open_bus(settings: Settings) -> can.BusABC:
    """A python-can bus as the settings name it (port only for udp_multicast)."""
    if settings.can_interface == "udp_multicast":
        return can.Bus(interface="udp_multicast", channel=settings.can_channel, port=settings.can_port, fd=False)
    return can.Bus(interface=settings.can_interface, channel=settings.can_channel)

"""The simulator's side of the wire: the same DBC, encoded with cantools, through python-can.

Written apart from `services.power` on purpose: the simulator stands in for hardware made by
others, and services never import each other. Only the DBC is shared, as the contract (found and
opened through `services.common.can_dbc`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import can
import cantools
from cantools.database.can import Database

from services.common.can_dbc import FAULT_SIGNALS, find_dbc, open_bus
from services.common.settings import Settings

from .model import SimModel

log = logging.getLogger(__name__)

CHUNK_CHARS = 6


def _num(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    raise ValueError(f"not a number: {value!r}")


@dataclass(frozen=True)
class Command:
    enable: bool
    voltage_v: float
    current_a: float


class CanLink:
    """Sends the hardware's frames from a `SimModel` and hands controller commands to a callback."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.db: Database = cantools.database.load_file(str(find_dbc()), database_format="dbc", strict=True)  # type: ignore[assignment]
        self.command_id = int(self.db.get_message_by_name("ControllerCommand").frame_id)
        self._alive = {"ModuleStatus": 0, "DcMeter": 0, "EvStatus": 0, "StationInputs": 0}
        self._bus: can.BusABC | None = None
        self._notifier: can.Notifier | None = None

    def open(self) -> None:
        self._bus = open_bus(self._settings)

    def start(self, on_command: Callable[[Command], None]) -> None:
        """Deliver each ControllerCommand to `on_command` on the running loop (our own frames are ignored)."""
        assert self._bus is not None
        loop = asyncio.get_running_loop()
        spec = self.db.get_message_by_name("ControllerCommand")

        def received(msg: can.Message) -> None:  # Notifier thread
            if msg.arbitration_id != self.command_id or msg.is_error_frame:
                return
            try:
                sig = spec.decode(bytes(msg.data))
                assert isinstance(sig, dict)
                cmd = Command(bool(sig["Enable"]), _num(sig["VoltageSetpoint"]), _num(sig["CurrentSetpoint"]))
            except (cantools.database.DecodeError, ValueError) as exc:
                log.warning("undecodable command frame data=%s error=%s", bytes(msg.data).hex(), exc)
                return
            if not loop.is_closed():
                loop.call_soon_threadsafe(on_command, cmd)

        self._notifier = can.Notifier(self._bus, [received], timeout=0.1)

    def close(self) -> None:
        if self._notifier is not None:
            self._notifier.stop(timeout=1.0)
        if self._bus is not None:
            self._bus.shutdown()
        self._notifier, self._bus = None, None

    def _send(self, name: str, signals: dict[str, int | float | str]) -> None:
        if self._bus is None:
            return
        if name in self._alive:
            self._alive[name] = (self._alive[name] + 1) % 256
            signals["AliveCounter"] = self._alive[name]
        spec = self.db.get_message_by_name(name)
        try:
            self._bus.send(can.Message(arbitration_id=spec.frame_id, data=spec.encode(signals), is_extended_id=False),
                           timeout=0.02)
        except can.CanError as exc:
            log.warning("CAN send failed frame=%s error=%s", name, exc)

    def send_status(self, m: SimModel) -> None:
        signals: dict[str, int | float | str] = {
            "Enabled": int(m.enabled), "MeasuredVoltage": round(m.voltage_v, 1), "MeasuredCurrent": m.current_a,
            "Temperature": round(m.temperature_c),
        }
        signals.update({sig: int(fault in m.faults) for fault, sig in FAULT_SIGNALS.items()})
        self._send("ModuleStatus", signals)

    def send_meter(self, m: SimModel) -> None:
        self._send("DcMeter", {"EnergyCounter": round(m.energy_wh, 1)})

    def send_ev(self, m: SimModel) -> None:
        self._send("EvStatus", {
            "PilotState": m.pilot, "EvReady": int(m.plugged), "EvRequestCurrent": m.ev_request_a,
            "EvTargetVoltage": m.target_voltage_v, "SoC": round(m.soc_pct, 1),
        })

    def send_inputs(self, m: SimModel) -> None:
        self._send("StationInputs", {"EmergencyStop": int(m.estop)})

    def send_rfid(self, tag: str, counter: int) -> None:
        raw = tag.encode("ascii")
        for index in range(math.ceil(len(raw) / CHUNK_CHARS)):
            part = raw[index * CHUNK_CHARS : (index + 1) * CHUNK_CHARS].ljust(CHUNK_CHARS, b"\0")
            signals: dict[str, int | float | str] = {"ChunkIndex": index, "SwipeCounter": counter % 16,
                                                     "TagLength": len(raw)}
            signals.update({f"Chunk{index}Char{i}": part[i] for i in range(CHUNK_CHARS)})
            self._send("RfidTag", signals)

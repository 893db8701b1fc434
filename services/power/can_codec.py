"""CAN frames of the station as typed values: every byte goes through cantools and the DBC.

`proto/can/chargebus.dbc` is the single description of the wire (ids, scaling, value tables,
multiplexing); this module only names the signals. No masks, no shifts, no struct.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import can
import cantools
from cantools.database.can import Database

from services.common.can_dbc import FAULT_SIGNALS, find_dbc
from services.common.contract.hardware import HardwareFault

log = logging.getLogger(__name__)

CHUNK_CHARS = 6  # characters per RfidTag frame


class Pilot(StrEnum):
    """IEC 61851 control pilot state, as the DBC value table names it."""

    A = "A_Unplugged"
    B = "B_Connected"
    C = "C_Charging"
    D = "D_Ventilation"
    E = "E_NoPower"
    F = "F_Error"

    @property
    def plugged(self) -> bool:
        return self in (Pilot.B, Pilot.C, Pilot.D)


@dataclass(frozen=True)
class ModuleCommand:
    enable: bool
    voltage_v: float
    current_a: float
    alive: int = 0


@dataclass(frozen=True)
class ModuleStatus:
    enabled: bool
    voltage_v: float
    current_a: float
    temperature_c: float
    faults: frozenset[HardwareFault]
    alive: int = 0


@dataclass(frozen=True)
class MeterReading:
    energy_wh: float
    alive: int = 0


@dataclass(frozen=True)
class EvStatus:
    pilot: Pilot
    ready: bool
    request_a: float
    target_voltage_v: float
    soc_pct: float
    alive: int = 0

    @property
    def plugged(self) -> bool:
        return self.pilot.plugged


@dataclass(frozen=True)
class StationInputs:
    emergency_stop: bool
    alive: int = 0


@dataclass(frozen=True)
class RfidChunk:
    index: int
    counter: int
    length: int
    chars: bytes


Frame = ModuleCommand | ModuleStatus | MeterReading | EvStatus | RfidChunk | StationInputs


class CanCodec:
    """Encode the controller's command; decode every frame of the DBC (the others are the hardware's to send)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or find_dbc()
        self.db: Database = cantools.database.load_file(str(self.path), database_format="dbc", strict=True)  # type: ignore[assignment]
        self.command_id = self._id("ControllerCommand")
        self.status_id = self._id("ModuleStatus")
        self.meter_id = self._id("DcMeter")
        self.ev_id = self._id("EvStatus")
        self.rfid_id = self._id("RfidTag")
        self.inputs_id = self._id("StationInputs")

    def _id(self, name: str) -> int:
        return int(self.db.get_message_by_name(name).frame_id)

    def _msg(self, name: str, signals: dict[str, int | float | str]) -> can.Message:
        spec = self.db.get_message_by_name(name)
        return can.Message(arbitration_id=spec.frame_id, data=spec.encode(signals), is_extended_id=False)

    # -- encoder --------------------------------------------------------------------------------

    def encode_command(self, cmd: ModuleCommand) -> can.Message:
        return self._msg("ControllerCommand", {
            "Enable": int(cmd.enable), "VoltageSetpoint": cmd.voltage_v, "CurrentSetpoint": cmd.current_a,
            "AliveCounter": cmd.alive % 256,
        })

    # -- decoder --------------------------------------------------------------------------------

    def decode(self, msg: can.Message) -> Frame | None:
        """The typed frame, or None (logged) for an unknown id or a frame the DBC refuses."""
        try:
            spec = self.db.get_message_by_frame_id(msg.arbitration_id)
        except KeyError:
            log.debug("unknown CAN id=%#x", msg.arbitration_id)
            return None
        try:
            sig = spec.decode(bytes(msg.data), decode_choices=True)
        except (cantools.database.DecodeError, ValueError, KeyError) as exc:
            log.warning("undecodable CAN frame id=%#x data=%s error=%s", msg.arbitration_id, bytes(msg.data).hex(), exc)
            return None
        assert isinstance(sig, dict)
        try:
            return self._typed(spec.name, sig)
        except (KeyError, ValueError) as exc:
            log.warning("implausible CAN frame id=%#x error=%s", msg.arbitration_id, exc)
            return None

    def _typed(self, name: str, s: Mapping[str, object]) -> Frame | None:
        def num(key: str) -> float:
            return round(float(s[key]), 6)  # type: ignore[arg-type]  # drop the float noise of raw * 0.1

        if name == "ControllerCommand":
            return ModuleCommand(bool(s["Enable"]), num("VoltageSetpoint"), num("CurrentSetpoint"),
                                 int(num("AliveCounter")))
        if name == "ModuleStatus":
            faults = frozenset(f for f, sig in FAULT_SIGNALS.items() if s[sig])
            return ModuleStatus(bool(s["Enabled"]), num("MeasuredVoltage"), num("MeasuredCurrent"),
                                num("Temperature"), faults, int(num("AliveCounter")))
        if name == "DcMeter":
            return MeterReading(num("EnergyCounter"), int(num("AliveCounter")))
        if name == "EvStatus":
            return EvStatus(Pilot(str(s["PilotState"])), bool(s["EvReady"]), num("EvRequestCurrent"),
                            num("EvTargetVoltage"), num("SoC"), int(num("AliveCounter")))
        if name == "StationInputs":
            return StationInputs(bool(s["EmergencyStop"]), int(num("AliveCounter")))
        if name == "RfidTag":
            index = int(num("ChunkIndex"))
            chars = bytes(int(num(f"Chunk{index}Char{i}")) for i in range(CHUNK_CHARS))
            return RfidChunk(index, int(num("SwipeCounter")), int(num("TagLength")), chars)
        return None


class RfidAssembler:
    """Collects the chunks of one swipe; a new counter value starts a new tag.

    A frame repeated after its tag completed (same counter within `REPEAT_S`) is not a new swipe.
    """

    REPEAT_S = 1.0

    def __init__(self) -> None:
        self._counter: int | None = None
        self._length = 0
        self._parts: dict[int, bytes] = {}
        self._done: tuple[int, float] | None = None

    def feed(self, chunk: RfidChunk, now: float) -> str | None:
        """The whole card id once its last chunk arrived, else None. Invalid tags are dropped (logged)."""
        if self._done is not None and self._done[0] == chunk.counter and now - self._done[1] < self.REPEAT_S:
            return None
        if chunk.counter != self._counter or chunk.length != self._length:
            self._counter, self._length, self._parts = chunk.counter, chunk.length, {}
        self._parts[chunk.index] = chunk.chars
        needed = math.ceil(chunk.length / CHUNK_CHARS)
        if chunk.length < 1 or any(i not in self._parts for i in range(needed)):
            return None
        raw = b"".join(self._parts[i] for i in range(needed))[: chunk.length]
        self._parts, self._counter, self._done = {}, None, (chunk.counter, now)
        try:
            tag = raw.decode("ascii")
        except UnicodeDecodeError:
            log.warning("RFID tag is not ASCII raw=%s", raw.hex())
            return None
        if not tag.isprintable():
            log.warning("RFID tag has unprintable characters raw=%s", raw.hex())
            return None
        return tag

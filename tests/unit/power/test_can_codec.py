"""Power decodes every frame of the DBC as cantools encodes it; the RFID tag through the simulator's multiplexed
chunks. Power encodes only its own ControllerCommand; the hardware's frames are built here from the DBC (or sent
by the simulator, which stands in for that hardware)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import can
import cantools
import pytest
from cantools.database.can import Database
from pydantic import ValidationError

from services.common.can_dbc import FAULT_SIGNALS, find_dbc
from services.common.contract.hardware import HardwareFault
from services.common.contract.sim import SwipeRequest
from services.common.settings import Settings
from services.power.can_codec import (
    CanCodec,
    EvStatus,
    MeterReading,
    ModuleCommand,
    ModuleStatus,
    Pilot,
    RfidAssembler,
    RfidChunk,
    StationInputs,
)
from services.sim.can_link import CanLink

_CHANNELS = itertools.count()


@pytest.fixture(scope="module")
def codec() -> CanCodec:
    return CanCodec()


@pytest.fixture(scope="module")
def wire() -> Database:
    """The DBC as the hardware's side reads it."""
    db = cantools.database.load_file(str(find_dbc()), database_format="dbc", strict=True)
    assert isinstance(db, Database)
    return db


def frame(wire: Database, name: str, signals: dict[str, int | float | str]) -> can.Message:
    spec = wire.get_message_by_name(name)
    return can.Message(arbitration_id=spec.frame_id, data=spec.encode(signals), is_extended_id=False)


class Reader:
    """The simulator's CAN side on a virtual bus, and what a listener on that bus receives from it."""

    def __init__(self) -> None:
        channel = f"test-can-codec-{next(_CHANNELS)}"
        self.link = CanLink(Settings(can_interface="virtual", can_channel=channel))
        self.listener = can.Bus(interface="virtual", channel=channel)
        self.link.open()

    def swipe(self, tag: str, counter: int) -> list[can.Message]:
        self.link.send_rfid(tag, counter)
        frames = []
        while (msg := self.listener.recv(timeout=0)) is not None:
            frames.append(msg)
        return frames

    def close(self) -> None:
        self.link.close()
        self.listener.shutdown()


@pytest.fixture
def reader() -> Iterator[Reader]:
    r = Reader()
    yield r
    r.close()


def test_dbc_declares_11_bit_ids_and_100_ms_cycles(codec: CanCodec) -> None:
    for msg in codec.db.messages:
        assert not msg.is_extended_frame and msg.frame_id < 0x800 and msg.length == 8
    cyclic = {m.name: m.cycle_time for m in codec.db.messages if m.name != "RfidTag"}
    assert cyclic == {"ControllerCommand": 100, "ModuleStatus": 100, "DcMeter": 100, "EvStatus": 100,
                      "StationInputs": 100}
    assert codec.db.get_message_by_name("RfidTag").is_multiplexed()


def test_dbc_is_found_from_any_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    assert find_dbc().name == "chargebus.dbc"


@pytest.mark.parametrize("cmd", [ModuleCommand(True, 450.0, 200.0, 1), ModuleCommand(False, 0.0, 0.0, 255),
                                 ModuleCommand(True, 1000.0, 600.0, 0)])
def test_command_round_trip(codec: CanCodec, cmd: ModuleCommand) -> None:
    msg = codec.encode_command(cmd)
    assert msg.arbitration_id == codec.command_id and not msg.is_extended_id
    assert codec.decode(msg) == cmd


@pytest.mark.parametrize("faults", [frozenset(), frozenset(HardwareFault), frozenset({HardwareFault.READER})])
def test_status_with_fault_bits_is_decoded(codec: CanCodec, wire: Database, faults: frozenset[HardwareFault]) -> None:
    status = ModuleStatus(True, 412.3, 499.9, -12.0, faults, 42)
    msg = frame(wire, "ModuleStatus", {
        "Enabled": 1, "MeasuredVoltage": 412.3, "MeasuredCurrent": 499.9, "Temperature": -12, "AliveCounter": 42,
        **{sig: int(fault in faults) for fault, sig in FAULT_SIGNALS.items()}})
    assert codec.decode(msg) == status


@pytest.mark.parametrize("pressed", [True, False])
def test_station_inputs_are_decoded(codec: CanCodec, wire: Database, pressed: bool) -> None:
    inputs = StationInputs(emergency_stop=pressed, alive=200)
    msg = frame(wire, "StationInputs", {"EmergencyStop": int(pressed), "AliveCounter": 200})
    assert msg.arbitration_id == codec.inputs_id == 0x150 and codec.decode(msg) == inputs


def test_meter_keeps_a_large_counter(codec: CanCodec, wire: Database) -> None:
    meter = MeterReading(12_345_678.9, 3)
    assert codec.decode(frame(wire, "DcMeter", {"EnergyCounter": 12_345_678.9, "AliveCounter": 3})) == meter


@pytest.mark.parametrize("pilot", list(Pilot))
def test_ev_is_decoded_through_the_value_table(codec: CanCodec, wire: Database, pilot: Pilot) -> None:
    ev = EvStatus(pilot, True, 200.5, 450.0, 99.9, 9)
    decoded = codec.decode(frame(wire, "EvStatus", {
        "PilotState": pilot.value, "EvReady": 1, "EvRequestCurrent": 200.5, "EvTargetVoltage": 450.0, "SoC": 99.9,
        "AliveCounter": 9}))
    assert decoded == ev and isinstance(decoded, EvStatus)
    assert decoded.plugged is (pilot in (Pilot.B, Pilot.C, Pilot.D))


def test_out_of_range_values_are_refused_by_the_dbc(codec: CanCodec) -> None:
    with pytest.raises(Exception, match="CurrentSetpoint"):
        codec.encode_command(ModuleCommand(True, 400.0, 601.0))


@pytest.mark.parametrize("tag", ["A", "04A2B3", "04A2B3C4", "ABCDEFGHIJKL", "ABCDEFGHIJKLMNOPQRST", "tag with space"])
def test_rfid_tag_round_trip(codec: CanCodec, reader: Reader, tag: str) -> None:
    frames = reader.swipe(tag, counter=5)
    assert len(frames) == -(-len(tag) // 6)
    assembler = RfidAssembler()
    results = []
    for i, msg in enumerate(frames):
        chunk = codec.decode(msg)
        assert isinstance(chunk, RfidChunk) and chunk.index == i and chunk.length == len(tag)
        results.append(assembler.feed(chunk, now=1.0))
    assert results[-1] == tag and all(r is None for r in results[:-1])


def test_rfid_chunks_of_two_swipes_never_mix(codec: CanCodec, reader: Reader) -> None:
    assembler = RfidAssembler()
    first = [codec.decode(f) for f in reader.swipe("AAAAAAAAAAAA", counter=1)]
    second = [codec.decode(f) for f in reader.swipe("BBBBBBBBBBBB", counter=2)]
    assert isinstance(first[0], RfidChunk) and isinstance(second[0], RfidChunk) and isinstance(second[1], RfidChunk)
    assert assembler.feed(first[0], 1.0) is None  # the rest of the first swipe is lost
    assert assembler.feed(second[0], 1.1) is None
    assert assembler.feed(second[1], 1.1) == "BBBBBBBBBBBB"
    assert assembler.feed(second[1], 1.2) is None  # a repeated frame is not a new swipe
    again = codec.decode(reader.swipe("BBBBBB", counter=2)[0])
    assert isinstance(again, RfidChunk) and assembler.feed(again, 5.0) == "BBBBBB"  # later: a new swipe


@pytest.mark.parametrize("tag", ["", "X" * 21])
def test_rfid_tag_length_is_checked_before_the_reader_sends_it(tag: str) -> None:
    with pytest.raises(ValidationError, match="id_tag"):
        SwipeRequest(id_tag=tag)


def test_unknown_and_short_frames_decode_to_none(codec: CanCodec) -> None:
    assert codec.decode(can.Message(arbitration_id=0x7FF, data=b"\0" * 8, is_extended_id=False)) is None
    assert codec.decode(can.Message(arbitration_id=codec.status_id, data=b"\1", is_extended_id=False)) is None
    bad_pilot = codec.db.get_message_by_name("EvStatus").encode(
        {"PilotState": 7, "EvReady": 0, "EvRequestCurrent": 0, "EvTargetVoltage": 0, "SoC": 0, "AliveCounter": 0},
        strict=False)
    assert codec.decode(can.Message(arbitration_id=codec.ev_id, data=bad_pilot, is_extended_id=False)) is None

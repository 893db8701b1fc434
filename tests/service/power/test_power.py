"""power + sim over a real broker and udp_multicast CAN: connector states, set-points, faults, RFID."""

from __future__ import annotations

import pytest

from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode, ocpp_gateway, power, sim, smart_charging
from services.common.contract.hardware import HardwareFault
from services.common.contract.ocpp_gateway import AvailabilityIntent
from services.common.contract.power import (
    ConnectorRequest,
    ConnectorState,
    EnergizeRequest,
    RfidSwiped,
    SetLimitRequest,
)
from services.common.contract.sim import (
    EvRequest,
    FaultRequest,
    PlugRequest,
    SimCondition,
    SimFault,
    SimState,
    SwipeRequest,
)
from services.common.contract.smart_charging import ChargingLimit

from .conftest import Recorder, Running

Observer = tuple[Bus, Recorder]


async def _plug_and_energize(bus: Bus, rec: Recorder) -> ConnectorState:
    await bus.request(sim.PLUG, PlugRequest())
    await rec.status("Preparing")
    state: ConnectorState = await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
    return state


async def _current_is(rec: Recorder, amps: float) -> None:
    await rec.until(lambda: (m := rec.measurement()) is not None and m.current_a == amps, f"measured current {amps} A")


async def test_plug_shows_preparing_and_unplug_available(stack: Running, observer: Observer) -> None:
    bus, rec = observer
    reply = await bus.request(sim.PLUG, PlugRequest())
    assert isinstance(reply, SimState) and reply.plugged
    state = await rec.status("Preparing")
    assert state.plugged and not state.energized and state.fault is None
    await bus.request(sim.UNPLUG, PlugRequest())
    state = await rec.status("Available")
    assert not state.plugged


async def test_energize_charges_and_the_current_follows_every_limit(stack: Running, observer: Observer) -> None:
    bus, rec = observer
    state = await _plug_and_energize(bus, rec)
    assert state.energized and state.delivering and state.setpoint_a == 200.0  # the EV's default request
    await _current_is(rec, 200.0)
    m = rec.measurement()
    assert m is not None and m.voltage_v > 300 and m.power_w > 0 and m.soc_pct is not None and m.ev_request_a == 200.0

    capped = await bus.request(power.SET_LIMIT, SetLimitRequest(current_a=100.0))
    assert capped.limit_a == 100.0 and capped.setpoint_a == 100.0
    await _current_is(rec, 100.0)

    bus.publish(smart_charging.LIMIT, ChargingLimit(connector_id=1, limit_a=60.0), connector_id=1)
    await _current_is(rec, 60.0)
    bus.publish(smart_charging.LIMIT, ChargingLimit(connector_id=1, limit_a=0.0), connector_id=1)
    await rec.status("SuspendedEVSE")
    await _current_is(rec, 0.0)
    bus.clear(smart_charging.LIMIT, connector_id=1)  # no profile in force any more: the maintenance cap rules
    await _current_is(rec, 100.0)
    await rec.status("Charging")

    await bus.request(sim.EV, EvRequest(max_current_a=0.0))
    await rec.status("SuspendedEV")
    await bus.request(sim.EV, EvRequest(max_current_a=50.0))
    await _current_is(rec, 50.0)

    done = await bus.request(power.DEENERGIZE, ConnectorRequest())
    assert rec.said(done)[0] == "Finishing" and done.awaiting_unplug and not done.energized
    await _current_is(rec, 0.0)
    await bus.request(sim.UNPLUG, PlugRequest())
    await rec.status("Available")


async def test_the_caller_has_its_answer_before_the_followers_hear_of_the_new_state(stack: Running,
                                                                                  observer: Observer) -> None:
    """A start waits on energize's reply, which is the new state: it leaves first, and the state and measurement
    everyone follows come after it (they had cost the gateway's start a millisecond and a half)."""
    bus, rec = observer
    await bus.request(sim.PLUG, PlugRequest())
    await rec.status("Preparing")
    state = await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
    assert state.energized and state.delivering
    followed = [p for _t, p in rec.seen if isinstance(p, ConnectorState) and p.energized]
    assert followed == []  # not yet: the reply came first
    published = await rec.status("Charging")
    assert published.energized and published.since == state.since  # the same state, published after the reply
    off = await bus.request(power.DEENERGIZE, ConnectorRequest())
    assert not off.energized and rec.said(rec.connector() or off)[0] == "Charging"  # the stop is answered first too
    await rec.until(lambda: (c := rec.connector()) is not None and not c.energized, "the de-energized state")


async def test_energy_counter_rises_while_charging(stack: Running, observer: Observer) -> None:
    bus, rec = observer
    await _plug_and_energize(bus, rec)
    await rec.until(lambda: (m := rec.measurement()) is not None and m.energy_wh > 1.0, "energy delivered")


@pytest.mark.parametrize("why", ["unplugged", "inoperative", "faulted"])
async def test_energize_is_rejected(stack: Running, observer: Observer, why: str) -> None:
    bus, rec = observer
    if why != "unplugged":
        await bus.request(sim.PLUG, PlugRequest())
        await rec.status("Preparing")
    if why == "inoperative":
        bus.publish(ocpp_gateway.AVAILABILITY, AvailabilityIntent(connector_id=1, operative=False), connector_id=1)
        await rec.status("Unavailable")
    if why == "faulted":
        await bus.request(sim.FAULT, FaultRequest(code=HardwareFault.GROUND_FAILURE))
        await rec.status("Faulted")
    with pytest.raises(BusError) as err:
        await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
    assert err.value.code is ErrorCode.REJECTED
    state = await bus.request(power.GET_STATE, ConnectorRequest())
    assert not state.energized and state.setpoint_a == 0.0


EXPECTED_CODES: dict[SimFault, str] = {
    HardwareFault.GROUND_FAILURE: "GroundFailure",
    HardwareFault.HIGH_TEMPERATURE: "HighTemperature",
    HardwareFault.OVER_CURRENT: "OverCurrentFailure",
    HardwareFault.OVER_VOLTAGE: "OverVoltage",
    HardwareFault.UNDER_VOLTAGE: "UnderVoltage",
    HardwareFault.POWER_METER: "PowerMeterFailure",
    HardwareFault.POWER_SWITCH: "PowerSwitchFailure",
    HardwareFault.CONNECTOR_LOCK: "ConnectorLockFailure",
    HardwareFault.EV_COMMUNICATION: "EVCommunicationError",
    HardwareFault.READER: "ReaderFailure",
    HardwareFault.INTERNAL: "InternalError",
    SimCondition.MODULE_SILENT: "InternalError",
}


@pytest.mark.parametrize("fault", list(EXPECTED_CODES), ids=[f.value for f in EXPECTED_CODES])
async def test_each_fault_is_faulted_with_its_code_and_clears(stack: Running, observer: Observer,
                                                              fault: SimFault) -> None:
    bus, rec = observer
    await _plug_and_energize(bus, rec)
    await _current_is(rec, 200.0)
    reply = await bus.request(sim.FAULT, FaultRequest(code=fault))
    assert fault in reply.faults
    state = await rec.status("Faulted")
    assert rec.said(state)[1] == EXPECTED_CODES[fault]
    assert state.fault == fault.value
    assert not state.energized and state.setpoint_a == 0.0  # a fault opens the output
    with pytest.raises(BusError):
        await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
    cleared = await bus.request(sim.FAULT, FaultRequest(code=None))
    assert cleared.faults == []
    state = await rec.status("Finishing")  # the session was ended by the fault; the EV is still plugged
    assert state.fault is None
    await _current_is(rec, 0.0)


async def test_swipe_publishes_the_tag(stack: Running, observer: Observer) -> None:
    bus, rec = observer
    tags = ["04A2B3C4", "X", "ABCDEFGHIJKLMNOPQRST", "04A2B3C4"]
    for tag in tags:
        await bus.request(sim.SWIPE, SwipeRequest(card=tag))
    swiped = power.RFID_SWIPED.render()

    def events() -> list[str]:
        return [p.token.value for t, p in rec.seen if t == swiped and isinstance(p, RfidSwiped)]

    await rec.until(lambda: len(events()) >= len(tags), "four swipes")
    assert events() == tags


async def test_an_inoperative_connector_refuses_to_energize(stack: Running, observer: Observer) -> None:
    bus, rec = observer
    await bus.request(sim.PLUG, PlugRequest())
    await rec.status("Preparing")
    bus.publish(ocpp_gateway.AVAILABILITY, AvailabilityIntent(connector_id=1, operative=False), connector_id=1)
    await rec.status("Unavailable")
    with pytest.raises(BusError, match="inoperative"):
        await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
    bus.publish(ocpp_gateway.AVAILABILITY, AvailabilityIntent(connector_id=1, operative=True), connector_id=1)
    await rec.status("Preparing")
    state = await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
    assert state.energized
    with pytest.raises(BusError) as err:
        await bus.request(power.GET_STATE, ConnectorRequest(connector_id=2))
    assert err.value.code is ErrorCode.NOT_FOUND

"""No energy without a session the gateway has persisted, and no late commands: power and sim on a real broker,
the test answering power's session question as the gateway would."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess

import pytest

from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode, power, sim
from services.common.contract.power import ConnectorRequest, EnergizeRequest
from services.common.contract.sim import PlugRequest
from services.common.settings import Settings
from tests.broker import Broker

from .conftest import SESSION, GatewaySessions, Recorder, Running

Observer = tuple[Bus, Recorder]


async def _plugged(bus: Bus, rec: Recorder) -> None:
    await bus.request(sim.PLUG, PlugRequest())
    await rec.status("Preparing")


async def test_a_stray_energize_from_another_client_is_refused(stack: Running, observer: Observer,
                                                               settings: Settings) -> None:
    bus, rec = observer
    await _plugged(bus, rec)
    # what a technician's mosquitto_pub would send: no session at all
    subprocess.run(["mosquitto_pub", "-p", str(settings.mqtt_port), "-q", "1", "-t", power.ENERGIZE.path,
                    "-m", json.dumps({"connector_id": 1})], check=True, timeout=10)
    with pytest.raises(BusError) as made_up:
        await bus.request(power.ENERGIZE, EnergizeRequest(session_id="made-up"))
    assert made_up.value.code is ErrorCode.REJECTED and "no open session made-up" in made_up.value.message
    state = await bus.request(power.GET_STATE, ConnectorRequest())
    assert not state.energized and state.setpoint_a == 0.0 and state.status == "Preparing"
    assert not any(s.energized for t, s in rec.seen if t.endswith("/connector/1") and s is not None)


async def test_an_output_whose_session_closed_is_cut_within_two_seconds(stack: Running, observer: Observer,
                                                                         sessions: GatewaySessions) -> None:
    bus, rec = observer
    await _plugged(bus, rec)
    assert (await bus.request(power.ENERGIZE, EnergizeRequest(session_id=SESSION))).energized
    await rec.status("Charging")
    sessions.open[1] = None  # the gateway no longer has it (a store write that failed, a stray start...)
    loop = asyncio.get_running_loop()
    closed_at = loop.time()
    state = await rec.status("Finishing", timeout=5)
    assert not state.energized and loop.time() - closed_at <= 2.5


async def test_a_gateway_that_does_not_answer_cuts_nothing_running_but_blocks_new_starts(
        stack: Running, observer: Observer, sessions: GatewaySessions, settings: Settings) -> None:
    bus, rec = observer
    await _plugged(bus, rec)
    assert (await bus.request(power.ENERGIZE, EnergizeRequest(session_id=SESSION))).energized
    # the gateway restarting: nobody answers the session question for a while
    mute = Bus(settings, "mute", client_id="test-mute", persistent=False, health=False)
    await bus.stop()
    asked = sessions.asked
    await asyncio.sleep(2.5)
    assert sessions.asked == asked  # nobody answered: the question went unanswered twice
    await mute.start(5)
    try:
        state = await mute.request(power.GET_STATE, ConnectorRequest())
        assert state.energized and state.status == "Charging"  # a restarting gateway never cuts a charge
    finally:
        await mute.stop()


async def test_an_energize_that_arrives_after_its_deadline_is_not_carried_out(
        stack: Running, observer: Observer, broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    """The broker goes down during an energize and comes back after the caller's timeout: paho sends the
    queued request then, and the broker's expiry counts only from then. Power must not carry it out."""
    bus, rec = observer
    await _plugged(bus, rec)
    caplog.set_level(logging.WARNING, logger="services.common.bus")
    broker.stop()
    with pytest.raises(BusError) as timed_out:
        await bus.request(power.ENERGIZE, EnergizeRequest(session_id=SESSION), timeout=1.0)
    assert timed_out.value.code is ErrorCode.TIMEOUT
    await asyncio.sleep(1.5)
    broker.start()
    await rec.until(lambda: any("expired request refused topic=chargebus/power/cmd/energize" in r.getMessage()
                                for r in caplog.records), "power refused the late energize")
    state = await bus.request(power.GET_STATE, ConnectorRequest())
    assert not state.energized and state.setpoint_a == 0.0

"""No energy without a session the gateway has persisted, and no late commands: power and sim on a real broker,
the test answering power's session question as the gateway would."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess

import pytest

from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode, ocpp_gateway, power, sim
from services.common.contract.power import ConnectorRequest, ConnectorState, EnergizeRequest
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
    assert not state.energized and state.setpoint_a == 0.0 and state.plugged
    assert not any(isinstance(s, ConnectorState) and s.energized for t, s in rec.seen if t.endswith("/connector/1"))


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


async def test_a_gateway_that_does_not_answer_cuts_nothing_running(
        stack: Running, observer: Observer, settings: Settings) -> None:
    bus, rec = observer
    await _plugged(bus, rec)
    assert (await bus.request(power.ENERGIZE, EnergizeRequest(session_id=SESSION))).energized
    await rec.status("Charging")
    # the gateway restarting: nobody answers the session question for a while
    await bus.stop()
    mute = Bus(settings, "mute", client_id="test-mute", persistent=False, health=False)
    questions = Recorder()
    mute.watch(ocpp_gateway.GET_SESSION.filter, questions.on)
    await mute.start(5)
    try:
        # power asks again only after its last question timed out: the third one means it has had two
        # unanswered questions to act on
        await questions.until(lambda: len(questions.seen) >= 3, "power asking the session question three times")
        state = await mute.request(power.GET_STATE, ConnectorRequest())
        assert state.energized and state.delivering  # a restarting gateway never cuts a charge
    finally:
        await mute.stop()


async def test_a_gateway_that_does_not_answer_blocks_new_starts(
        stack: Running, observer: Observer, sessions: GatewaySessions, settings: Settings) -> None:
    bus, rec = observer
    await _plugged(bus, rec)
    await bus.stop()  # the gateway restarting: nobody answers the session question
    caller = Bus(settings, "caller", client_id="test-caller", persistent=False, health=False)
    await caller.start(5)
    try:
        with pytest.raises(BusError) as refused:
            await caller.request(power.ENERGIZE, EnergizeRequest(session_id=SESSION))
        assert refused.value.code is ErrorCode.REJECTED
        assert f"the gateway did not confirm session {SESSION}" in refused.value.message
        assert not (await caller.request(power.GET_STATE, ConnectorRequest())).energized
        # the gateway back: the very same start goes through, so it was refused for the silence alone
        gateway = Bus(settings, "gateway", client_id="test-gateway-back", persistent=False, health=False)
        gateway.handle(ocpp_gateway.GET_SESSION, sessions.on_get_session)
        await gateway.start(5)
        try:
            assert (await caller.request(power.ENERGIZE, EnergizeRequest(session_id=SESSION))).energized
        finally:
            await gateway.stop()
    finally:
        await caller.stop()


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

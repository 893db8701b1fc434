"""Bad input on every topic power and sim subscribe to, and garbage on the CAN bus, crashes neither."""

from __future__ import annotations

import asyncio
import json
import time

import can
import paho.mqtt.client as mqtt
from pydantic import ValidationError

from services.common.bus import Bus
from services.common.contract import Address, Kind, Topic, ocpp_gateway, power, reply_filter, sim, smart_charging
from services.common.contract.power import ConnectorRequest, EnergizeRequest
from services.common.contract.sim import EvRequest, PlugRequest
from services.common.settings import Settings
from services.power.can_codec import CanCodec
from services.power.driver import open_bus

from .conftest import Recorder, Running

SUBSCRIBED = [power.ENERGIZE, power.DEENERGIZE, power.SET_LIMIT, ocpp_gateway.AVAILABILITY, power.SUSPEND,
              power.GET_STATE, smart_charging.LIMIT, sim.PLUG, sim.UNPLUG, sim.SWIPE, sim.FAULT, sim.EV]

BAD_PAYLOADS = [
    b"not json",
    b"",
    b"null",
    b"[1, 2]",
    b'{"connector_id": "one"}',
    b'{"connector_id": 1, "current_a": -5, "operative": "yes", "active": 3, "limit_a": "x", "code": 7}',
    b'{"connector_id": 1, "unknown_field": true}',
    b'{"card": ""}',
    b'{"card": "\\u00e9t\\u00e9\\u0000"}',
    b'{"connector_id": 99999999999999999999999}',
    json.dumps({"connector_id": 1, "pad": "x" * 100_000}).encode(),
]
CLIENT_ID = "test-bad-input"


def _valid(topic: Topic, payload: dict[str, object]) -> bool:
    try:
        topic.payload.model_validate(payload)
    except ValidationError:
        return False
    return True


def _raw_client(settings: Settings, replies: list[bytes]) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=CLIENT_ID, protocol=mqtt.MQTTv5)
    client.on_message = lambda _c, _u, msg: replies.append(msg.payload)
    client.connect(settings.mqtt_host, settings.mqtt_port)
    client.subscribe(reply_filter(CLIENT_ID), qos=1)
    client.loop_start()
    return client


async def test_bad_payloads_on_every_subscribed_topic(stack: Running, observer: tuple[Bus, Recorder],
                                                      settings: Settings) -> None:
    bus, rec = observer
    replies: list[bytes] = []
    client = _raw_client(settings, replies)
    sent_commands = 0
    try:
        for topic in SUBSCRIBED:
            params = {p: "1" for p in topic.params}
            address = Address(caller=CLIENT_ID, request="bad", deadline=time.time() + 60)
            concrete = topic.request_path(address, **params) if topic.kind is Kind.CMD else topic.render(**params)
            for payload in BAD_PAYLOADS:
                sent_commands += topic.kind is Kind.CMD
                # never retained: a bad retained limit would only be re-read, not crash anything
                client.publish(concrete, payload, qos=1).wait_for_publish(5)
        await rec.until(lambda: len(replies) >= sent_commands, "a reply to every bad command")
    finally:
        client.loop_stop()
        client.disconnect()
    codes = [json.loads(r)["error"]["code"] for r in replies]
    # a huge connector id is well-formed for a command that takes only a connector: power answers not_found;
    # everything else is refused at the edge
    huge = {"connector_id": 99999999999999999999999}
    well_formed = [t for t in SUBSCRIBED if t.kind is Kind.CMD and _valid(t, huge)]
    assert well_formed and set(codes) == {"bad_request", "not_found"} and codes.count("not_found") == len(well_formed)

    # both still answer, and still work together (on a loaded machine the flood may delay CAN frames long
    # enough for a transient `module_silent`; it must clear by itself)
    await rec.status("Available")
    state = await bus.request(power.GET_STATE, ConnectorRequest())
    assert state.limit_a == 500.0 and not state.plugged
    assert (await bus.request(sim.EV, EvRequest(max_current_a=150.0))).max_current_a == 150.0
    await bus.request(sim.PLUG, PlugRequest())
    await rec.status("Preparing")
    assert (await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))).setpoint_a == 150.0


async def test_garbage_frames_on_the_can_bus(stack: Running, observer: tuple[Bus, Recorder],
                                             settings: Settings) -> None:
    bus, rec = observer
    codec = CanCodec()
    ids = [codec.command_id, codec.status_id, codec.meter_id, codec.ev_id, codec.rfid_id, 0x7FF]
    node = open_bus(settings)
    try:
        for frame_id in ids:
            for data in (b"", b"\x01", b"\xff" * 8, bytes(range(8))):
                node.send(can.Message(arbitration_id=frame_id, data=data, is_extended_id=False))
        await asyncio.sleep(0.3)
    finally:
        node.shutdown()
    await bus.request(sim.PLUG, PlugRequest())
    state = await rec.status("Preparing")
    assert state.fault is None
    assert (await bus.request(power.GET_STATE, ConnectorRequest())).plugged

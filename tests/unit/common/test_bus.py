"""The bus client against a real broker: contract enforcement, request/response, persistence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import paho.mqtt.client as mqtt
import pytest

from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode, Kind, Topic
from services.common.contract.power import GET_STATE, RFID_SWIPED, ConnectorRequest, ConnectorState, RfidSwiped
from services.common.contract.sim import SWIPE, SimState, SwipeRequest
from services.common.settings import Settings


def _state() -> ConnectorState:
    from services.common.contract.power import CONNECTOR

    assert CONNECTOR.example is not None
    return ConnectorState.model_validate(CONNECTOR.example)


async def _serving(server: Bus, get_state: Callable[[ConnectorRequest, dict[str, str]], Awaitable[ConnectorState]],
                   settings: Settings) -> Bus:
    """`server` (power) answering GET_STATE with `get_state`, both connected; returns a connected caller."""
    server.handle(GET_STATE, get_state)
    await server.start(5)
    client = Bus(settings, "caller", persistent=False, health=False)
    await client.start(5)
    return client


async def test_request_reply_round_trip(settings: Settings) -> None:
    server = Bus(settings, "power")
    calls: list[int] = []

    async def get_state(req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        calls.append(req.connector_id)
        return _state()

    client = await _serving(server, get_state, settings)
    try:
        reply = await client.request(GET_STATE, ConnectorRequest(connector_id=1), timeout=3)
        assert isinstance(reply, ConnectorState) and reply.delivering
        assert calls == [1]
    finally:
        await client.stop()
        await server.stop()


async def test_handler_error_and_timeout(settings: Settings) -> None:
    server = Bus(settings, "sim")

    async def swipe(req: SwipeRequest, _p: dict[str, str]) -> SimState:
        raise BusError(ErrorCode.REJECTED, f"reader off for {req.card}")

    server.handle(SWIPE, swipe)
    await server.start(5)
    client = Bus(settings, "caller", persistent=False, health=False)
    await client.start(5)
    try:
        with pytest.raises(BusError) as err:
            await client.request(SWIPE, SwipeRequest(card="ABC"), timeout=3)
        assert err.value.code is ErrorCode.REJECTED and "ABC" in err.value.message
        with pytest.raises(BusError) as late:
            await client.request(GET_STATE, ConnectorRequest(), timeout=0.3)
        assert late.value.code is ErrorCode.TIMEOUT
    finally:
        await client.stop()
        await server.stop()


async def test_invalid_payloads_are_dropped_and_answered(settings: Settings) -> None:
    server = Bus(settings, "power")
    seen: list[RfidSwiped] = []

    async def on_swipe(msg: RfidSwiped, _p: dict[str, str]) -> None:
        seen.append(msg)

    server.on(RFID_SWIPED, on_swipe)
    async def get_state(_req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        return _state()

    server.handle(GET_STATE, get_state)
    await server.start(5)
    raw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    raw.connect("127.0.0.1", settings.mqtt_port)
    raw.loop_start()
    try:
        for bad in (b"not json", b'{"token": 5}', b'{"token": {"value": "A", "type": "iso14443"}, "extra": 1}',
                    b"x" * 100_000, b"[]"):
            raw.publish(RFID_SWIPED.path, bad, qos=1).wait_for_publish(2)
        good = json.dumps({"token": {"value": "GOOD", "type": "iso14443"}})
        raw.publish(RFID_SWIPED.path, good, qos=1).wait_for_publish(2)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert [s.token.value for s in seen] == ["GOOD"]
        assert server.dropped == 5
        client = Bus(settings, "caller", persistent=False, health=False)
        await client.start(5)
        # a command with a wrong payload gets a bad_request reply from the service
        wrong = Topic(GET_STATE.path, Kind.CMD, SwipeRequest, owner="power", doc="", reply=ConnectorState)
        with pytest.raises(BusError) as err:
            await client.request(wrong, SwipeRequest(card="X"), timeout=3)
        assert err.value.code is ErrorCode.BAD_REQUEST
        await client.stop()
    finally:
        raw.loop_stop()
        await server.stop()


async def test_persistent_session_gets_commands_sent_while_down(settings: Settings) -> None:
    client = Bus(settings, "caller", persistent=False, health=False)
    await client.start(5)
    first = Bus(settings, "power")
    first.handle(GET_STATE, _unreachable)
    await first.start(5)
    await first.stop()  # the session stays in the broker
    pending = asyncio.create_task(client.request(GET_STATE, ConnectorRequest(connector_id=1), timeout=5))
    await asyncio.sleep(0.3)
    second = Bus(settings, "power")
    got: list[int] = []

    async def get_state(req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        got.append(req.connector_id)
        return _state()

    second.handle(GET_STATE, get_state)
    await second.start(5)
    try:
        reply = await pending
        assert isinstance(reply, ConnectorState) and got == [1]
    finally:
        await second.stop()
        await client.stop()


async def _unreachable(_req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
    raise AssertionError("the first instance was stopped before the request")


async def test_a_stop_that_comes_with_the_reply_still_stops_the_caller(settings: Settings) -> None:
    """A service told to stop while a request's reply is arriving stops: the cancellation is not lost.

    Python 3.11's `asyncio.wait_for` returned the reply instead and dropped the cancellation; power's
    session watch then slept on forever and its process never stopped (seen as a 180 s test timeout).
    """
    server = Bus(settings, "power")
    stop_armed = asyncio.Event()

    async def get_state(_req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        await stop_armed.wait()
        return _state()

    client = await _serving(server, get_state, settings)
    after_reply: list[str] = []

    async def watch() -> None:
        await client.request(GET_STATE, ConnectorRequest(connector_id=1), timeout=3)
        after_reply.append("reply")
        await asyncio.sleep(3600)  # where a service loop waits for its next round
        after_reply.append("slept")

    try:
        task = asyncio.create_task(watch())
        async with asyncio.timeout(5):
            while not client._pending:  # the request is out; its answer waits for stop_armed
                await asyncio.sleep(0.001)
        (reply, _owner), = client._pending.values()
        reply.add_done_callback(lambda _f: task.cancel())  # the stop lands in the very tick the reply does
        stop_armed.set()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done == {task} and task.cancelled()
        assert "slept" not in after_reply
    finally:
        await client.stop()
        await server.stop()


async def test_after_reply_runs_once_an_answer_is_out_and_never_after_a_refusal(settings: Settings) -> None:
    """`after_reply`: the restart of a caller (the supervisor restarting the service that asked) comes after
    the answer is with the broker, not after a guessed delay; a refused command does nothing after."""
    server = Bus(settings, "power")
    stopped: list[asyncio.Task[None]] = []

    async def get_state(req: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        server.after_reply(lambda: stopped.append(asyncio.create_task(server.stop())))
        if req.connector_id != 1:
            raise BusError(ErrorCode.NOT_FOUND, f"no connector {req.connector_id}")
        return _state()

    client = await _serving(server, get_state, settings)
    try:
        with pytest.raises(BusError):
            await client.request(GET_STATE, ConnectorRequest(connector_id=2), timeout=3)
        assert stopped == [] and server.connected
        reply = await client.request(GET_STATE, ConnectorRequest(connector_id=1), timeout=3)
        assert isinstance(reply, ConnectorState)
        async with asyncio.timeout(5):
            while not stopped:
                await asyncio.sleep(0.01)
            await stopped[0]
        with pytest.raises(RuntimeError):
            server.after_reply(lambda: None)  # outside a handler there is no reply to wait for
    finally:
        await client.stop()
        if not stopped:
            await server.stop()


async def test_retained_reads_what_the_broker_keeps_once_and_leaves_the_filters(settings: Settings) -> None:
    """A picture taken rarely (the diagnostics archive): the retained states under a wide filter, by topic, a
    cleared one left out; the filter is given up afterwards, and a second picture shows what changed."""
    from services.common.bus import UndeclaredTopic
    from services.common.contract.power import CONNECTOR

    owner = Bus(settings, "power")
    reader = Bus(settings, "firmware", persistent=False, health=False)
    await owner.start(5)
    await reader.start(5)
    try:
        owner.publish(CONNECTOR, _state(), connector_id=1)
        owner.publish(CONNECTOR, _state(), connector_id=2)
        owner.clear(CONNECTOR, connector_id=2)
        owner.publish(RFID_SWIPED, RfidSwiped.model_validate(RFID_SWIPED.example))  # an event: nothing is kept
        watches = list(reader._watches)
        picture = await reader.retained("chargebus/+/state/#", settle_s=0.2)
        assert {t: type(p) for t, p in picture.items() if t.startswith("chargebus/power/")} == {
            "chargebus/power/state/connector/1": ConnectorState}
        assert reader._watches == watches  # nothing more is delivered to this client for the picture's filter
        owner.publish(CONNECTOR, _state().model_copy(update={"delivering": False}), connector_id=1)
        again = await reader.retained("chargebus/+/state/#", settle_s=0.2)
        changed = again["chargebus/power/state/connector/1"]
        assert isinstance(changed, ConnectorState) and not changed.delivering
        metering = Bus(settings, "metering", persistent=False, health=False)
        with pytest.raises(UndeclaredTopic, match="may not watch the wide filter"):
            await metering.retained("chargebus/+/state/#")  # only the accounts that show the whole bus
    finally:
        await reader.stop()
        await owner.stop()

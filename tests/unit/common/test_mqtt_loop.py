"""paho's socket run by the event loop (`mqtt_loop`), against a real broker: a broker that comes late or goes
away and back, and a message bigger than the socket takes at once."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from services.common import mqtt_loop
from services.common.bus import Bus
from services.common.contract.power import GET_STATE, ConnectorRequest, ConnectorState
from tests.broker import Broker
from tests.conftest import isolated_settings


def _state() -> ConnectorState:
    from services.common.contract.power import CONNECTOR

    assert CONNECTOR.example is not None
    return ConnectorState.model_validate(CONNECTOR.example)


async def test_a_broker_that_comes_late_or_restarts_is_reached_again(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker")  # its port is chosen, nothing listens on it yet
    settings = isolated_settings(tmp_path, broker.url)
    asked: list[int] = []

    async def get_state(request: ConnectorRequest, _p: dict[str, str]) -> ConnectorState:
        asked.append(request.connector_id)
        return _state()

    server = Bus(settings, "power")
    server.handle(GET_STATE, get_state)
    caller = Bus(settings, "caller", persistent=False, health=False)
    await server.start(timeout=0)  # keeps trying in the background, the loop stays free
    await caller.start(timeout=0)
    try:
        await asyncio.sleep(0.5)
        assert not server.connected and not caller.connected
        broker.start()
        async with asyncio.timeout(10):
            await server.wait_connected()
            await caller.wait_connected()
        assert (await caller.request(GET_STATE, ConnectorRequest(connector_id=1), timeout=5)).delivering
        broker.restart()
        async with asyncio.timeout(10):
            while server.connected or caller.connected:  # both see the link go
                await asyncio.sleep(0.02)
            await server.wait_connected()
            await caller.wait_connected()
        # subscribed again: the command reaches the server and its reply the caller
        assert (await caller.request(GET_STATE, ConnectorRequest(connector_id=2), timeout=5)).delivering
        assert asked == [1, 2]
    finally:
        await caller.stop()
        await server.stop()
        broker.stop()


async def test_a_message_bigger_than_the_socket_takes_goes_out_whole(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the rest goes out as the socket takes it, not on the next keepalive round
    monkeypatch.setattr(mqtt_loop, "MISC_INTERVAL_S", 60.0)
    broker = Broker(tmp_path / "broker")
    broker.start()
    got: list[bytes] = []
    arrived = threading.Event()
    reader = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="reader", protocol=mqtt.MQTTv5)
    subscribed = threading.Event()
    reader.on_subscribe = lambda *_a: subscribed.set()
    reader.on_message = lambda _c, _u, msg: (got.append(msg.payload), arrived.set())
    reader.connect("127.0.0.1", broker.port)
    reader.subscribe("big/#", qos=1)
    reader.loop_start()
    writer = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="writer", protocol=mqtt.MQTTv5)
    writer.connect_async("127.0.0.1", broker.port)
    driver = mqtt_loop.LoopDriver(writer)
    opened = writer.on_socket_open

    def small_buffer(client: mqtt.Client, userdata: Any, sock: Any) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # so that one write cannot take it all
        opened(client, userdata, sock)

    writer.on_socket_open = small_buffer
    acked = asyncio.Event()
    writer.on_publish = lambda *_a: acked.set()
    connected = asyncio.Event()
    writer.on_connect = lambda *_a: connected.set()
    driver.start()
    try:
        assert await asyncio.to_thread(subscribed.wait, 5)
        async with asyncio.timeout(5):
            await connected.wait()
        payload = bytes(range(256)) * 4096  # 1 MiB
        writer.publish("big/one", payload, qos=1)
        driver.flush()
        assert writer.want_write()  # the socket did not take it at once: the rest waits for it
        async with asyncio.timeout(10):
            await acked.wait()
        assert await asyncio.to_thread(arrived.wait, 5)
        assert got == [payload]
        assert not writer.want_write()
    finally:
        await driver.stop()
        reader.loop_stop()
        reader.disconnect()
        broker.stop()


async def test_a_publish_at_qos_0_from_within_a_callback_of_the_client_goes_out(tmp_path: Path) -> None:
    """paho holds a lock of its own while it calls back, and takes it again to report a QoS 0 message written: a
    message published from a callback (an owner republishing on reconnect) is written after it, not inside."""
    from services.common.contract.power import MEASUREMENT, Measurement

    broker = Broker(tmp_path / "broker")
    broker.start()
    settings = isolated_settings(tmp_path, broker.url)
    assert MEASUREMENT.qos == 0 and MEASUREMENT.example is not None
    measured = Measurement.model_validate(MEASUREMENT.example)
    seen: list[Measurement | None] = []

    async def on_measurement(value: Measurement | None, _p: dict[str, str]) -> None:
        seen.append(value)

    watcher = Bus(settings, "power", client_id="watcher-power", persistent=False, health=False)
    watcher.follow(MEASUREMENT, on_measurement)
    owner = Bus(settings, "power", client_id="owner-power", persistent=False, health=False)
    owner.when_connected(lambda: owner.publish(MEASUREMENT, measured, connector_id=1))  # inside on_subscribe
    try:
        await watcher.start(5)
        await owner.start(5)
        async with asyncio.timeout(5):
            while not seen:
                await asyncio.sleep(0.01)
        assert seen == [measured]
    finally:
        await owner.stop()
        await watcher.stop()
        broker.stop()


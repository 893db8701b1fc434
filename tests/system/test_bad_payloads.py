"""Bad payloads on every topic every service listens to: nothing crashes, every command gets an error reply.

Each service runs as its own process, exactly as the supervisor starts it. The topics come from
the contract (commands a service owns, states and events it subscribes to), so a topic added
later is covered without touching this test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from services.common.contract import TOPICS, Address, Kind, Topic, reply_filter
from services.common.settings import SERVICES, Settings
from tests.conftest import env_for
from tests.system.stack import Observer

BAD_PAYLOADS = [
    b"not json",
    b"",
    b"null",
    b"[1, 2]",
    b"\xff\xfe\x00garbage",
    b'{"connector_id": "one", "id_tag": 5, "key": [], "value": {}}',
    b'{"connector_id": -1, "current_a": -5, "operative": "yes", "status": "Exploded"}',
    b'{"unknown_field": true}',
    json.dumps({"pad": "x" * 100_000}).encode(),
]
CLIENT_ID = "test-bad-payloads"


def listened(service: str) -> list[Topic]:
    """The topics `service` subscribes to, according to the contract."""
    return [t for t in TOPICS
            if (t.kind is Kind.CMD and t.owner == service) or (t.kind is not Kind.CMD and service in t.subscribers)]


def concrete(topic: Topic) -> str:
    """Where a message of `topic` goes: for a command, a request of ours, answered to CLIENT_ID."""
    params = {p: ("HeartbeatInterval" if p == "key" else service_or_one(p)) for p in topic.params}
    if topic.kind is Kind.CMD:
        return topic.request_path(Address(caller=CLIENT_ID, request="bad", deadline=time.time() + 60), **params)
    return topic.render(**params)


def service_or_one(param: str) -> str:
    return "power" if param == "service" else "1"


@pytest.fixture
def process(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "service.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", f"services.{request.param}"], env=env_for(settings),
                            stdout=log, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


def _send_all(settings: Settings, topics: list[Topic], replies: list[bytes]) -> int:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=CLIENT_ID, protocol=mqtt.MQTTv5)
    client.on_message = lambda _c, _u, msg: replies.append(msg.payload)
    client.connect(settings.mqtt_host, settings.mqtt_port)
    client.subscribe(reply_filter(CLIENT_ID), qos=1)
    client.loop_start()
    commands = 0
    try:
        for topic in topics:
            for payload in BAD_PAYLOADS:
                commands += topic.kind is Kind.CMD
                client.publish(concrete(topic), payload, qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 20
        while len(replies) < commands and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.loop_stop()
        client.disconnect()
    return commands


@pytest.mark.parametrize("process", [s for s in SERVICES if listened(s)], indirect=True)
async def test_bad_payloads_crash_no_service(process: subprocess.Popen[bytes], settings: Settings) -> None:
    service = process.args[2].removeprefix("services.")  # type: ignore[index,union-attr]
    async with Observer(settings, login=False) as observer:
        pids = await observer.wait_online((service,), timeout=20)
        assert pids[service] == process.pid
        replies: list[bytes] = []
        commands = _send_all(settings, listened(service), replies)
        assert len(replies) == commands, f"{service}: {len(replies)} replies to {commands} bad commands"
        for raw in replies:
            reply = json.loads(raw)
            assert reply["ok"] is False and reply["error"]["code"] == "bad_request", reply
        assert process.poll() is None, f"{service} exited"
        health = observer.health(service)
        assert health is not None and health.state == "online" and health.pid == process.pid

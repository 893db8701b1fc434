"""The station's broker as `chargebus run` configures it: accounts and the ACL from the contract, anonymous
loopback clients read-only, no listener beyond loopback without TLS and passwords. A real Mosquitto."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from services.common.bus import Bus, BusError
from services.common.bus_accounts import ACCOUNTS, account_uid, credentials, password_path
from services.common.contract import auth, power
from services.common.contract.base import ErrorCode
from services.common.contract.common import CONFIG, ConfigValue
from services.common.contract.power import ConnectorState
from services.common.settings import Settings
from services.supervisor.broker_conf import BrokerSetupError, acl_text, plugin_path, write_conf, writes
from tests.broker import StationBroker, free_port
from tests.conftest import env_for, isolated_settings
from tests.pki import Pki


@pytest.fixture
def station_broker(tmp_path: Path) -> Iterator[Settings]:
    settings = isolated_settings(tmp_path)
    with StationBroker(settings):
        yield settings


class Client:
    """A bare MQTT v5 client: what a foreign tool on the station could do."""

    def __init__(self, settings: Settings, login: tuple[str, str] | None = None, tls_ca: Path | None = None) -> None:
        self.received: list[tuple[str, bytes, bool]] = []
        self.acks: dict[int, ReasonCode] = {}
        self.connect_reason: ReasonCode | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if login:
            self.client.username_pw_set(*login)
        if tls_ca:
            self.client.tls_set(ca_certs=str(tls_ca))
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, m.payload, bool(m.retain)))
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.acks.__setitem__(mid, rc)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: setattr(self, "connect_reason", rc)
        self.subscribed: set[int] = set()
        self.client.on_subscribe = lambda _c, _u, mid, _rcs, _p: self.subscribed.add(mid)
        self.client.connect(settings.mqtt_host, settings.mqtt_port)
        self.client.loop_start()
        wait_until(lambda: self.connect_reason is not None, "CONNACK")

    def publish(self, topic: str, payload: bytes = b"{}") -> ReasonCode:
        info = self.client.publish(topic, payload, qos=1)
        wait_until(lambda: info.mid in self.acks, f"PUBACK of {topic}")
        return self.acks[info.mid]

    def subscribe(self, topic_filter: str) -> None:
        """Returns once the broker acknowledged it: a message published after that reaches this client (before it,
        under load, the broker may not have the subscription yet)."""
        _rc, mid = self.client.subscribe(topic_filter, qos=1)
        wait_until(lambda: mid in self.subscribed, f"SUBACK of {topic_filter}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(done: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.01)


def test_the_acl_follows_the_contract() -> None:
    assert writes("power")[0] == "chargebus/power/health"
    assert "chargebus/power/reply/+/+" in writes("power")  # it answers its own commands, nobody else's
    assert not any(w.startswith("chargebus/reply") or w.endswith("#") for a in ACCOUNTS for w in writes(a))
    assert "chargebus/ocpp_gateway/cmd/get_session/+/+/+" in writes("power")  # power is a declared caller
    assert not any(w.startswith("chargebus/auth/cmd/authorize") for w in writes("power"))
    assert "chargebus/config/+" in writes("ocpp_gateway")  # owned outside its namespace
    assert power.SET_LIMIT.filter not in writes("cli") or "cli" in power.SET_LIMIT.subscribers
    assert all("/cmd/" in w for w in writes("cli"))  # the command line calls; it owns nothing
    text = acl_text()
    anonymous = text.split("\nuser ")[0]
    assert "topic read chargebus/+/health" in anonymous and "write" not in anonymous
    assert "/cmd/" not in anonymous and "chargebus/auth/state/last_decision" not in anonymous  # private
    assert "pattern read chargebus/+/reply/%c/+" in text


def test_a_service_publishes_under_its_own_name_only(station_broker: Settings) -> None:
    settings = station_broker
    watcher = Client(settings)
    watcher.subscribe("chargebus/#")
    power_login = credentials(settings, "power")
    assert power_login is not None and power_login[0] == "power"
    as_power = Client(settings, power_login)
    try:
        assert not as_power.publish("chargebus/power/state/connector/1", b"{}").is_failure
        assert as_power.publish("chargebus/power/event/undeclared", b"1").is_failure
        refused = as_power.publish("chargebus/auth/state/local_list", b'{"version": 99, "size": 0}')
        assert refused.is_failure and refused.getName() == "Not authorized"
        # a request of a command it is a declared caller of, and one of a command it is not
        assert not as_power.publish("chargebus/ocpp_gateway/cmd/get_session/chargebus-power/r1/1", b"{}").is_failure
        assert as_power.publish("chargebus/ocpp_gateway/cmd/authorize/chargebus-power/r1/1", b"{}").is_failure
        assert as_power.publish("chargebus/ocpp_gateway/cmd/get_session", b"{}").is_failure  # without an address
        assert as_power.publish("elsewhere/topic", b"1").is_failure
        wrong = Client(settings, ("power", "not-the-password"))
        assert wrong.connect_reason is not None and wrong.connect_reason.is_failure
        wrong.close()
        wait_until(lambda: any(t == "chargebus/power/state/connector/1" for t, _, _ in watcher.received), "the message")
        assert not any(t.startswith("chargebus/auth/") for t, _, _ in watcher.received)
    finally:
        as_power.close()
        watcher.close()


def test_anonymous_clients_read_the_public_topics_and_publish_nothing(station_broker: Settings) -> None:
    settings = station_broker

    async def publish_states() -> None:
        bus = Bus(settings, "power")  # its health goes out retained, online
        await bus.start(5)
        assert power.CONNECTOR.example is not None
        bus.publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example), connector_id=1)
        await asyncio.sleep(0.2)
        await bus.stop()

    asyncio.run(publish_states())
    # the debugging recipe of docs/debugging.md, as it is
    seen = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(settings.mqtt_port), "-v",
                           "-t", "chargebus/#", "-W", "2"], capture_output=True, text=True)
    assert "chargebus/power/health " in seen.stdout and "chargebus/power/state/connector/1 " in seen.stdout
    anonymous = Client(settings)
    try:
        assert anonymous.publish("chargebus/power/cmd/energize/watcher/r1/1", b"{}").is_failure
        assert anonymous.publish("chargebus/sim/cmd/plug/watcher/r1/1", b"{}").is_failure
        anonymous.subscribe("chargebus/power/state/#")
        wait_until(lambda: any(r for _, _, r in anonymous.received), "the retained connector state")
    finally:
        anonymous.close()


async def test_a_refused_request_fails_at_once_with_a_clear_error(station_broker: Settings) -> None:
    # a client without the account's password (here: none at all): the broker refuses its command
    bus = Bus(station_broker, "stranger", client_id="stranger", persistent=False, health=False)
    await bus.start(5)
    try:
        started = datetime.now(UTC)
        with pytest.raises(BusError) as refused:
            await bus.request(auth.LOOKUP, auth.LOOKUP.payload.model_validate(auth.LOOKUP.example), timeout=10)
        assert refused.value.code is ErrorCode.REJECTED and "Not authorized" in refused.value.message
        assert (datetime.now(UTC) - started).total_seconds() < 5  # not at the deadline
    finally:
        await bus.stop()


async def test_the_owner_of_a_topic_outside_its_name_publishes_it(station_broker: Settings) -> None:
    """The configuration keys are the gateway's though they live under chargebus/config/: its account writes
    them, another's is refused, and a watcher sees the gateway's value only."""
    watcher = await asyncio.to_thread(Client, station_broker)
    watcher.subscribe("chargebus/config/#")
    intruder = await asyncio.to_thread(Client, station_broker, credentials(station_broker, "metering"))
    gateway = Bus(station_broker, "ocpp_gateway")
    await gateway.start(5)
    try:
        refused = await asyncio.to_thread(intruder.publish, "chargebus/config/HeartbeatInterval",
                                          b'{"key": "HeartbeatInterval", "value": "1", "readonly": false}')
        assert refused.is_failure
        gateway.publish(CONFIG, ConfigValue(key="HeartbeatInterval", value="60", readonly=False),
                        key="HeartbeatInterval")
        await asyncio.to_thread(wait_until, lambda: watcher.received, "the key")
        assert [(t, ConfigValue.model_validate_json(p).value) for t, p, _ in watcher.received] == [
            ("chargebus/config/HeartbeatInterval", "60")]
    finally:
        intruder.close()
        watcher.close()
        await gateway.stop()


def test_the_passwords_are_made_once_and_only_the_owner_reads_them(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    write_conf(settings)
    first = credentials(settings, "metering")
    write_conf(settings)
    assert credentials(settings, "metering") == first and first is not None
    folder = settings.data_dir / "bus-accounts"
    # the folder is traversed, never listed; each file is its account's alone (its uid's, when made as root)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o711 and stat.S_IMODE((folder / "metering").stat().st_mode) == 0o400
    if os.geteuid() == 0:
        assert {a: password_path(settings, a).stat().st_uid for a in ACCOUNTS} == {
            a: account_uid(settings, a) for a in ACCOUNTS}
    passwd = (settings.data_dir / "mosquitto" / "passwd").read_text()
    assert "metering:$7$" in passwd and first[1] not in passwd  # hashed


def test_no_listener_beyond_loopback_without_tls(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path).model_copy(update={"mqtt_url": f"mqtt://0.0.0.0:{free_port()}"})
    with pytest.raises(BrokerSetupError, match="beyond this machine: that needs TLS and passwords"):
        write_conf(settings)
    done = subprocess.run([sys.executable, "-m", "services.cli.main", "run"],
                          env={**env_for(settings), "CHARGEBUS_MQTT_URL": settings.mqtt_url},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "needs TLS and passwords" in done.stderr
    assert not (settings.data_dir / "mosquitto" / "mosquitto.conf").exists()


def test_beyond_loopback_tls_and_passwords_only(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    cert, key = pki.issue("broker", server=True)
    settings = isolated_settings(tmp_path).model_copy(update={
        "mqtt_url": f"mqtts://0.0.0.0:{free_port()}", "mqtt_tls_cert": cert, "mqtt_tls_key": key,
        "mqtt_tls_ca": pki.ca_path})
    with StationBroker(settings):
        anonymous = Client(settings, tls_ca=pki.ca_path)
        assert anonymous.connect_reason is not None and anonymous.connect_reason.is_failure
        anonymous.close()

        async def as_service() -> None:
            bus = Bus(settings, "power")
            await bus.start(5)
            bus.publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example), connector_id=1)
            await bus.stop()

        asyncio.run(as_service())
        login = credentials(settings, "cli")
        reader = Client(settings, login, tls_ca=pki.ca_path)
        reader.subscribe("chargebus/power/#")
        wait_until(lambda: any(t == "chargebus/power/state/connector/1" for t, _, _ in reader.received), "the state")
        reader.close()


def test_the_broker_plugin_is_kept_for_a_version_installed_without_one(tmp_path: Path) -> None:
    """A firmware slot is a venv built from wheels, with no compiled plugin: its broker starts with the copy the
    installed version left beside the broker's files; with neither, no broker starts."""
    settings = isolated_settings(tmp_path)
    installed = plugin_path(settings)
    kept = settings.data_dir / "mosquitto" / installed.name
    assert kept.read_bytes() == installed.read_bytes()
    slot = settings.model_copy(update={"broker_plugin": tmp_path / "slot" / "lib" / "chargebus" / installed.name})
    assert plugin_path(slot) == kept.resolve()
    kept.unlink()
    with pytest.raises(BrokerSetupError, match="client-id plugin is missing"):
        plugin_path(slot)

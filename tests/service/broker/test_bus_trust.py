"""The bus's trust model, tried the way someone on the station's machine would: a second MQTT client with no
account or with one service's account, against the station's broker as `chargebus run` configures it.

- nobody takes a service's client id (and with it its session) without that service's password;
- only a command's owner can answer it, whoever races it;
- nobody reads a command (secrets, idTags) but its owner, nor a reply but its caller, nor a private state but its
  declared readers; anonymous watchers keep the public topics.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from services.common.bus import Bus, BusError, UndeclaredTopic
from services.common.bus_accounts import credentials
from services.common.contract import auth, ocpp_gateway, power
from services.common.contract.auth import (
    AuthorizationStatus,
    AuthorizeDecision,
    AuthorizeRequest,
    AuthSource,
    IdToken,
    TokenInfo,
    TokenType,
)
from services.common.contract.base import ErrorCode
from services.common.contract.ocpp_gateway import ChangeConfigurationRequest
from services.common.contract.power import ConnectorState
from services.common.settings import Settings
from tests.broker import StationBroker
from tests.conftest import isolated_settings
from tests.service.broker.test_bus_access import Client, wait_until

CARD = "04A2B3C4"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Settings]:
    settings = isolated_settings(tmp_path)
    with StationBroker(settings):
        yield settings


class RawClient(Client):
    """A bare client with a client id of its choice and a persistent session, as an attacker would connect."""

    def __init__(self, settings: Settings, client_id: str, login: tuple[str, str] | None = None) -> None:
        self.received: list[tuple[str, bytes, bool]] = []
        self.acks: dict[int, object] = {}
        self.connect_reason = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if login:
            self.client.username_pw_set(*login)
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, m.payload, bool(m.retain)))
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.acks.__setitem__(mid, rc)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: setattr(self, "connect_reason", rc)
        self.subscribed: set[int] = set()
        self.client.on_subscribe = lambda _c, _u, mid, _rcs, _p: self.subscribed.add(mid)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect(settings.mqtt_host, settings.mqtt_port, clean_start=False, properties=props)
        self.client.loop_start()
        wait_until(lambda: self.connect_reason is not None, "CONNACK")


async def arrives(done: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """`wait_until` for a test whose own services run on the event loop it would otherwise block."""
    await asyncio.to_thread(wait_until, done, what, timeout)


def login(settings: Settings, account: str) -> tuple[str, str]:
    found = credentials(settings, account)
    assert found is not None
    return found


async def test_nobody_takes_a_service_client_id_without_its_password(station: Settings) -> None:
    real = Bus(station, "power")
    power_state = ConnectorState.model_validate(power.CONNECTOR.example)
    await real.start(5)
    try:
        for who in (None, login(station, "metering")):  # anonymous, then another service's account
            intruder = await asyncio.to_thread(RawClient, station, "chargebus-power", who)
            assert intruder.connect_reason is not None and intruder.connect_reason.getName() == "Not authorized"
            intruder.close()
        # the real one was never thrown off: it still publishes, and its retained health says online
        real.publish(power.CONNECTOR, power_state, connector_id=1)
        assert real.connected
        own = await asyncio.to_thread(RawClient, station, "chargebus-metering-probe", login(station, "metering"))
        assert own.connect_reason is not None and not own.connect_reason.is_failure  # its own namespace is open
        own.close()
    finally:
        await real.stop()
    seen = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(station.mqtt_port), "-v",
                           "-t", "chargebus/#", "-W", "2"], capture_output=True, text=True)
    # the debugging recipe still works anonymously, and shows the service as it left (not taken over)
    assert '"state":"stopped"' in seen.stdout and "chargebus/power/state/connector/1 " in seen.stdout


async def test_only_the_owner_answers_a_command(station: Settings) -> None:
    """A metering account races auth to answer the gateway's authorize: it neither sees it nor can answer it."""
    invalid = TokenInfo(status=AuthorizationStatus.INVALID)

    async def decide(request: AuthorizeRequest, _params: dict[str, str]) -> AuthorizeDecision:
        await asyncio.sleep(0.5)  # a slow owner: the attacker has all the time it needs
        return AuthorizeDecision(token=request.token, info=invalid, source=AuthSource.CSMS)

    owner = Bus(station, "auth")
    owner.handle(auth.AUTHORIZE, decide)
    gateway = Bus(station, "ocpp_gateway")
    attacker = await asyncio.to_thread(RawClient, station, "chargebus-metering-x", login(station, "metering"))
    attacker.subscribe("chargebus/#")
    await owner.start(5)
    await gateway.start(5)
    try:
        card = IdToken(value=CARD, type=TokenType.ISO14443)
        asking = asyncio.create_task(gateway.request(auth.AUTHORIZE, AuthorizeRequest(token=card), timeout=5))
        await asyncio.sleep(0.1)
        request = next(iter(gateway._pending))  # what the attacker would need: it cannot read it (the test can)
        forged = AuthorizeDecision(token=IdToken(value=CARD, type=TokenType.ISO14443),
                                   info=TokenInfo(status=AuthorizationStatus.ACCEPTED), source=AuthSource.CSMS)
        body = f'{{"ok": true, "result": {forged.model_dump_json()}}}'.encode()
        refused = []
        for owner_part in ("chargebus/reply", "chargebus/auth/reply", "chargebus/metering/reply"):
            topic = f"{owner_part}/chargebus-ocpp_gateway/{request}"
            info = attacker.client.publish(topic, body, qos=1)
            wait_until(lambda info=info: info.mid in attacker.acks, "PUBACK")
            refused.append(attacker.acks[info.mid].is_failure)  # type: ignore[attr-defined]
        assert refused == [True, True, False]  # its own reply topic it may write; the gateway must not believe it
        decision = await asking
        assert decision.info.status is AuthorizationStatus.INVALID
        # and the request itself never reached it: a public message after it did
        gateway.publish(ocpp_gateway.CONNECTION, ocpp_gateway.CONNECTION.payload.model_validate(
            ocpp_gateway.CONNECTION.example))
        await arrives(lambda: any(t == "chargebus/ocpp_gateway/state/connection" for t, _, _ in attacker.received),
                      "the public state")
        assert not any("/cmd/" in t for t, _, _ in attacker.received)
    finally:
        attacker.close()
        await gateway.stop()
        await owner.stop()


async def test_a_request_is_answered_only_under_the_owners_name(station: Settings) -> None:
    """Whatever a caller writes into a request's address, the owner answers under its own name, to the caller
    named there, or not at all: an address the broker lets through but that is not one is dropped and counted."""
    looked_up: list[str] = []

    async def lookup(request: auth.LookupRequest, _params: dict[str, str]) -> auth.LookupReply:
        looked_up.append(request.token.value)
        return auth.LookupReply(token=request.token, local=None, cached=None, list_version=0)

    owner = Bus(station, "auth")
    owner.handle(auth.LOOKUP, lookup)
    await owner.start(5)
    cli = await asyncio.to_thread(RawClient, station, "chargebus-cli-probe", login(station, "cli"))
    cli.subscribe("chargebus/#")
    asked = json.dumps({"token": {"value": CARD, "type": "iso14443"}})
    later, past = f"{(time.time() + 60) * 1000:.0f}", f"{(time.time() - 60) * 1000:.0f}"
    base = "chargebus/auth/cmd/lookup"
    try:
        refused = []
        for topic in (base, f"{base}/chargebus-cli-probe/r0", f"{base}/chargebus-cli-probe/r0/{later}/extra",
                      f"{base}/chargebus-cli-probe/r1/soon", f"{base}/chargebus-cli-probe/r2/{past}",
                      f"{base}/chargebus-cli-probe/r3/{later}"):
            info = cli.client.publish(topic, asked, qos=1)
            await arrives(lambda info=info: info.mid in cli.acks, "PUBACK")
            refused.append(cli.acks[info.mid].is_failure)  # type: ignore[attr-defined]
        assert refused == [True, True, True, False, False, False]  # no address, too short, too long: the broker
        await arrives(lambda: any(t.endswith("/r3") for t, _, _ in cli.received), "the answer to the good one")
        replies = {t: json.loads(p) for t, p, _ in cli.received if "/reply/" in t}
        assert list(replies) == ["chargebus/auth/reply/chargebus-cli-probe/r2",
                                 "chargebus/auth/reply/chargebus-cli-probe/r3"]
        assert replies["chargebus/auth/reply/chargebus-cli-probe/r2"]["error"]["code"] == "expired"
        assert replies["chargebus/auth/reply/chargebus-cli-probe/r3"]["ok"] is True
        assert looked_up == [CARD]  # the expired one was not carried out
        assert owner.dropped == 1  # the one whose deadline is no number
    finally:
        cli.close()
        await owner.stop()


async def test_a_command_by_hand_with_mosquitto_rr(station: Settings) -> None:
    """The recipe of docs/debugging.md: `mosquitto_rr` as the cli account, the address in the request's topic."""
    async def lookup(request: auth.LookupRequest, _params: dict[str, str]) -> auth.LookupReply:
        return auth.LookupReply(token=request.token, local=None, cached=None, list_version=7)

    owner = Bus(station, "auth")
    owner.handle(auth.LOOKUP, lookup)
    await owner.start(5)
    user, password = login(station, "cli")
    deadline = f"{int(time.time()) + 30}000"
    try:
        done = await asyncio.to_thread(subprocess.run, [
            "mosquitto_rr", "-p", str(station.mqtt_port), "-u", user, "-P", password, "-i", "chargebus-cli-me",
            "-t", f"chargebus/auth/cmd/lookup/chargebus-cli-me/r1/{deadline}",
            "-e", "chargebus/auth/reply/chargebus-cli-me/r1",
            "-m", json.dumps({"token": {"value": CARD, "type": "iso14443"}}), "-W", "5"],
            capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, done.stderr
        reply = json.loads(done.stdout)
        assert reply["ok"] is True and reply["result"]["list_version"] == 7
    finally:
        await owner.stop()


async def test_secrets_and_id_tags_reach_only_their_owner(station: Settings) -> None:
    """An anonymous watcher and another service's account see neither a command's payload (an AuthorizationKey,
    a local list) nor a private state's idTag; the public states still reach them."""
    anonymous = await asyncio.to_thread(RawClient, station, "watcher")
    other = await asyncio.to_thread(RawClient, station, "chargebus-power-probe", login(station, "power"))
    for client in (anonymous, other):
        client.subscribe("chargebus/#")
    gateway = Bus(station, "ocpp_gateway")
    cli = Bus(station, "cli", client_id="chargebus-cli-test", persistent=False, health=False)
    auth_bus = Bus(station, "auth")
    secret = "SuperSecretKey-0123456789"
    await gateway.start(5)
    await cli.start(5)
    await auth_bus.start(5)
    try:
        with pytest.raises(BusError) as unanswered:
            await cli.request(ocpp_gateway.CHANGE_CONFIGURATION,
                              ChangeConfigurationRequest(key="AuthorizationKey", value=secret), timeout=0.5)
        assert unanswered.value.code is ErrorCode.TIMEOUT  # sent and delivered to nobody here
        gateway.publish(ocpp_gateway.TRANSACTION, ocpp_gateway.TRANSACTION.payload.model_validate(
            ocpp_gateway.TRANSACTION.example), connector_id=1)
        auth_bus.publish(auth.LAST_DECISION, auth.LAST_DECISION.payload.model_validate(auth.LAST_DECISION.example))
        gateway.publish(ocpp_gateway.CONNECTION, ocpp_gateway.CONNECTION.payload.model_validate(
            ocpp_gateway.CONNECTION.example))
        for client in (anonymous, other):
            await arrives(lambda c=client: any(t == "chargebus/ocpp_gateway/state/connection"  # type: ignore[misc]
                                               for t, _, _ in c.received), "the public state after the private ones")
            everything = b"".join(topic.encode() + payload for topic, payload, _ in client.received)
            assert secret.encode() not in everything
            example_tag = str(ocpp_gateway.TRANSACTION.example["token"]["value"]).encode()  # type: ignore[index]
            assert example_tag not in everything
            assert not any("/cmd/" in t or "/reply/" in t for t, _, _ in client.received)
    finally:
        anonymous.close()
        other.close()
        await auth_bus.stop()
        await cli.stop()
        await gateway.stop()


def test_a_service_refuses_what_it_is_not_declared_on(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    metering = Bus(settings, "metering", persistent=False)

    async def nothing(*_args: object) -> None:
        return None

    with pytest.raises(UndeclaredTopic, match="does not own chargebus/auth/cmd/authorize"):
        metering.handle(auth.AUTHORIZE, nothing)  # type: ignore[arg-type]
    with pytest.raises(UndeclaredTopic, match="not a declared subscriber of chargebus/auth/state/last_decision"):
        metering.watch(auth.LAST_DECISION.filter, nothing)  # type: ignore[arg-type]
    with pytest.raises(UndeclaredTopic, match="may not watch the wide filter"):
        metering.watch("chargebus/#", nothing)  # type: ignore[arg-type]
    with pytest.raises(UndeclaredTopic, match="does not own chargebus/auth/state/local_list"):
        metering.publish(auth.LOCAL_LIST, auth.LocalListState(version=1, size=0))
    with pytest.raises(UndeclaredTopic, match="not a declared caller of chargebus/power/cmd/energize"):
        asyncio.run(metering.request(power.ENERGIZE, power.ENERGIZE.payload.model_validate(power.ENERGIZE.example)))

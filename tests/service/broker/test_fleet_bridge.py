"""The optional fleet bridge: the station's broker bridges health, states and events to a second, central
Mosquitto over TLS with its own account; commands come in only when configured. Two real brokers."""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.common.bus import Bus
from services.common.bus_accounts import credentials
from services.common.contract import power
from services.common.contract.power import ConnectorState
from services.common.settings import Settings
from services.supervisor.broker_conf import BrokerSetupError, write_conf
from tests.broker import MosquittoProcess, StationBroker, free_port
from tests.conftest import isolated_settings
from tests.pki import Pki
from tests.service.broker.test_bus_access import Client, wait_until

FLEET_USER, FLEET_PASSWORD = "station-CB0000001", "fleet-secret-1234"


class FleetBroker(MosquittoProcess):
    """A central Mosquitto with TLS and passwords only, as a fleet operator would run."""

    def __init__(self, folder: Path, pki: Pki) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        cert, key = pki.issue("fleet", server=True)
        passwd = folder / "passwd"
        for i, (user, password) in enumerate(((FLEET_USER, FLEET_PASSWORD), ("watcher", "watcher-pass"))):
            subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(passwd), user, password],
                           check=True, capture_output=True)
        passwd.chmod(0o600)
        super().__init__(folder / "fleet.conf", free_port())
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nuser {getpass.getuser()}\n"
                             f"certfile {cert}\nkeyfile {key}\nallow_anonymous false\npassword_file {passwd}\n"
                             "persistence false\nlog_dest none\n")

    def settings(self) -> Settings:
        return Settings(mqtt_url=f"mqtts://127.0.0.1:{self.port}")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@pytest.fixture
def fleet(tmp_path: Path, pki: Pki) -> Iterator[FleetBroker]:
    with FleetBroker(tmp_path / "fleet", pki) as broker:
        yield broker


def _bridged(tmp_path: Path, fleet: FleetBroker, pki: Pki, commands_in: bool = False) -> Settings:
    return isolated_settings(tmp_path / "station").model_copy(update={
        "bridge_url": f"mqtts://127.0.0.1:{fleet.port}", "bridge_user": FLEET_USER,
        "bridge_password": SecretStr(FLEET_PASSWORD), "bridge_ca": pki.ca_path, "bridge_commands_in": commands_in})


async def _publish_connector(settings: Settings) -> None:
    bus = Bus(settings, "power")
    await bus.start(5)
    assert power.CONNECTOR.example is not None
    bus.publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example), connector_id=1)
    await bus.stop()


async def test_states_go_out_to_the_fleet_and_no_command_comes_in(tmp_path: Path, fleet: FleetBroker,
                                                                   pki: Pki) -> None:
    settings = _bridged(tmp_path, fleet, pki)
    watcher = Client(fleet.settings(), ("watcher", "watcher-pass"), tls_ca=pki.ca_path)
    watcher.subscribe("fleet/#")
    with StationBroker(settings):
        local = Client(settings, credentials(settings, "power"))  # reads power's commands, would they come in
        local.subscribe("chargebus/#")
        await _publish_connector(settings)
        wait_until(lambda: any(t == "fleet/CB0000001/chargebus/power/state/connector/1" for t, _, _ in
                               watcher.received), "the connector state on the fleet broker", 15)
        assert any(t == "fleet/CB0000001/chargebus/power/health" for t, _, _ in watcher.received)
        assert not any("/reply/" in t or "/cmd/" in t for t, _, _ in watcher.received)
        assert not watcher.publish("fleet/CB0000001/chargebus/power/cmd/energize/fleet-ops/r1/4102444800000",
                                   b"{}").is_failure
        marker = watcher.publish("fleet/CB0000001/chargebus/power/state/connector/9", b"{}")  # also not taken in
        assert not marker.is_failure

        def states_out() -> int:
            return sum(t == "fleet/CB0000001/chargebus/power/state/connector/1" for t, _, _ in watcher.received)

        # both acknowledged: a bridge that took them in has them on its connection ahead of the acknowledgement of
        # the next state it sends out, so once that state is at the fleet they have had their chance to come in
        sent = states_out()
        await _publish_connector(settings)
        wait_until(lambda: states_out() > sent, "the next connector state on the fleet broker", 15)
        assert not any("/cmd/" in t or t.endswith("connector/9") for t, _, _ in local.received)
        local.close()
    watcher.close()
    conf = (settings.data_dir / "mosquitto" / "mosquitto.conf")
    assert conf.stat().st_mode & 0o077 == 0  # the bridge's password is in it


async def test_commands_come_in_only_when_configured(tmp_path: Path, fleet: FleetBroker, pki: Pki) -> None:
    settings = _bridged(tmp_path, fleet, pki, commands_in=True)
    watcher = Client(fleet.settings(), ("watcher", "watcher-pass"), tls_ca=pki.ca_path)
    with StationBroker(settings):
        local = Client(settings, credentials(settings, "power"))  # a command is read by its owner alone
        local.subscribe("chargebus/power/cmd/#")
        await _publish_connector(settings)  # the bridge is up once states go out
        watcher.subscribe("fleet/#")
        wait_until(lambda: watcher.received, "the bridge up", 15)
        request = "chargebus/power/cmd/get_state/fleet-ops/r1/4102444800000"  # its address: caller, id, deadline
        watcher.publish(f"fleet/CB0000001/{request}", b'{"connector_id": 1}')
        wait_until(lambda: any(t == request for t, _, _ in local.received), "the command on the station", 10)
        local.close()
    watcher.close()


def test_a_bridge_needs_tls_and_its_account(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mqtts://"):
        Settings(bridge_url="mqtt://fleet.example.com:1883")
    settings = isolated_settings(tmp_path).model_copy(update={"bridge_url": "mqtts://fleet.example.com:8883"})
    with pytest.raises(BrokerSetupError, match="bridge_user, bridge_password"):
        write_conf(settings)

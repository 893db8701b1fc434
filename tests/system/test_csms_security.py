"""The link to the CSMS with OCPP 1.6 security profiles 1 to 3 (security whitepaper): basic authentication,
TLS against a CA bundle, client certificates; a real TLS WebSocket server and a PKI made by the test."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ocpp.v16 import call

from tests import zygote
from tests.conftest import env_for
from tests.csms import CentralSystem
from tests.pki import Pki
from tests.system.station import Station, running_station

KEY = "0123456789abcdefABCD"


def cli(station: Station, *args: str) -> subprocess.CompletedProcess[str]:
    return zygote.chargebus(env_for(station.settings), *args)


async def test_profile_1_basic_auth_set_locally_and_the_key_is_write_only(tmp_path: Path) -> None:
    csms = CentralSystem(password=KEY)
    async with running_station(tmp_path, csms=csms) as station:
        await station.logged("HTTP 401")  # refused: no credentials yet
        assert station.csms.calls("BootNotification") == []
        assert cli(station, "config", "set", "AuthorizationKey", "short").stdout.strip() == (
            "AuthorizationKey: rejected")
        assert cli(station, "config", "set", "AuthorizationKey", KEY).stdout.strip() == "AuthorizationKey: accepted"
        await station.csms.wait("BootNotification", timeout=40)
        assert csms.authorizations[-1] is not None and csms.authorizations[-1].startswith("Basic ")
        # the key raised the profile to 1: the CSMS's own step of the whitepaper's order changes nothing
        assert (await station.csms.call(call.ChangeConfiguration(key="SecurityProfile", value="1"))).status == (
            "Accepted")
        # never read back: not in the list, no value when asked by name, not on the bus, not in a log
        listed = await station.csms.call(call.GetConfiguration())
        assert "AuthorizationKey" not in [k["key"] for k in listed.configuration_key]
        named = await station.csms.call(call.GetConfiguration(key=["AuthorizationKey"]))
        assert named.configuration_key == [{"key": "AuthorizationKey", "readonly": False}]
        assert station.observer.get("chargebus/config/AuthorizationKey") is None
        assert "AuthorizationKey = (secret)" not in cli(station, "config", "get").stdout
        assert KEY not in station.stack.log.read_text()
        await station.logged("AuthorizationKey sent over ws://")
        # the profile only goes up, and only to what this link can do
        assert (await station.csms.call(call.ChangeConfiguration(key="SecurityProfile", value="0"))).status == (
            "Rejected")
        assert (await station.csms.call(call.ChangeConfiguration(key="SecurityProfile", value="2"))).status == (
            "Rejected")  # ws://: no TLS


async def test_profile_2_over_tls_and_a_csms_certificate_that_does_not_verify(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    csms = CentralSystem(tls=pki.server_context(), password=KEY)
    stranger = Pki(tmp_path / "other", "another CA")
    async with running_station(tmp_path / "refused", csms=csms,
                               CHARGEBUS_CSMS_CA_BUNDLE=str(stranger.ca_path)) as station:
        await station.logged("csms certificate not trusted")
        assert station.csms.calls("BootNotification") == []
    csms = CentralSystem(tls=pki.server_context(), password=KEY)
    async with running_station(tmp_path / "trusted", csms=csms, CHARGEBUS_CSMS_CA_BUNDLE=str(pki.ca_path)) as station:
        assert cli(station, "config", "set", "AuthorizationKey", KEY).returncode == 0
        await station.csms.wait("BootNotification", timeout=40)
        connections = csms.connections
        assert (await station.csms.call(call.ChangeConfiguration(key="SecurityProfile", value="2"))).status == (
            "Accepted")
        await station.observer.wait(lambda: csms.connections > connections, what="the reconnect for profile 2")
        assert csms.url.startswith("wss://") and csms.authorizations[-1] is not None
        state = station.observer.get("chargebus/ocpp_gateway/state/connection")
        assert state.url.startswith("wss://127.0.0.1") and KEY not in state.url


async def test_profile_3_client_certificate(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    cert, key = pki.issue("CB0000001", server=False)
    csms = CentralSystem(tls=pki.server_context(client_ca=pki.ca_path))
    async with running_station(tmp_path, csms=csms, CHARGEBUS_CSMS_CA_BUNDLE=str(pki.ca_path),
                               CHARGEBUS_CSMS_CLIENT_CERT=str(cert), CHARGEBUS_CSMS_CLIENT_KEY=str(key)) as station:
        await station.logged("csms link down")  # profile 0: no certificate offered, the CSMS refuses
        assert cli(station, "config", "set", "SecurityProfile", "3").stdout.strip() == "SecurityProfile: accepted"
        await station.csms.wait("BootNotification", timeout=40)
        assert csms.authorizations[-1] is None  # the certificate authenticates, no password is sent


async def plain_text_warnings(station: Station) -> int:
    return station.stack.log.read_text(errors="replace").count("AuthorizationKey sent over ws://")


async def test_link_item_14_an_authorization_key_raises_the_profile_and_the_warning_is_logged_once(
        tmp_path: Path) -> None:
    csms = CentralSystem(password=KEY)
    async with running_station(tmp_path, csms=csms) as station:
        await station.logged("HTTP 401")
        assert cli(station, "config", "set", "AuthorizationKey", KEY).stdout.strip() == "AuthorizationKey: accepted"
        await station.csms.wait("BootNotification", timeout=40)
        keys = await station.csms.call(call.GetConfiguration(key=["SecurityProfile"]))
        assert keys.configuration_key[0]["value"] == "1"  # basic auth is sent: the profile says so
        mark = len(station.stack.log.read_text(errors="replace"))
        csms.refuse = True
        await csms.drop()
        await station.observer.wait(
            lambda: station.stack.log.read_text(errors="replace")[mark:].count("csms link down") >= 3, 30,
            "three refused reconnects")
        assert await plain_text_warnings(station) == 1


async def test_link_item_16_a_url_template_reaches_a_csms_that_routes_a_trailing_slash(tmp_path: Path) -> None:
    csms = CentralSystem(password=KEY, trailing_slash=True)
    async with running_station(tmp_path, csms=csms, CHARGEBUS_CSMS_URL=csms.url + "/{id}/") as station:
        await station.logged("the CSMS refused the credentials (HTTP 401)")
        await station.logged("chargebus config set AuthorizationKey")  # and says how to set them
        assert cli(station, "config", "set", "AuthorizationKey", KEY).returncode == 0
        await station.csms.wait("BootNotification", timeout=40)
        assert csms.paths[-1] == f"/ocpp/{station.settings.charge_point_id}/"

"""The link to the CSMS with OCPP 1.6 security profiles 1 to 3 (security whitepaper): basic authentication,
TLS against a CA bundle, client certificates; a real TLS WebSocket server and a PKI made by the test, the gateway
on the rig, and the key set the way a technician sets it (`chargebus config set`)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from ocpp.v16 import call

from tests import zygote
from tests.conftest import env_for
from tests.csms import CentralSystem
from tests.gateway_rig import GatewayRig, running_gateway
from tests.pki import Pki

KEY = "0123456789abcdefABCD"


async def cli(gateway: GatewayRig, *args: str) -> subprocess.CompletedProcess[str]:
    """In a thread: the gateway that answers the command runs on this test's event loop."""
    return await asyncio.to_thread(zygote.chargebus, env_for(gateway.settings), *args)


async def test_profile_1_basic_auth_set_locally_and_the_key_is_write_only(tmp_path: Path) -> None:
    csms = CentralSystem(password=KEY)
    async with running_gateway(tmp_path, csms=csms) as gateway:
        await gateway.logged("HTTP 401")  # refused: no credentials yet
        assert gateway.csms.calls("BootNotification") == []
        assert (await cli(gateway, "config", "set", "AuthorizationKey", "short")).stdout.strip() == (
            "AuthorizationKey: rejected")
        assert (await cli(gateway, "config", "set", "AuthorizationKey", KEY)).stdout.strip() == (
            "AuthorizationKey: accepted")
        await gateway.csms.wait("BootNotification", timeout=40)
        assert csms.authorizations[-1] is not None and csms.authorizations[-1].startswith("Basic ")
        # the key raised the profile to 1: the CSMS's own step of the whitepaper's order changes nothing
        assert (await gateway.csms.call(call.ChangeConfiguration(key="SecurityProfile", value="1"))).status == (
            "Accepted")
        # never read back: not in the list, no value when asked by name, not on the bus, not in a log
        listed = await gateway.csms.call(call.GetConfiguration())
        assert "AuthorizationKey" not in [k["key"] for k in listed.configuration_key]
        named = await gateway.csms.call(call.GetConfiguration(key=["AuthorizationKey"]))
        assert named.configuration_key == [{"key": "AuthorizationKey", "readonly": False}]
        assert gateway.observer.get("chargebus/config/AuthorizationKey") is None
        assert "AuthorizationKey = (secret)" not in (await cli(gateway, "config", "get")).stdout
        assert KEY not in gateway.log_text()
        await gateway.logged("AuthorizationKey sent over ws://")
        # the profile only goes up, and only to what this link can do
        assert (await gateway.csms.call(call.ChangeConfiguration(key="SecurityProfile", value="0"))).status == (
            "Rejected")
        assert (await gateway.csms.call(call.ChangeConfiguration(key="SecurityProfile", value="2"))).status == (
            "Rejected")  # ws://: no TLS


async def test_profile_2_over_tls_and_a_csms_certificate_that_does_not_verify(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    csms = CentralSystem(tls=pki.server_context(), password=KEY)
    stranger = Pki(tmp_path / "other", "another CA")
    async with running_gateway(tmp_path / "refused", csms=csms,
                               csms_ca_bundle=stranger.ca_path) as gateway:
        await gateway.logged("csms certificate not trusted")
        assert gateway.csms.calls("BootNotification") == []
    csms = CentralSystem(tls=pki.server_context(), password=KEY)
    async with running_gateway(tmp_path / "trusted", csms=csms, csms_ca_bundle=pki.ca_path) as gateway:
        assert (await cli(gateway, "config", "set", "AuthorizationKey", KEY)).returncode == 0
        await gateway.csms.wait("BootNotification", timeout=40)
        connections = csms.connections
        assert (await gateway.csms.call(call.ChangeConfiguration(key="SecurityProfile", value="2"))).status == (
            "Accepted")
        await gateway.observer.wait(lambda: csms.connections > connections, what="the reconnect for profile 2")
        assert csms.url.startswith("wss://") and csms.authorizations[-1] is not None
        state = gateway.observer.get("chargebus/ocpp_gateway/state/connection")
        assert state.url.startswith("wss://127.0.0.1") and KEY not in state.url


async def test_profile_3_client_certificate(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    cert, key = pki.issue("CB0000001", server=False)
    csms = CentralSystem(tls=pki.server_context(client_ca=pki.ca_path))
    async with running_gateway(tmp_path, csms=csms, csms_ca_bundle=pki.ca_path,
                               csms_client_cert=cert, csms_client_key=key) as gateway:
        await gateway.logged("csms link down")  # profile 0: no certificate offered, the CSMS refuses
        assert (await cli(gateway, "config", "set", "SecurityProfile", "3")).stdout.strip() == (
            "SecurityProfile: accepted")
        await gateway.csms.wait("BootNotification", timeout=40)
        assert csms.authorizations[-1] is None  # the certificate authenticates, no password is sent


async def plain_text_warnings(gateway: GatewayRig) -> int:
    return gateway.log_text().count("AuthorizationKey sent over ws://")


async def test_link_item_14_an_authorization_key_raises_the_profile_and_the_warning_is_logged_once(
        tmp_path: Path) -> None:
    csms = CentralSystem(password=KEY)
    async with running_gateway(tmp_path, csms=csms) as gateway:
        await gateway.logged("HTTP 401")
        assert (await cli(gateway, "config", "set", "AuthorizationKey", KEY)).stdout.strip() == (
            "AuthorizationKey: accepted")
        await gateway.csms.wait("BootNotification", timeout=40)
        keys = await gateway.csms.call(call.GetConfiguration(key=["SecurityProfile"]))
        assert keys.configuration_key[0]["value"] == "1"  # basic auth is sent: the profile says so
        mark = len(gateway.log_text())
        csms.refuse = True
        await csms.drop()
        await gateway.observer.wait(
            lambda: gateway.log_text()[mark:].count("csms link down") >= 3, 30,
            "three refused reconnects")
        assert await plain_text_warnings(gateway) == 1


async def test_link_item_16_a_url_template_reaches_a_csms_that_routes_a_trailing_slash(tmp_path: Path) -> None:
    csms = CentralSystem(password=KEY, trailing_slash=True)
    async with running_gateway(tmp_path, csms=csms, csms_url=csms.url + "/{id}/") as gateway:
        await gateway.logged("the CSMS refused the credentials (HTTP 401)")
        await gateway.logged("chargebus config set AuthorizationKey")  # and says how to set them
        assert (await cli(gateway, "config", "set", "AuthorizationKey", KEY)).returncode == 0
        await gateway.csms.wait("BootNotification", timeout=40)
        assert csms.paths[-1] == f"/ocpp/{gateway.settings.charge_point_id}/"

"""OCPP 2.0.1 A04: the security log and SecurityEventNotification. Every event is written before it is sent, and
sent in order until the CSMS confirms it: one recorded while the CSMS is out of reach arrives once it is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ocpp.v201 import call

from tests import zygote
from tests.conftest import env_for
from tests.csms import CentralSystem
from tests.gateway_rig import running_gateway
from tests.pki import Pki

PASSWORD = "0123456789abcdef-A01"


def events(csms: CentralSystem) -> list[str]:
    return [e["type"] for e in csms.calls("SecurityEventNotification")]


async def test_a04_a_boot_and_a_new_password_are_security_events_sent_in_order(tmp_path: Path) -> None:
    csms = CentralSystem(version="2.0.1")
    async with running_gateway(tmp_path, csms=csms, ocpp_version="2.0.1") as rig:
        first = (await csms.wait("SecurityEventNotification"))[0]
        assert first["type"] == "StartupOfTheDevice" and first["tech_info"].startswith("chargebus ")
        password = {"attribute_value": "0123456789abcdef-new", "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "BasicAuthPassword"}}
        result = await csms.call(call.SetVariables(set_variable_data=[password]))
        assert result.set_variable_result[0]["attribute_status"] == "Accepted"
        await csms.wait("SecurityEventNotification", 2)
        assert events(csms) == ["StartupOfTheDevice", "ReconfigurationOfSecurityParameters"]
        assert "0123456789abcdef-new" not in rig.log_text()  # the password itself is never logged nor sent
        assert all("0123456789abcdef-new" not in str(e) for e in csms.calls("SecurityEventNotification"))


async def test_a04_refused_credentials_are_recorded_offline_and_delivered_once_connected(tmp_path: Path) -> None:
    csms = CentralSystem(version="2.0.1", password="0123456789abcdef-A04")  # the station has no password yet
    async with running_gateway(tmp_path, csms=csms, ocpp_version="2.0.1") as rig:
        await rig.logged("the CSMS refused the credentials (HTTP 401)")
        assert csms.calls("SecurityEventNotification") == []
        csms.password = None  # the CSMS lets it in after all
        await csms.wait("SecurityEventNotification", 2, timeout=30)
        assert events(csms) == ["StartupOfTheDevice", "FailedToAuthenticateAtCsms"]
        assert csms.calls("SecurityEventNotification")[1]["tech_info"] == "HTTP 401"


async def security_profile(csms: CentralSystem) -> str:
    result = await csms.call(call.GetVariables(get_variable_data=[
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}]))
    return str(result.get_variable_result[0]["attribute_value"])


async def test_a_security_profile_2_over_tls_with_a_password_set_on_the_station(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    csms = CentralSystem(version="2.0.1", tls=pki.server_context(), password=PASSWORD)
    async with running_gateway(tmp_path, csms=csms, ocpp_version="2.0.1", csms_ca_bundle=pki.ca_path) as rig:
        await rig.logged("the CSMS refused the credentials (HTTP 401)")
        done = await asyncio.to_thread(zygote.chargebus, env_for(rig.settings), "config", "set",
                                       "SecurityCtrlr.BasicAuthPassword", PASSWORD)
        assert done.stdout.strip() == "SecurityCtrlr.BasicAuthPassword: accepted", done.stderr
        await csms.wait("BootNotification", timeout=40)
        assert csms.authorizations[-1] is not None and csms.authorizations[-1].startswith("Basic ")
        assert await security_profile(csms) == "2"
        assert PASSWORD not in rig.log_text()


async def test_a_security_profile_3_with_a_client_certificate(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    cert, key = pki.issue("CB0000001", server=False)
    csms = CentralSystem(version="2.0.1", tls=pki.server_context(client_ca=pki.ca_path))
    async with running_gateway(tmp_path, csms=csms, ocpp_version="2.0.1", csms_ca_bundle=pki.ca_path,
                               csms_client_cert=cert, csms_client_key=key):
        await csms.wait("BootNotification", timeout=20)
        assert csms.authorizations[-1] is None  # the certificate authenticates: no password is sent
        assert await security_profile(csms) == "3"

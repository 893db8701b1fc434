"""OCPP 2.0.1 A04: the security log and SecurityEventNotification. Every event is written before it is sent, and
sent in order until the CSMS confirms it: one recorded while the CSMS is out of reach arrives once it is back."""

from __future__ import annotations

from pathlib import Path

from ocpp.v201 import call

from tests.csms import CentralSystem
from tests.gateway_rig import running_gateway


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

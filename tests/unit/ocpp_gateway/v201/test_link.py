"""The CSMS link in OCPP 2.0.1 against the library's Central System side over a real WebSocket: the subprotocol,
BootNotification with its reason through Pending to Accepted, the heartbeat interval the answer gives, and a
BasicAuthPassword set by SetVariables used from the reconnect it causes (OCTT TC_B_01, TC_B_02, TC_A_01)."""

from __future__ import annotations

import base64

from ocpp.v201 import call
from ocpp.v201.datatypes import ComponentType, SetVariableDataType, VariableType

from services.common.contract.ocpp_gateway import Registration

from .conftest import CP, PASSWORD, Running


async def test_tc_b_01_02_boot_pending_then_accepted_and_heartbeats_at_its_interval(running: Running) -> None:
    csms, link = running.csms, running.link
    await csms.until(lambda: len(csms.boots) == 2)  # Pending, then again after its 1 s
    assert csms.subprotocols == ["ocpp2.0.1"]
    assert csms.boots[0]["reason"] == "PowerUp"
    assert csms.boots[0]["charging_station"]["vendor_name"] == "chargebus"
    assert csms.boots[0]["charging_station"]["model"] == "MIC-200-ELT"
    await link.wait_accepted()
    assert link.registration is Registration.ACCEPTED
    assert link.config.get("OCPPCommCtrlr.HeartbeatInterval") == "2"  # the interval the answer gave
    await csms.until(lambda: csms.heartbeats >= 1, timeout=6)  # nothing else goes on the link: one comes


async def test_tc_a_01_a_new_basic_auth_password_is_used_from_the_reconnect_it_causes(running: Running) -> None:
    csms, link = running.csms, running.link
    await link.wait_accepted()
    assert csms.authorizations == [None]  # no password yet: none is sent
    result = await csms.stations[0].call(call.SetVariables(set_variable_data=[SetVariableDataType(
        attribute_value=PASSWORD, component=ComponentType(name="SecurityCtrlr"),
        variable=VariableType(name="BasicAuthPassword"))]))
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"  # the answer went out on the old link
    await csms.until(lambda: len(csms.authorizations) == 2)
    expected = "Basic " + base64.b64encode(f"{CP}:{PASSWORD}".encode()).decode()
    assert csms.authorizations[1] == expected
    await link.wait_accepted()
    assert len(csms.boots) == 2  # the same boot of the station: a reconnect, no new BootNotification

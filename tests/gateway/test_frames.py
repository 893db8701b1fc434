"""What the gateway answers to frames a Central System should not send, and to the Core calls it refuses."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp.v16 import call

from tests.gateway_rig import GatewayRig


async def test_other_core_calls(gateway: GatewayRig) -> None:
    assert (await gateway.csms.call(call.DataTransfer(vendor_id="someone"))).status == "UnknownVendorId"
    assert (await gateway.csms.call(call.DataTransfer(vendor_id="chargebus"))).status == "UnknownMessageId"
    assert (await gateway.csms.call(call.UnlockConnector(connector_id=1))).status == "NotSupported"


async def test_error_codes_of_ocpp_j_16(gateway: GatewayRig) -> None:
    await gateway.csms.wait("BootNotification")
    cases: list[tuple[list[Any], str]] = [
        ([2, "u1", "FlyToTheMoon", {}], "NotImplemented"),
        # PICS F-1 (secure firmware updates): No
        ([2, "u2", "SignedUpdateFirmware", {"requestId": 1, "firmware": {
            "location": "https://x/fw", "retrieveDateTime": "2026-01-01T00:00:00Z",
            "signingCertificate": "c", "signature": "s"}}], "NotSupported"),
        ([2, "u3", "ChangeConfiguration", {"key": "HeartbeatInterval"}], "OccurenceConstraintViolation"),
        ([2, "u4", "ChangeConfiguration", {"key": 1, "value": "2"}], "TypeConstraintViolation"),
        ([2, "u5", "Reset", {"type": "Sideways"}], "PropertyConstraintViolation"),
        ([2, "u6", "Reset", {"type": "Soft", "extra": 1}], "FormationViolation"),
        ([2, "u7", "Reset"], "ProtocolError"),
    ]
    for frame, code in cases:
        answer = await gateway.csms.raw_call(frame)
        assert answer[0] == 4 and answer[2] == code, (frame, answer)
    assert (await gateway.csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))).configuration_key


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.lists(st.one_of(st.integers(), st.text(max_size=8), st.none()), max_size=5).map(json.dumps),
    st.fixed_dictionaries({"key": st.one_of(st.text(max_size=60), st.integers()),
                           "value": st.one_of(st.text(max_size=600), st.none())}).map(
        lambda p: json.dumps([2, "h1", "ChangeConfiguration", p])),
))
async def test_bad_frames_never_break_the_link(gateway: GatewayRig, frame: str) -> None:
    await gateway.csms.wait("BootNotification")
    await gateway.csms.send_raw(frame)
    result = await gateway.csms.call(call.GetConfiguration(key=["GetConfigurationMaxKeys"]))
    assert result.configuration_key[0]["value"] == "6"
    assert gateway.csms.connections == 1


async def test_item_16_a_malformed_callresult_is_not_answered(gateway: GatewayRig) -> None:
    await gateway.status("Available")
    for frame in ('[3, "bad-1"]', '[4, "bad-2", "X"]', '[3]'):
        await gateway.csms.send_raw(frame)
    # a call sent after them is answered: by then the station has read (and dropped) the broken frames
    answer = await gateway.csms.call(call.GetConfiguration(key=["NumberOfConnectors"]))
    assert answer.configuration_key[0]["value"] == "1"
    answered = [json.loads(f) for _at, f in gateway.csms.frames if f.startswith("[4")]
    assert [a for a in answered if a[1] in ("bad-1", "bad-2")] == []

"""The Central System's Core calls and bad frames, against the whole station and a real CSMS."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp.v16 import call

from services.common.contract.common import ConfigValue
from services.common.contract.supervisor import RESTART, RestartRequest
from tests.system.station import Station, charging


async def test_get_and_change_configuration(station: Station) -> None:
    everything = await station.csms.call(call.GetConfiguration())
    keys = {k["key"]: k for k in everything.configuration_key}
    assert keys["GetConfigurationMaxKeys"] == {"key": "GetConfigurationMaxKeys", "readonly": True, "value": "6"}
    assert "CP_MODEL" in keys and "MemberPrice" in keys and not everything.unknown_key
    named = await station.csms.call(call.GetConfiguration(key=["HeartbeatInterval", "Unknown1"]))
    assert [k["key"] for k in named.configuration_key] == ["HeartbeatInterval"] and named.unknown_key == ["Unknown1"]
    beyond = await station.csms.call(call.GetConfiguration(key=[f"K{i}" for i in range(7)]))  # all answered
    assert beyond.unknown_key == [f"K{i}" for i in range(7)]

    answers = [
        (await station.csms.call(call.ChangeConfiguration(key=k, value=v))).status
        for k, v in [("MeterValueSampleInterval", "5"), ("MeterValueSampleInterval", "-1"),
                     ("NumberOfConnectors", "2"), ("NoSuchKey", "1"), ("ServerURL", "ws://x/ocpp")]]
    assert answers == ["Accepted", "Rejected", "Rejected", "NotSupported", "Rejected"]  # ServerURL is read-only
    published = await station.observer.wait(
        lambda: (v := station.observer.get("chargebus/config/MeterValueSampleInterval")) and v.value == "5" and v,
        what="the changed key on the bus")
    assert isinstance(published, ConfigValue) and not published.readonly


async def test_change_availability_scheduled_during_a_transaction(station: Station) -> None:
    start = await charging(station)
    assert start["connector_id"] == 1
    result = await station.csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert result.status == "Scheduled"
    await station.swipe("TAG1")
    await station.csms.wait("StopTransaction")
    await station.status("Unavailable")

    def told() -> int:  # each power process logs once that it follows an inoperative connector
        return station.stack.log.read_text(errors="replace").count("availability connector=1 operative=False")
    await station.observer.wait(lambda: told() == 1, what="power told the connector is inoperative")
    # power keeps availability in memory only: a new power process is told again
    pid = station.pid("power")
    await station.bus.request(RESTART, RestartRequest(service="power", reason="test"))
    new_pid = (await station.observer.wait_online(("power",), not_pids={"power": pid}))["power"]
    assert new_pid != pid
    await station.observer.wait(lambda: told() == 2, what="the new power process told the connector is inoperative")
    assert station.observer.get("chargebus/ocpp_gateway/state/connector/1").status == "Unavailable"
    back = await station.csms.call(call.ChangeAvailability(connector_id=0, type="Operative"))
    assert back.status == "Accepted"
    assert (await station.csms.call(call.ChangeAvailability(connector_id=7, type="Operative"))).status == "Rejected"


async def test_other_core_calls(station: Station) -> None:
    assert (await station.csms.call(call.DataTransfer(vendor_id="someone"))).status == "UnknownVendorId"
    assert (await station.csms.call(call.DataTransfer(vendor_id="chargebus"))).status == "UnknownMessageId"
    assert (await station.csms.call(call.UnlockConnector(connector_id=1))).status == "NotSupported"
    assert (await station.csms.call(call.ClearCache())).status == "Accepted"


async def test_error_codes_of_ocpp_j_16(station: Station) -> None:
    await station.csms.wait("BootNotification")
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
        answer = await station.csms.raw_call(frame)
        assert answer[0] == 4 and answer[2] == code, (frame, answer)
    assert (await station.csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))).configuration_key


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.lists(st.one_of(st.integers(), st.text(max_size=8), st.none()), max_size=5).map(json.dumps),
    st.fixed_dictionaries({"key": st.one_of(st.text(max_size=60), st.integers()),
                           "value": st.one_of(st.text(max_size=600), st.none())}).map(
        lambda p: json.dumps([2, "h1", "ChangeConfiguration", p])),
))
async def test_bad_frames_never_break_the_link(station: Station, frame: str) -> None:
    await station.csms.wait("BootNotification")
    await station.csms.send_raw(frame)
    result = await station.csms.call(call.GetConfiguration(key=["GetConfigurationMaxKeys"]))
    assert result.configuration_key[0]["value"] == "6"
    assert station.csms.connections == 1


async def test_minimum_status_duration_hides_short_lived_statuses(station: Station) -> None:
    await station.status("Available")
    assert (await station.csms.call(call.ChangeConfiguration(key="MinimumStatusDuration", value="2"))
            ).status == "Accepted"
    await station.plug()
    await station.unplug()  # Preparing lasted far less than 2 s
    await station.plug()
    await station.status("Preparing")  # this one stays: reported once stable
    statuses = [p["status"] for p in station.csms.calls("StatusNotification") if p["connector_id"] == 1]
    assert statuses == ["Available", "Preparing"]

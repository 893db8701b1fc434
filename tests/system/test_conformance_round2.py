"""OCPP 1.6 conformance, second round: keys, lists, profiles and requests, each reproduced against the whole
station and a real CSMS. Item numbers are those of the conformance issue; OCTT ids where a case exists."""

from __future__ import annotations

from ocpp.v16 import call

from tests.system.station import Station, charging
from tests.system.test_local_list import entry, send, version
from tests.system.test_smart_charging import limit_is, profile, set_profile

THIRTY_DAYS_S = 30 * 86400
UNREACHABLE = "ftp://127.0.0.1:1/"  # nothing listens on port 1: a transfer there fails at once


async def test_tc_042_2_item_3_after_an_empty_list_the_reported_version_is_the_one_compared(station: Station) -> None:
    assert await send(station, 5, "Full", [entry("LOCAL1")]) == "Accepted"
    assert await send(station, 3, "Full") == "Accepted"
    assert await version(station) == 0
    assert await send(station, 1, "Differential", [entry("LOCAL2")]) == "Accepted"  # 1 is above the 0 reported
    assert await version(station) == 1
    assert await send(station, 4, "Differential", [{"id_tag": "LOCAL2"}]) == "Accepted"  # removes every entry
    assert await version(station) == 0
    assert await send(station, 1, "Differential", [entry("LOCAL3")]) == "Accepted"
    assert await version(station) == 1


async def test_item_6_a_remote_start_whose_profile_cannot_be_installed_is_rejected(station: Station) -> None:
    keys = await station.csms.call(call.GetConfiguration(key=["MaxChargingProfilesInstalled"]))
    most = int(keys.configuration_key[0]["value"])
    for level in range(most):
        assert await set_profile(station, 1, profile(100 + level, "TxDefaultProfile", [(0, 30)], level=level)) == (
            "Accepted")
    tx_profile = profile(1, "TxProfile", [(0, 16)], kind="Relative")
    result = await station.csms.call(call.RemoteStartTransaction(id_tag="R1", connector_id=1,
                                                                 charging_profile=tx_profile))
    assert result.status == "Rejected"


async def test_item_7_get_composite_schedule_over_30_days_is_answered_capped(station: Station) -> None:
    result = await station.csms.call(call.GetCompositeSchedule(connector_id=1, duration=THIRTY_DAYS_S + 86400))
    assert result.status == "Accepted" and result.charging_schedule["duration"] == THIRTY_DAYS_S


async def test_item_8_an_absolute_profile_without_start_schedule_is_rejected_unless_the_vendor_key_says(
        station: Station) -> None:
    no_start = profile(1, "TxDefaultProfile", [(0, 12)])
    del no_start["charging_schedule"]["start_schedule"]
    assert await set_profile(station, 1, no_start) == "Rejected"
    await station.configure(AbsoluteWithoutStartScheduleAsRelative="true")
    assert await set_profile(station, 1, no_start) == "Accepted"
    cap = profile(2, "ChargePointMaxProfile", [(0, 50)])
    del cap["charging_schedule"]["start_schedule"]
    assert await set_profile(station, 0, cap) == "Rejected"  # no transaction to count from
    await charging(station)
    await limit_is(station, 12.0)  # counted from the start of charging


async def test_item_10_current_export_is_the_measured_current(station: Station) -> None:
    await station.configure(MeterValuesSampledData="Current.Export", MeterValueSampleInterval="1")
    await charging(station)

    def measured() -> list[float]:
        return [float(v["value"]) for p in station.csms.calls("MeterValues") for mv in p["meter_value"]
                for v in mv["sampled_value"] if v.get("measurand") == "Current.Export"]
    await station.csms.wait("MeterValues", where=lambda p: any(
        v.get("measurand") == "Current.Export" and float(v["value"]) > 0
        for mv in p["meter_value"] for v in mv["sampled_value"]))
    assert max(measured()) > 0


async def test_item_10_duplicate_id_tags_in_one_list_fail_and_nothing_is_applied(station: Station) -> None:
    assert await send(station, 1, "Full", [entry("KEEP1")]) == "Accepted"
    assert await send(station, 2, "Full", [entry("TWICE1"), entry("twice1", "Blocked")]) == "Failed"
    assert await send(station, 2, "Differential", [entry("NEW1"), entry("NEW1")]) == "Failed"
    assert await version(station) == 1
    assert await send(station, 2, "Differential", [entry("NEW1")]) == "Accepted"  # the version was not taken


async def test_item_15_a_remote_start_while_finishing_reports_preparing_first(station: Station) -> None:
    await charging(station)
    await station.csms.call(call.RemoteStopTransaction(transaction_id=1000))
    await station.status("Finishing")
    await station.csms.wait("StopTransaction")  # the session is over: the connector is free for the next
    assert (await station.csms.call(call.RemoteStartTransaction(id_tag="R2", connector_id=1))).status == "Accepted"
    await station.status("Charging", count=2)
    statuses = [p["status"] for p in station.csms.calls("StatusNotification") if p["connector_id"] == 1]
    assert statuses[statuses.index("Finishing"):] == ["Finishing", "Preparing", "Charging"]

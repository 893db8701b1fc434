"""OCPP 1.6 conformance, second round: keys, lists, profiles and requests, each reproduced against the whole
station and a real CSMS. Item numbers are those of the conformance issue; OCTT ids where a case exists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ocpp.v16 import call
from ocpp.v16.enums import RegistrationStatus

from services.common.contract.firmware import DiagnosticsRequest, UpdateRequest
from tests.system.stack import CommandTap
from tests.system.station import Station, charging, running_station
from tests.system.test_local_list import entry, send, version
from tests.system.test_smart_charging import iso, limit_is, profile, set_profile

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


async def test_item_4_allow_offline_tx_for_unknown_id_is_read_only_false(station: Station) -> None:
    keys = await station.csms.call(call.GetConfiguration(key=["AllowOfflineTxForUnknownId"]))
    assert keys.configuration_key == [{"key": "AllowOfflineTxForUnknownId", "readonly": True, "value": "false"}]
    answer = await station.csms.call(call.ChangeConfiguration(key="AllowOfflineTxForUnknownId", value="true"))
    assert answer.status == "Rejected"


async def test_item_5_an_interval_of_0_means_no_sampled_or_aligned_data(station: Station) -> None:
    await station.configure(MeterValueSampleInterval="0", ClockAlignedDataInterval="0")
    keys = await station.csms.call(call.GetConfiguration(key=["MeterValueSampleInterval", "ClockAlignedDataInterval"]))
    assert {k["key"]: k["value"] for k in keys.configuration_key} == {
        "MeterValueSampleInterval": "0", "ClockAlignedDataInterval": "0"}


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


async def test_item_7_update_firmware_retries_and_interval_beyond_the_limits_are_capped(station: Station) -> None:
    later = iso(datetime.now(UTC) + timedelta(days=1))
    tap = CommandTap(station.settings, "firmware")
    try:
        await station.csms.call(call.UpdateFirmware(location=UNREACHABLE + "image.cbfw", retrieve_date=later,
                                                    retries=101, retry_interval=86401))
        handed = await station.observer.wait(lambda: _handed(tap, "update"), what="the update handed over")
    finally:
        tap.close()
    assert (handed.retries, handed.retry_interval_s) == (100, 86400)


async def test_item_7_get_diagnostics_caps_and_keeps_a_retry_interval_of_0(station: Station) -> None:
    tap = CommandTap(station.settings, "firmware")
    try:
        answer = await station.csms.call(call.GetDiagnostics(location=UNREACHABLE, retries=101, retry_interval=0))
        assert answer.file_name
        handed = await station.observer.wait(lambda: _handed(tap, "get_diagnostics"),
                                             what="diagnostics handed over")
    finally:
        tap.close()
    assert (handed.retries, handed.retry_interval_s) == (100, 0)


async def test_item_7_a_location_too_long_is_answered_and_reported_failed(station: Station) -> None:
    long_location = UNREACHABLE + "x" * 600 + ".cbfw"
    await station.csms.call(call.UpdateFirmware(location=long_location, retrieve_date=iso(datetime.now(UTC))))
    assert (await station.csms.wait("FirmwareStatusNotification"))[0]["status"] == "DownloadFailed"
    answer = await station.csms.call(call.GetDiagnostics(location=long_location))
    assert answer.file_name is None  # nothing will be uploaded


async def test_item_7_a_location_too_long_sent_before_accepted_is_reported_once_accepted(tmp_path: Path) -> None:
    """The CSMS may send UpdateFirmware as soon as it answered the BootNotification; DownloadFailed then waits for
    the registration to be Accepted instead of being dropped (seen lost when the call came that early)."""
    async with running_station(tmp_path, boot_interval=1, boot_status="Pending") as station:
        await station.csms.wait("BootNotification", timeout=30)
        await station.csms.call(call.UpdateFirmware(location=UNREACHABLE + "x" * 600 + ".cbfw",
                                                    retrieve_date=iso(datetime.now(UTC))))
        station.csms.boot_status = RegistrationStatus.accepted
        await station.accepted(timeout=30)
        notes = await station.csms.wait("FirmwareStatusNotification", timeout=30)
        assert [n["status"] for n in notes] == ["DownloadFailed"]
        order = [s.action for s in station.csms.seen]
        assert order.index("FirmwareStatusNotification") > order.index("BootNotification")


async def test_item_7_a_date_that_is_no_date_is_a_property_constraint_violation(station: Station) -> None:
    update = await station.csms.raw_call([2, "u1", "UpdateFirmware", {"location": UNREACHABLE + "i.cbfw",
                                                                      "retrieveDate": "tomorrow"}])
    diagnostics = await station.csms.raw_call([2, "d1", "GetDiagnostics", {"location": UNREACHABLE,
                                                                           "startTime": "2026-13-45T99:00:00Z"}])
    assert [update[:3], diagnostics[:3]] == [[4, "u1", "PropertyConstraintViolation"],
                                             [4, "d1", "PropertyConstraintViolation"]]
    reserve = await station.csms.call(call.ReserveNow(connector_id=1, expiry_date="soon", id_tag="R1",
                                                      reservation_id=7))
    assert reserve.status == "Rejected"


def _handed(tap: CommandTap, command: str) -> Any:
    """The request the gateway handed to firmware, read by a second login of firmware's own account."""
    return next((p for topic, p in tap.seen
                 if topic == f"chargebus/firmware/cmd/{command}" and isinstance(p, UpdateRequest | DiagnosticsRequest)),
                None)


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


async def test_item_10_keys_and_vendor_id_compare_case_insensitively(station: Station) -> None:
    keys = await station.csms.call(call.GetConfiguration(key=["heartbeatinterval"]))
    assert [k["key"] for k in keys.configuration_key] == ["HeartbeatInterval"] and not keys.unknown_key
    changed = await station.csms.call(call.ChangeConfiguration(key="HEARTBEATINTERVAL", value="120"))
    assert changed.status == "Accepted"
    keys = await station.csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert keys.configuration_key[0]["value"] == "120"
    transfer = await station.csms.call(call.DataTransfer(vendor_id="ChargeBus", message_id="nothing"))
    assert transfer.status == "UnknownMessageId"  # our vendor id, a message we do not know


async def test_item_10_measurands_outside_the_pics_are_refused(station: Station) -> None:
    for key in ("MeterValuesSampledData", "MeterValuesAlignedData"):
        for measurand in ("Current.Import", "Current.Offered", "Temperature"):
            answer = await station.csms.call(call.ChangeConfiguration(key=key, value=measurand))
            assert answer.status == "Rejected", (key, measurand)
    await station.configure(MeterValuesSampledData="Power.Active.Import,Voltage,SoC,Energy.Active.Import.Register,"
                                                   "Current.Export,Power.Offered")


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


async def test_item_13_more_keys_than_get_configuration_max_keys_are_all_answered(station: Station) -> None:
    wanted = ["HeartbeatInterval", "MeterValueSampleInterval", "NumberOfConnectors", "ResetRetries",
              "LocalPreAuthorize", "ConnectionTimeOut", "NoSuchKey1"]
    answer = await station.csms.call(call.GetConfiguration(key=wanted))
    assert [k["key"] for k in answer.configuration_key] == wanted[:-1] and answer.unknown_key == ["NoSuchKey1"]
    await station.logged("more than GetConfigurationMaxKeys")  # said once, as the CSMS's doing
    assert "Traceback" not in station.stack.log.read_text(errors="replace")


async def test_item_15_a_remote_start_while_finishing_reports_preparing_first(station: Station) -> None:
    await charging(station)
    await station.csms.call(call.RemoteStopTransaction(transaction_id=1000))
    await station.status("Finishing")
    await station.csms.wait("StopTransaction")  # the session is over: the connector is free for the next
    assert (await station.csms.call(call.RemoteStartTransaction(id_tag="R2", connector_id=1))).status == "Accepted"
    await station.status("Charging", count=2)
    statuses = [p["status"] for p in station.csms.calls("StatusNotification") if p["connector_id"] == 1]
    assert statuses[statuses.index("Finishing"):] == ["Finishing", "Preparing", "Charging"]

"""Requests the 1.6 schema allows but the station's contract bounds: each gets a 1.6 answer (capped, Rejected or
a PropertyConstraintViolation), and what is handed to firmware is what docs/ocpp.md says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ocpp.v16 import call
from ocpp.v16.enums import RegistrationStatus

from services.common.contract import firmware
from services.common.contract.firmware import DiagnosticsReply, FirmwarePhase, JobsStatus, UploadPhase
from tests.gateway_rig import GatewayRig, running_gateway

UNREACHABLE = "ftp://127.0.0.1:1/"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _firmware(rig: GatewayRig) -> None:
    stand_in = rig.stand_in("firmware")
    stand_in.answer(firmware.UPDATE, JobsStatus(firmware=FirmwarePhase.IDLE, diagnostics=UploadPhase.IDLE))
    stand_in.answer(firmware.GET_DIAGNOSTICS, DiagnosticsReply(file_name="diagnostics.tar.gz"))


async def test_item_7_update_firmware_retries_and_interval_beyond_the_limits_are_capped(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, answers=_firmware) as gateway:
        later = iso(datetime.now(UTC) + timedelta(days=1))
        await gateway.csms.call(call.UpdateFirmware(location=UNREACHABLE + "image.cbfw", retrieve_date=later,
                                                    retries=101, retry_interval=86401))
        handed = await gateway.observer.wait(lambda: gateway.stand_in("firmware").asked(firmware.UPDATE),
                                             what="the update handed over")
        assert [(h.retries, h.retry_interval_s) for h in handed] == [(100, 86400)]


async def test_item_7_get_diagnostics_caps_and_keeps_a_retry_interval_of_0(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, answers=_firmware) as gateway:
        answer = await gateway.csms.call(call.GetDiagnostics(location=UNREACHABLE, retries=101, retry_interval=0))
        assert answer.file_name == "diagnostics.tar.gz"
        handed = gateway.stand_in("firmware").asked(firmware.GET_DIAGNOSTICS)
        assert [(h.retries, h.retry_interval_s) for h in handed] == [(100, 0)]


async def test_item_7_a_location_too_long_is_answered_and_reported_failed(gateway: GatewayRig) -> None:
    long_location = UNREACHABLE + "x" * 600 + ".cbfw"
    await gateway.csms.call(call.UpdateFirmware(location=long_location, retrieve_date=iso(datetime.now(UTC))))
    assert (await gateway.csms.wait("FirmwareStatusNotification"))[0]["status"] == "DownloadFailed"
    answer = await gateway.csms.call(call.GetDiagnostics(location=long_location))
    assert answer.file_name is None  # nothing will be uploaded
    assert gateway.stand_in("firmware").asked(firmware.UPDATE) == []  # nothing was handed to firmware


async def test_item_7_a_location_too_long_sent_before_accepted_is_reported_once_accepted(tmp_path: Path) -> None:
    """The CSMS may send UpdateFirmware as soon as it answered the BootNotification; DownloadFailed then waits for
    the registration to be Accepted instead of being dropped (seen lost when the call came that early)."""
    async with running_gateway(tmp_path, boot_interval=1, boot_status="Pending") as gateway:
        await gateway.csms.wait("BootNotification", timeout=30)
        await gateway.csms.call(call.UpdateFirmware(location=UNREACHABLE + "x" * 600 + ".cbfw",
                                                    retrieve_date=iso(datetime.now(UTC))))
        gateway.csms.boot_status = RegistrationStatus.accepted
        await gateway.accepted(timeout=30)
        notes = await gateway.csms.wait("FirmwareStatusNotification", timeout=30)
        assert [n["status"] for n in notes] == ["DownloadFailed"]
        order = [s.action for s in gateway.csms.seen]
        assert order.index("FirmwareStatusNotification") > order.index("BootNotification")


async def test_item_7_a_date_that_is_no_date_is_a_property_constraint_violation(gateway: GatewayRig) -> None:
    update = await gateway.csms.raw_call([2, "u1", "UpdateFirmware", {"location": UNREACHABLE + "i.cbfw",
                                                                      "retrieveDate": "tomorrow"}])
    diagnostics = await gateway.csms.raw_call([2, "d1", "GetDiagnostics", {"location": UNREACHABLE,
                                                                           "startTime": "2026-13-45T99:00:00Z"}])
    assert [update[:3], diagnostics[:3]] == [[4, "u1", "PropertyConstraintViolation"],
                                             [4, "d1", "PropertyConstraintViolation"]]
    reserve = await gateway.csms.call(call.ReserveNow(connector_id=1, expiry_date="soon", id_tag="R1",
                                                      reservation_id=7))
    assert reserve.status == "Rejected"

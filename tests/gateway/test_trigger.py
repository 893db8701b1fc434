"""TriggerMessage of the station-wide messages: sent after the TriggerMessage.conf, with what firmware reports;
Rejected for a connector that does not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ocpp.v16 import call

from services.common.contract import firmware
from services.common.contract.firmware import FirmwarePhase, JobsStatus, UploadPhase
from tests.gateway_rig import GatewayRig, running_gateway


def _after_the_conf(gateway: GatewayRig, action: str) -> None:
    """The station's frames in order: the CALLRESULT of TriggerMessage comes before the triggered CALL."""
    frames = [json.loads(f) for _at, f in gateway.csms.frames]
    conf = max(i for i, f in enumerate(frames) if f[0] == 3 and f[2].get("status") == "Accepted")
    triggered = [i for i, f in enumerate(frames) if f[0] == 2 and f[2] == action]
    assert triggered and triggered[-1] > conf, (action, frames[-5:])


def _jobs(rig: GatewayRig) -> None:
    rig.stand_in("firmware").answer(firmware.STATUS, JobsStatus(firmware=FirmwarePhase.DOWNLOADING,
                                                                diagnostics=UploadPhase.UPLOADING))


@pytest.mark.parametrize(("message", "action", "expected"), [
    ("Heartbeat", "Heartbeat", {}),
    ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification", {"status": "Uploading"}),
    ("FirmwareStatusNotification", "FirmwareStatusNotification", {"status": "Downloading"}),
    ("BootNotification", "BootNotification", {"charge_point_vendor": "chargebus"}),
])
async def test_tc_054_station_wide_messages(tmp_path: Path, message: str, action: str,
                                           expected: dict[str, str]) -> None:
    async with running_gateway(tmp_path, answers=_jobs) as gateway:
        await gateway.status("Available")
        seen = len(gateway.csms.calls(action))
        result = await gateway.csms.call(call.TriggerMessage(requested_message=message))
        assert result.status == "Accepted"
        payload = (await gateway.csms.wait(action, seen + 1))[-1]
        assert expected.items() <= payload.items()
        _after_the_conf(gateway, action)


async def test_tc_054_firmware_that_does_not_answer_is_reported_idle(gateway: GatewayRig) -> None:
    await gateway.status("Available")
    result = await gateway.csms.call(call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    assert result.status == "Accepted"
    assert (await gateway.csms.wait("FirmwareStatusNotification", timeout=10))[-1]["status"] == "Idle"


async def test_tc_055_a_connector_that_does_not_exist_is_rejected(gateway: GatewayRig) -> None:
    await gateway.status("Available")
    for message, connector in (("MeterValues", 2), ("StatusNotification", 5), ("MeterValues", 0)):
        result = await gateway.csms.call(call.TriggerMessage(requested_message=message, connector_id=connector))
        assert result.status == "Rejected", (message, connector)


async def test_a_triggered_boot_notification_ends_the_wait_of_a_pending_registration(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, boot_interval=300, boot_status="Pending") as gateway:
        await gateway.csms.wait("BootNotification")
        gateway.csms.boot_status = "Accepted"  # type: ignore[assignment]
        result = await gateway.csms.call(call.TriggerMessage(requested_message="BootNotification"))
        assert result.status == "Accepted"
        await gateway.csms.wait("BootNotification", 2, timeout=5)  # not after the 300 s the CSMS asked for
        await gateway.status("Available", connector=1)  # and the registration went on to Accepted

"""Remote Trigger against the whole station and a real CSMS: every message type, sent after its
TriggerMessage.conf, for the connector named or each; Rejected for a connector that does not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ocpp.v16 import call

from tests.system.station import Station, charging, running_station


def _after_the_conf(station: Station, action: str) -> None:
    """The station's frames in order: the CALLRESULT of TriggerMessage comes before the triggered CALL."""
    frames = [json.loads(f) for _at, f in station.csms.frames]
    conf = max(i for i, f in enumerate(frames) if f[0] == 3 and f[2].get("status") == "Accepted")
    triggered = [i for i, f in enumerate(frames) if f[0] == 2 and f[2] == action]
    assert triggered and triggered[-1] > conf, (action, frames[-5:])


@pytest.mark.parametrize(("message", "action", "expected"), [
    ("Heartbeat", "Heartbeat", {}),
    ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification", {"status": "Idle"}),
    ("FirmwareStatusNotification", "FirmwareStatusNotification", {"status": "Idle"}),
    ("BootNotification", "BootNotification", {"charge_point_vendor": "chargebus"}),
])
async def test_tc_054_station_wide_messages(station: Station, message: str, action: str,
                                           expected: dict[str, str]) -> None:
    await station.status("Available")
    seen = len(station.csms.calls(action))
    result = await station.csms.call(call.TriggerMessage(requested_message=message))
    assert result.status == "Accepted"
    payload = (await station.csms.wait(action, seen + 1))[-1]
    assert expected.items() <= payload.items()
    _after_the_conf(station, action)


async def test_tc_054_meter_values_and_status_of_a_connector_and_of_each(station: Station) -> None:
    start = await charging(station)
    await station.configure(MinimumStatusDuration="60")  # a triggered status is sent whatever it holds back
    result = await station.csms.call(call.TriggerMessage(requested_message="MeterValues", connector_id=1))
    assert result.status == "Accepted"
    values = (await station.csms.wait("MeterValues"))[-1]
    assert values["connector_id"] == 1 and values["transaction_id"] == 1000
    assert values["meter_value"][0]["sampled_value"][0]["context"] == "Trigger"
    assert int(values["meter_value"][0]["sampled_value"][0]["value"]) >= start["meter_start"]
    _after_the_conf(station, "MeterValues")
    seen = len(station.csms.calls("StatusNotification"))
    assert (await station.csms.call(call.TriggerMessage(requested_message="StatusNotification"))).status == "Accepted"
    statuses = (await station.csms.wait("StatusNotification", seen + 2))[seen:]
    assert {(p["connector_id"], p["status"]) for p in statuses} == {(0, "Available"), (1, "Charging")}


async def test_tc_055_a_connector_that_does_not_exist_is_rejected(station: Station) -> None:
    await station.status("Available")
    for message, connector in (("MeterValues", 2), ("StatusNotification", 5), ("MeterValues", 0)):
        result = await station.csms.call(call.TriggerMessage(requested_message=message, connector_id=connector))
        assert result.status == "Rejected", (message, connector)


async def test_a_triggered_boot_notification_ends_the_wait_of_a_pending_registration(tmp_path: Path) -> None:
    async with running_station(tmp_path, boot_interval=300, boot_status="Pending") as station:
        await station.csms.wait("BootNotification")
        station.csms.boot_status = "Accepted"  # type: ignore[assignment]
        result = await station.csms.call(call.TriggerMessage(requested_message="BootNotification"))
        assert result.status == "Accepted"
        await station.csms.wait("BootNotification", 2, timeout=5)  # not after the 300 s the CSMS asked for
        await station.status("Available", connector=1)  # and the registration went on to Accepted

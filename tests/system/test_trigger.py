"""Remote Trigger against the whole station and a real CSMS: every message type, sent after its
TriggerMessage.conf, for the connector named or each; Rejected for a connector that does not exist."""

from __future__ import annotations

import json

from ocpp.v16 import call

from tests.system.station import Station, charging


def _after_the_conf(station: Station, action: str) -> None:
    """The station's frames in order: the CALLRESULT of TriggerMessage comes before the triggered CALL."""
    frames = [json.loads(f) for _at, f in station.csms.frames]
    conf = max(i for i, f in enumerate(frames) if f[0] == 3 and f[2].get("status") == "Accepted")
    triggered = [i for i, f in enumerate(frames) if f[0] == 2 and f[2] == action]
    assert triggered and triggered[-1] > conf, (action, frames[-5:])


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



"""The connector status the gateway works out from power's hardware facts, and when the CSMS is told it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from ocpp.v16 import call

from services.common.contract import metering, ocpp_gateway, power, smart_charging
from services.common.contract.metering import Cause, Measurand, MeterReading, MeterValue, Sample
from services.common.contract.power import ConnectorState, EnergizeRequest
from services.common.contract.smart_charging import ChargingLimit
from tests.gateway_rig import GatewayRig, running_gateway


async def test_minimum_status_duration_hides_short_lived_statuses(gateway: GatewayRig) -> None:
    await gateway.status("Available")
    await gateway.configure(MinimumStatusDuration="2")
    gateway.plug()
    gateway.unplug()  # Preparing lasted far less than 2 s
    gateway.plug()
    await gateway.status("Preparing")  # this one stays: reported once stable
    statuses = [p["status"] for p in gateway.csms.calls("StatusNotification") if p["connector_id"] == 1]
    assert statuses == ["Available", "Preparing"]


async def test_item_13_status_timestamps_are_the_time_of_the_change(gateway: GatewayRig) -> None:
    await gateway.status("Available")
    await gateway.configure(MinimumStatusDuration="2")
    plugged_at, plugged_mono = datetime.now(UTC), time.monotonic()
    gateway.plug()
    preparing = (await gateway.status("Preparing"))[0]
    received = next(s for s in gateway.csms.seen if s.action == "StatusNotification"
                    and s.payload["status"] == "Preparing")
    assert received.at - plugged_mono >= 1.8  # held back by MinimumStatusDuration...
    stamp = datetime.fromisoformat(preparing["timestamp"])
    assert abs((stamp - plugged_at).total_seconds()) < 0.5  # ...but stamped with the time of the change


async def test_item_13_connector_0_honours_minimum_status_duration(gateway: GatewayRig) -> None:
    await gateway.status("Available", connector=0)
    await gateway.configure(MinimumStatusDuration="2")
    for kind in ("Inoperative", "Operative"):  # Unavailable for far less than 2 s
        assert (await gateway.csms.call(call.ChangeAvailability(connector_id=0, type=kind))).status == "Accepted"
    gateway.plug()
    await gateway.status("Preparing")  # stable for 2 s: reported, and proves connector 0 had its chance
    assert [p["status"] for p in gateway.csms.calls("StatusNotification") if p["connector_id"] == 0] == ["Available"]


async def test_item_13_a_refused_status_notification_is_sent_again_with_a_back_off(gateway: GatewayRig) -> None:
    await gateway.status("Available")
    gateway.csms.fail["StatusNotification"] = ["InternalError"] * 3
    gateway.plug()
    await gateway.status("Preparing", timeout=30)
    refused = [s.at for s in gateway.csms.seen if s.action == "StatusNotification(refused)"]
    accepted = next(s.at for s in gateway.csms.seen if s.action == "StatusNotification"
                    and s.payload["status"] == "Preparing")
    gaps = [b - a for a, b in zip([*refused, accepted], [*refused, accepted][1:], strict=False)]
    assert len(refused) == 3 and gaps[0] >= 1.8 and gaps[1] >= 3.8 and gaps[2] >= 7.5, gaps  # 2 s, 4 s, 8 s


async def test_item_14_tc_036_a_reconnect_sends_no_boot_and_reports_what_changed_offline(gateway: GatewayRig) -> None:
    await gateway.status("Available")
    gateway.csms.refuse = True
    await gateway.csms.drop()
    await gateway.observer.wait(lambda: (link := gateway.observer.get(ocpp_gateway.CONNECTION.path)) is not None
                                and not link.connected, what="the gateway sees the link down")
    gateway.plug()
    await gateway.observer.wait(lambda: (report := gateway.observer.get("chargebus/ocpp_gateway/state/connector/1"))
                                is not None and report.status == "Preparing", what="Preparing while offline")
    gateway.csms.refuse = False
    await gateway.status("Preparing", timeout=40)
    assert len(gateway.csms.calls("BootNotification")) == 1 and gateway.csms.connections == 2
    after = [p for p in gateway.csms.calls("StatusNotification")][2:]
    assert [(p["connector_id"], p["status"]) for p in after] == [(1, "Preparing")]  # only what changed


async def test_each_hardware_fault_is_faulted_with_its_code_and_clears(gateway: GatewayRig) -> None:
    await gateway.status("Available")
    gateway.hardware(fault="ground_failure")
    faulted = (await gateway.status("Faulted"))[-1]
    assert faulted["error_code"] == "GroundFailure"
    gateway.hardware(fault=None)
    await gateway.status("Available", count=2)


async def test_item_15_a_start_on_a_finishing_connector_reports_preparing_before_the_output_is_energized(
        tmp_path: Path) -> None:
    """The CSMS hears Preparing as soon as the station starts the session, while power still energizes (here,
    while power holds its answer): its round trip does not wait for the output, nor the StartTransaction for it."""
    release = asyncio.Event()

    def answers(rig: GatewayRig) -> None:
        async def energize(_request: EnergizeRequest) -> ConnectorState:
            await release.wait()
            return rig.connectors[1].model_copy(update={"energized": True, "delivering": True})

        reading = MeterReading(connector_id=1, energy_wh=1234, meter_value=MeterValue(
            timestamp=datetime.now(UTC), cause=Cause.SESSION_START,
            samples=[Sample(measurand=Measurand.ENERGY_IMPORTED, value=1234.0)]))
        rig.stand_in("metering").answer(metering.READ, reading)
        rig.stand_in("smart_charging").answer(smart_charging.BEGIN_SESSION, ChargingLimit(connector_id=1))
        rig.stand_in("power").answer(power.ENERGIZE, energize)

    async with running_gateway(tmp_path, answers=answers) as rig:
        rig.hardware(1, plugged=True, awaiting_unplug=True)  # the last session ended, the cable is still in
        await rig.status("Finishing")
        assert (await rig.csms.call(call.RemoteStartTransaction(id_tag="TAG1", connector_id=1))).status == "Accepted"
        await rig.status("Preparing")
        assert not release.is_set() and rig.csms.calls("StartTransaction") == []
        release.set()
        start = (await rig.csms.wait("StartTransaction"))[0]
        assert start["meter_start"] == 1234
        statuses = [p["status"] for p in rig.csms.calls("StatusNotification") if p["connector_id"] == 1]
        assert statuses[statuses.index("Finishing"):] == ["Finishing", "Preparing"]  # Charging waits for power

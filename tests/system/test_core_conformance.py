"""Core conformance: the details a Central System sees, each reproduced against the whole station and a
real CSMS. Item numbers are those of the Core conformance issue; OCTT ids where a case exists."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ocpp.v16 import call

from services.common.contract import supervisor
from tests.system.stack import CommandTap, kill9
from tests.system.station import Station, charging, running_station


async def test_item_3_the_same_card_read_in_another_case_stops_its_session(station: Station) -> None:
    start = await charging(station, "abcd1234")
    assert start["id_tag"] == "abcd1234"
    await station.swipe("ABCD1234")
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "Local" and stop["id_tag"] == "ABCD1234"
    assert [a["id_tag"] for a in station.csms.calls("Authorize")] == ["abcd1234"]  # no second authorization


async def test_item_4_an_ev_side_disconnect_stops_the_transaction(station: Station) -> None:
    # StopTransactionOnEVSideDisconnect is true and stays so (tests/gateway/test_configuration.py)
    await charging(station)
    await station.unplug()
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "EVDisconnected"


async def test_item_6_an_unknown_callerror_code_is_retried_like_any_callerror(station: Station) -> None:
    await station.configure(TransactionMessageRetryInterval="1")
    gateway = station.pid("ocpp_gateway")
    station.csms.fail["StartTransaction"] = ["RpcFrameworkError"]  # a CSMS built for OCPP 2.x
    await charging(station)
    assert [s.action for s in station.csms.seen if s.action.startswith("StartTransaction")] == [
        "StartTransaction(refused)", "StartTransaction"]
    assert station.pid("ocpp_gateway") == gateway and station.csms.connections == 1


async def test_item_7_unanswered_transaction_messages_are_never_dropped(tmp_path: Path) -> None:
    async with running_station(tmp_path, CHARGEBUS_OCPP_RESPONSE_TIMEOUT_S="1") as station:
        await station.configure(TransactionMessageAttempts="2")
        await charging(station)
        station.csms.silent["StopTransaction"] = 3  # more silences than TransactionMessageAttempts
        await station.swipe("TAG1")
        stop = (await station.csms.wait("StopTransaction", timeout=30))[0]
        assert stop["reason"] == "Local" and stop["transaction_id"] == 1000
        assert [s.action for s in station.csms.seen].count("StopTransaction(unanswered)") == 3


async def test_item_8_remote_start_with_a_charging_profile_limit_of_21_4(station: Station) -> None:
    await station.status("Available")
    await station.plug()
    profile = {"charging_profile_id": 1, "stack_level": 0, "charging_profile_purpose": "TxProfile",
               "charging_profile_kind": "Relative", "charging_schedule": {
                   "charging_rate_unit": "A", "charging_schedule_period": [{"start_period": 0, "limit": 21.4}]}}
    result = await station.csms.call(call.RemoteStartTransaction(id_tag="R1", charging_profile=profile))
    assert result.status == "Accepted"
    assert (await station.csms.wait("StartTransaction"))[0]["id_tag"] == "R1"


async def test_item_9_a_scheduled_availability_survives_the_power_loss_recovery(station: Station) -> None:
    await charging(station)
    result = await station.csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert result.status == "Scheduled"
    station.stack.power_cut()
    await station.restart_stack()
    stop = (await station.csms.wait("StopTransaction", timeout=40))[0]
    assert stop["reason"] == "PowerLoss"
    await station.status("Unavailable", timeout=30)
    assert (await station.csms.call(call.RemoteStartTransaction(id_tag="R1"))).status == "Rejected"



async def test_a_restart_of_power_alone_keeps_an_inoperative_connector_unavailable(station: Station) -> None:
    """Availability is the gateway's retained intent, which a new power process finds at once: it never shows an
    inoperative connector as Available (power used to start operative until the gateway saw it and told it)."""
    await station.status("Available")
    assert (await station.csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))).status == "Accepted"
    await station.status("Unavailable")  # the gateway's own work: power may not have heard of it yet
    await station.observer.wait(lambda: _learnt_inoperative(station) == 1, 20, "power told")
    old = station.pid("power")
    killed_at = time.monotonic()
    kill9(old)
    await station.observer.wait_online(("power",), timeout=30, not_pids={"power": old})

    def published_since(topic: str) -> list[Any]:
        return [p for at, t, p in station.observer.history if at > killed_at and t == topic and p is not None]

    await station.observer.wait(lambda: published_since("chargebus/power/state/connector/1"), 20,
                                "the new power process's connector state")
    # the new process follows the retained intent at once (it is what refuses to energize an inoperative output)
    await station.observer.wait(lambda: _learnt_inoperative(station) == 2, 20, "the new power process told")
    await station.status("Unavailable", count=1)
    reports = published_since("chargebus/ocpp_gateway/state/connector/1")
    assert [r.status for r in reports] == ["Unavailable"] * len(reports)
    assert station.reported("Available") == 1  # the one before ChangeAvailability, none since


def _learnt_inoperative(station: Station) -> int:
    """How many power processes logged that they follow an inoperative connector."""
    return station.stack.log.read_text(errors="replace").count("availability connector=1 operative=False")

async def test_item_10_an_expiry_date_without_a_time_zone_keeps_the_card_working(station: Station) -> None:
    later = (datetime.now(UTC) + timedelta(days=30)).replace(tzinfo=None).isoformat()
    station.csms.infos["NAIVE1"] = {"status": "Accepted", "expiry_date": later}
    await charging(station, "NAIVE1")
    await station.swipe("NAIVE1")
    await station.csms.wait("StopTransaction")
    await station.unplug_until_available()
    await charging_again(station, "NAIVE1")  # the cached entry (naive date, read as UTC) decides at once
    assert len(station.csms.calls("Authorize")) == 1


async def charging_again(station: Station, tag: str) -> None:
    await station.plug()
    await station.swipe(tag)
    await station.csms.wait("StartTransaction", 2)


async def test_item_11_meter_start_falls_back_to_the_last_register_value(station: Station) -> None:
    await charging(station)
    register = "chargebus/metering/state/register/1"
    await station.observer.wait(lambda: (r := station.observer.get(register)) and r.energy_wh > 10,
                                what="some energy delivered")
    await station.swipe("TAG1")
    first = (await station.csms.wait("StopTransaction"))[0]
    assert first["meter_stop"] > 0
    paused = station.pause("metering")  # metering answers nothing: the read times out
    try:
        await station.swipe("TAG2")
        start = (await station.csms.wait("StartTransaction", 2, timeout=30))[1]
    finally:
        station.resume(paused)
    assert start["meter_start"] >= first["meter_stop"]  # never 0: the whole register is not billed


async def test_item_12_stop_txn_data_empty_means_none_and_aligned_values_are_the_transactions(
        station: Station) -> None:
    await station.configure(StopTxnSampledData="")
    await charging(station)
    await station.swipe("TAG1")
    plain = (await station.csms.wait("StopTransaction"))[0]
    assert "transaction_data" not in plain
    await station.unplug_until_available()
    await station.configure(StopTxnAlignedData="Energy.Active.Import.Register", ClockAlignedDataInterval="1",
                            StopTransactionMaxMeterValues="10")
    await charging(station, "TAG2")
    await asyncio.sleep(3.2)  # three clock-aligned instants of the transaction
    await station.swipe("TAG2")
    stop = (await station.csms.wait("StopTransaction", 2))[1]
    values = stop["transaction_data"]
    assert len(values) >= 2 and all(v["sampled_value"][0]["context"] == "Sample.Clock" for v in values)
    stamps = [datetime.fromisoformat(v["timestamp"]) for v in values]
    start = datetime.fromisoformat(station.csms.calls("StartTransaction")[1]["timestamp"])
    assert stamps == sorted(stamps) and stamps[0] >= start and all(s.microsecond < 200_000 for s in stamps)


async def test_item_14_a_gateway_restart_is_not_a_station_boot(station: Station) -> None:
    await station.status("Available")
    gateway = station.pid("ocpp_gateway")
    kill9(gateway)
    await station.observer.wait_online(("ocpp_gateway",), not_pids={"ocpp_gateway": gateway})
    await station.observer.wait(lambda: station.csms.connections == 2, what="reconnected")
    await station.plug()
    await station.status("Preparing")  # the new connection works: Accepted without a BootNotification
    assert len(station.csms.calls("BootNotification")) == 1


async def test_item_15_emergency_stop_ends_the_transaction_and_faults_until_released(station: Station) -> None:
    await charging(station)
    await station.estop()
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "EmergencyStop"
    faulted = (await station.status("Faulted"))[-1]
    assert faulted["error_code"] == "OtherError" and faulted["vendor_error_code"] == "emergency_stop"
    # the CSMS may hear of the fault before the observer has power's state that caused it
    def output_off() -> bool:
        state = station.observer.get("chargebus/power/state/connector/1")
        return not state.energized and state.setpoint_a == 0.0

    await station.observer.wait(output_off, what="the output off")
    await station.estop(pressed=False)
    await station.status("Finishing")


async def test_item_15_an_orderly_stop_of_the_station_is_a_reboot_not_a_power_loss(station: Station) -> None:
    await charging(station)
    assert await asyncio.to_thread(station.stack.stop) == 0  # SIGTERM: services stop, the module opens its output
    await station.restart_stack()
    stop = (await station.csms.wait("StopTransaction", timeout=40))[0]
    assert stop["reason"] == "Reboot" and stop["transaction_id"] == 1000


# -- the link and reset issue: items 1, 2 and 11 ---------------------------------------------------------------


async def after_the_reboot(station: Station) -> None:
    """A new transaction after the reboot: the outbox sends in order, so any StopTransaction still queued (a second
    copy of the one before the reset) has gone out before this StartTransaction."""
    station.csms.stop_delay_s = 0.0
    await station.unplug()
    await charging(station, "TAG2")


async def test_link_item_1_tc_016_soft_reset_with_a_slow_csms_waits_for_the_stop_answer_and_finishing(
        station: Station) -> None:
    await charging(station)
    station.csms.stop_delay_s = 2.0
    assert (await station.csms.call(call.Reset(type="Soft"))).status == "Accepted"
    await station.csms.wait("BootNotification", 2, timeout=60)
    await after_the_reboot(station)
    seen = [(s.action, s.payload) for s in station.csms.seen]
    stops = [i for i, (a, p) in enumerate(seen) if a == "StopTransaction" and p.get("reason") == "SoftReset"]
    assert len(stops) == 1 and len(station.csms.calls("StopTransaction")) == 1
    reboot = [i for i, (a, _p) in enumerate(seen) if a == "BootNotification"][1]
    finishing = [i for i, (a, p) in enumerate(seen) if a == "StatusNotification" and p["connector_id"] == 1
                 and p["status"] == "Finishing"]
    assert finishing and stops[0] < finishing[0] < reboot  # stopped, answered and reported before the restart


async def test_link_item_1_tc_015_hard_reset_with_a_slow_csms_sends_the_stop_once(station: Station) -> None:
    await charging(station)
    station.csms.stop_delay_s = 2.0
    assert (await station.csms.call(call.Reset(type="Hard"))).status == "Accepted"
    await station.csms.wait("BootNotification", 2, timeout=60)
    stop = (await station.csms.wait("StopTransaction", timeout=40))[0]
    assert stop["reason"] == "HardReset" and stop["transaction_id"] == 1000
    await after_the_reboot(station)
    assert len(station.csms.calls("StopTransaction")) == 1


async def test_link_item_1_reset_retries_a_restart_the_supervisor_did_not_take(station: Station) -> None:
    await station.status("Available")
    tap = CommandTap(station.settings, "supervisor")  # only the supervisor's account reads its commands
    paused = station.pause("supervisor")  # its restart requests time out
    try:
        assert (await station.csms.call(call.Reset(type="Soft"))).status == "Accepted"
        # the gateway asks again only once a request was not taken
        await station.observer.wait(lambda: restart_requests(tap) >= 2, 30, "the restart asked for again")
    finally:
        station.resume(paused)
        tap.close()
    await station.csms.wait("BootNotification", 2, timeout=60)  # ResetRetries: asked again, and done
    await station.logged("reset: the supervisor did not take the restart (attempt 1 of 4)")


def restart_requests(tap: CommandTap) -> int:
    return len([t for t, _p in tap.seen if t == supervisor.RESTART.path])



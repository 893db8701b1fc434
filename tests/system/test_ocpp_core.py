"""OCPP 1.6J Core against the whole station (`chargebus run`: broker, every service, the simulator)
and a real Central System. Tests are named after OCA's OCTT 1.6 charge-point test cases.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call
from ocpp.v16.enums import AuthorizationStatus

from services.common.contract.common import Health, HealthState
from tests.system.stack import ALL, kill9
from tests.system.station import Station, charging, running_station


async def test_tc_001_cold_boot(station: Station) -> None:
    boot = (await station.csms.wait("BootNotification"))[0]
    assert boot["charge_point_model"] == "MIC-200-ELT" and boot["charge_point_vendor"] == "chargebus"
    await station.status("Available", connector=0)
    await station.status("Available", connector=1)
    first = station.csms.seen[0]
    assert first.action == "BootNotification"


async def test_tc_003_regular_charging_session_plugin_first(station: Station) -> None:
    start = await charging(station, "TAG1")
    assert start["connector_id"] == 1 and start["id_tag"] == "TAG1" and start["meter_start"] >= 0
    assert station.csms.calls("Authorize")[0]["id_tag"] == "TAG1"
    await station.swipe("TAG1")
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["transaction_id"] == 1000 and stop["reason"] == "Local" and stop["meter_stop"] >= start["meter_start"]
    await station.status("Finishing")
    before = len([p for p in station.csms.calls("StatusNotification")
                  if p["connector_id"] == 1 and p["status"] == "Available"])
    await station.unplug()
    await station.status("Available", count=before + 1)


async def test_tc_004_1_regular_charging_session_identification_first(station: Station) -> None:
    await station.status("Available")
    await station.swipe("TAG2")
    await station.status("Preparing")
    await station.plug()
    start = (await station.csms.wait("StartTransaction"))[0]
    assert start["id_tag"] == "TAG2"
    await station.status("Charging")
    await station.unplug()
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "EVDisconnected" and stop["transaction_id"] == 1000


async def test_tc_010_remote_start_cable_plugged_first_and_tc_012_remote_stop(station: Station) -> None:
    await station.plug()
    await station.status("Preparing")
    result = await station.csms.call(call.RemoteStartTransaction(id_tag="REMOTE1"))
    assert result.status == "Accepted"
    start = (await station.csms.wait("StartTransaction"))[0]
    assert start["id_tag"] == "REMOTE1" and start["connector_id"] == 1
    await station.status("Charging")
    stopped = await station.csms.call(call.RemoteStopTransaction(transaction_id=1000))
    assert stopped.status == "Accepted"
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "Remote" and stop["transaction_id"] == 1000


async def test_tc_028_remote_stop_unknown_transaction_rejected(station: Station) -> None:
    await station.status("Available")
    result = await station.csms.call(call.RemoteStopTransaction(transaction_id=4242))
    assert result.status == "Rejected"


async def test_tc_032_1_power_failure_stop_transaction(station: Station) -> None:
    await station.configure(MeterValueSampleInterval="1")
    start = await charging(station)
    values = await station.csms.wait("MeterValues", 2)
    last_sent = _energy(values[-1])
    station.stack.power_cut()
    await station.restart_stack()
    stop = (await station.csms.wait("StopTransaction", timeout=40))[0]
    assert stop["reason"] == "PowerLoss" and stop["transaction_id"] == 1000
    # the last reading recorded before the cut, never less than what the CSMS already saw
    assert stop["meter_stop"] >= last_sent >= start["meter_start"]
    boots = station.csms.calls("BootNotification")
    assert len(boots) == 2
    # the StopTransaction came after the second boot, never before it
    order = [s.action for s in station.csms.seen]
    assert order.index("StopTransaction") > [i for i, a in enumerate(order) if a == "BootNotification"][1]


def _energy(meter_values: dict[str, Any]) -> int:
    return max(int(float(s["value"])) for v in meter_values["meter_value"] for s in v["sampled_value"]
               if s.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register")


async def test_tc_036_tc_038_connection_loss_and_offline_stop_transaction(station: Station) -> None:
    await station.configure(MeterValueSampleInterval="1")
    await charging(station)
    await station.csms.wait("MeterValues", 1)
    station.csms.refuse = True
    await station.csms.drop()
    await station.observer.wait(lambda: (c := station.observer.get("chargebus/ocpp_gateway/state/connection"))
                                and not c.connected, what="the gateway sees the link down")
    offline_from = datetime.now(UTC)
    register = "chargebus/metering/state/register/1"
    first = station.observer.get(register).energy_wh
    await station.observer.wait(lambda: station.observer.get(register).energy_wh > first + 10, 10,
                                "energy delivered while offline")
    await asyncio.sleep(2.5)  # a few periodic meter values are taken and queued offline
    await station.swipe("TAG1")  # stopped while offline: queued
    stopped = await station.observer.wait(
        lambda: [p for _t, topic, p in station.observer.history if topic.endswith("/event/transaction_stopped")],
        what="the stop decided offline")
    offline_until = datetime.now(UTC)
    assert stopped[0].reason == "Local" and station.csms.calls("StopTransaction") == []
    online_values = len(station.csms.calls("MeterValues"))
    station.csms.refuse = False
    stop = (await station.csms.wait("StopTransaction", timeout=40))[0]
    assert stop["reason"] == "Local" and stop["transaction_id"] == 1000
    # charging went on while offline: values stamped inside the offline window, rising, delivered after reconnect
    replayed = station.csms.calls("MeterValues")[online_values:]
    stamps = [(datetime.fromisoformat(mv["meter_value"][0]["timestamp"]), _energy(mv)) for mv in replayed]
    offline = [(at, wh) for at, wh in stamps if offline_from <= at <= offline_until]
    assert len(offline) >= 2, stamps
    assert [wh for _at, wh in offline] == sorted(wh for _at, wh in offline) and offline[-1][1] > offline[0][1]
    order = [s.action for s in station.csms.seen]
    assert order.index("StopTransaction") > max(i for i, a in enumerate(order) if a == "MeterValues")


async def test_tc_002_cold_boot_pending_answers_calls_refuses_remote_start(tmp_path: Path) -> None:
    async with running_station(tmp_path, boot_interval=1, boot_status="Pending") as station:
        csms = station.csms
        await csms.wait("BootNotification", 2, timeout=30)
        config = await csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
        assert config.configuration_key[0]["key"] == "HeartbeatInterval"
        refused = await csms.call(call.RemoteStartTransaction(id_tag="X"))
        assert refused.status == "Rejected"
        assert {s.action for s in csms.seen} == {"BootNotification"}


async def test_tc_011_1_remote_start_first(station: Station) -> None:
    await station.status("Available")
    result = await station.csms.call(call.RemoteStartTransaction(id_tag="REMOTE2", connector_id=1))
    assert result.status == "Accepted"
    await station.status("Preparing")
    await station.plug()
    start = (await station.csms.wait("StartTransaction"))[0]
    assert start["id_tag"] == "REMOTE2"


async def test_tc_011_2_remote_start_connection_timeout(station: Station) -> None:
    await station.status("Available")
    assert (await station.csms.call(call.ChangeConfiguration(key="ConnectionTimeOut", value="2"))).status == "Accepted"
    assert (await station.csms.call(call.RemoteStartTransaction(id_tag="REMOTE3"))).status == "Accepted"
    await station.status("Preparing")
    await station.status("Available", count=2)  # nobody plugged in within ConnectionTimeOut
    await station.plug()
    await station.status("Preparing", count=2)
    assert station.csms.calls("StartTransaction") == []


async def test_broker_restart_mid_charge_loses_nothing(station: Station) -> None:
    await charging(station)
    table = station.observer.get("chargebus/supervisor/state/processes")
    broker = next(p.pid for p in table.processes if p.name == "mosquitto")
    mark = len(station.observer.history)
    kill9(broker)

    def restarted() -> bool:
        now = station.observer.get("chargebus/supervisor/state/processes")
        return any(p.name == "mosquitto" and p.pid not in (None, broker) and p.state == "running"
                   for p in now.processes)

    def resubscribed() -> bool:
        # the observer's last health values are the old broker's: only a health published to the new broker
        # (it starts without retained messages) says a service is subscribed again, e.g. sim to its swipe
        fresh = {t.split("/")[1] for _, t, p in station.observer.history[mark:]
                 if t.endswith("/health") and isinstance(p, Health) and p.state is HealthState.ONLINE}
        return fresh >= set(ALL)

    await station.observer.wait(restarted, 20, "broker restarted")
    await station.observer.wait(resubscribed, 20, "every service subscribed to the new broker")
    await station.swipe("TAG1")
    stop = (await station.csms.wait("StopTransaction", timeout=30))[0]
    assert stop["reason"] == "Local" and stop["transaction_id"] == 1000
    assert len(station.csms.calls("StartTransaction")) == 1


@pytest.mark.parametrize(("kind", "reason"), [("Soft", "SoftReset"), ("Hard", "HardReset")])
async def test_reset_stops_the_transaction_and_restarts_the_services(station: Station, kind: str,
                                                                     reason: str) -> None:
    await charging(station)
    before = station.observer.online(ALL)
    assert (await station.csms.call(call.Reset(type=kind))).status == "Accepted"
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == reason and stop["transaction_id"] == 1000
    services = tuple(s for s in ALL if s != "supervisor")
    after = await station.observer.wait_online(services, timeout=30, not_pids={s: before[s] for s in services})
    assert all(after[s] != before[s] for s in services)
    await station.csms.wait("BootNotification", 2)
    assert len(station.csms.calls("StopTransaction")) == 1


async def test_tc_004_2_regular_charging_session_identification_first_connection_timeout(station: Station) -> None:
    await station.status("Available")
    assert (await station.csms.call(call.ChangeConfiguration(key="ConnectionTimeOut", value="2"))).status == "Accepted"
    await station.swipe("TAG3")
    await station.status("Preparing")
    await station.status("Available", count=2)  # no cable within ConnectionTimeOut
    assert station.csms.calls("StartTransaction") == []
    assert [a["id_tag"] for a in station.csms.calls("Authorize")] == ["TAG3"]


async def test_start_transaction_not_accepted_stops_deauthorized(station: Station) -> None:
    station.csms.tags["STOLEN"] = AuthorizationStatus.invalid
    await station.plug()
    await station.status("Preparing")
    assert (await station.csms.call(call.RemoteStartTransaction(id_tag="STOLEN"))).status == "Accepted"
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "DeAuthorized" and stop["transaction_id"] == 1000


async def test_max_energy_on_invalid_id_then_deauthorized_and_the_budget_survives_a_gateway_restart(
        station: Station) -> None:
    """Item 5: StopTransactionOnInvalidId true with MaxEnergyOnInvalidId: the invalidated session takes the
    allowance, then stops DeAuthorized; the allowance is persisted, so a gateway killed meanwhile keeps it."""
    station.csms.tags["STOLEN"] = AuthorizationStatus.invalid
    await station.configure(MaxEnergyOnInvalidId="250")
    await station.plug()
    await station.status("Preparing")
    assert (await station.csms.call(call.RemoteStartTransaction(id_tag="STOLEN"))).status == "Accepted"
    start = (await station.csms.wait("StartTransaction"))[0]
    await station.status("Charging")
    gateway = station.pid("ocpp_gateway")
    kill9(gateway)
    await station.observer.wait_online(("ocpp_gateway",), not_pids={"ocpp_gateway": gateway})
    stop = (await station.csms.wait("StopTransaction", timeout=60))[0]
    assert stop["reason"] == "DeAuthorized" and stop["meter_stop"] >= start["meter_start"] + 250
    assert len(station.csms.calls("StartTransaction")) == 1


async def test_stop_transaction_on_invalid_id_false_only_stops_the_energy(station: Station) -> None:
    """Item 5: with false, a refused idTag ends the energy (SuspendedEVSE), the transaction stays open."""
    station.csms.tags["STOLEN"] = AuthorizationStatus.blocked
    await station.configure(StopTransactionOnInvalidId="false")
    await station.plug()
    await station.status("Preparing")
    assert (await station.csms.call(call.RemoteStartTransaction(id_tag="STOLEN"))).status == "Accepted"
    await station.csms.wait("StartTransaction")
    await station.status("SuspendedEVSE")
    state = await station.observer.wait(
        lambda: (c := station.observer.get("chargebus/power/state/connector/1")) and c.suspended and c,
        what="power suspended")
    assert state.energized and state.setpoint_a == 0.0
    transaction = station.observer.get("chargebus/ocpp_gateway/state/transaction/1")
    assert transaction.open and transaction.phase == "suspended" and station.csms.calls("StopTransaction") == []
    await station.swipe("STOLEN")  # stopped normally by its own card
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "Local" and stop["transaction_id"] == 1000


async def test_a_card_with_the_same_parent_id_tag_stops_the_transaction(station: Station) -> None:
    station.csms.parents.update({"CARD_A": "FLEET1", "CARD_B": "FLEET1", "CARD_C": "FLEET2"})
    await charging(station, "CARD_A")
    await station.swipe("CARD_C")  # another fleet: nothing happens
    await station.csms.wait("Authorize", 2)
    await station.swipe("CARD_B")
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "Local" and stop["id_tag"] == "CARD_B"
    assert [a["id_tag"] for a in station.csms.calls("Authorize")] == ["CARD_A", "CARD_C", "CARD_B"]


async def test_rejected_boot_sends_nothing_else_and_answers_nothing(tmp_path: Path) -> None:
    async with running_station(tmp_path, boot_interval=1, boot_status="Rejected") as station:
        csms = station.csms
        await csms.wait("BootNotification", 2, timeout=30)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2):
                await csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
        await csms.wait("BootNotification", 3, timeout=30)
        assert {s.action for s in csms.seen} == {"BootNotification"}

"""Smart Charging against the whole station and a real CSMS (OCTT 1.6 case ids): the profiles, the composite
schedule, and the limit as the EV gets it (power's set-point, the meter's Current.Export)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v16 import call

from services.common.contract.power import ConnectorState
from services.common.contract.smart_charging import ChargingLimit
from tests import zygote
from tests.conftest import env_for
from tests.system.stack import kill9
from tests.system.station import Station, charging

LIMIT = "chargebus/smart_charging/state/limit/1"
STATION_LIMIT = "chargebus/smart_charging/state/limit/0"
CONNECTOR = "chargebus/power/state/connector/1"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def profile(pid: int, purpose: str, periods: list[tuple[int, float]], *, level: int = 0, kind: str = "Absolute",
            start: datetime | None = None, duration: int | None = None, tx: int | None = None,
            unit: str = "A") -> dict[str, Any]:
    schedule: dict[str, Any] = {"charging_rate_unit": unit, "charging_schedule_period": [
        {"start_period": s, "limit": limit} for s, limit in periods]}
    if kind != "Relative":
        schedule["start_schedule"] = iso(start or datetime.now(UTC) - timedelta(seconds=1))
    if duration is not None:
        schedule["duration"] = duration
    out: dict[str, Any] = {"charging_profile_id": pid, "stack_level": level, "charging_profile_purpose": purpose,
                           "charging_profile_kind": kind, "charging_schedule": schedule}
    if tx is not None:
        out["transaction_id"] = tx
    return out


async def set_profile(station: Station, connector: int, body: dict[str, Any]) -> str:
    result = await station.csms.call(call.SetChargingProfile(connector_id=connector, cs_charging_profiles=body))
    return str(result.status)


async def composite(station: Station, connector: int = 1, duration: int = 400, unit: str | None = None) -> Any:
    return await station.csms.call(call.GetCompositeSchedule(connector_id=connector, duration=duration,
                                                             charging_rate_unit=unit))


async def limit_is(station: Station, limit_a: float | None, topic: str = LIMIT) -> ChargingLimit:
    found: ChargingLimit = await station.observer.wait(
        lambda: (v := station.observer.get(topic)) is not None and v.limit_a == limit_a and v,
        what=f"{topic} at {limit_a}")
    return found


async def draws_at_most(station: Station, amps: float) -> None:
    """The module follows: power's set-point and the measured current settle at or below `amps`."""
    await station.observer.wait(
        lambda: (s := station.observer.get(CONNECTOR)) is not None and s.energized and s.setpoint_a <= amps
        and (m := station.observer.get("chargebus/power/state/measurement/1")) is not None
        and 0 < m.current_a <= amps, what=f"drawing at most {amps} A")


async def test_tc_056_tx_default_profile_limits_the_next_transaction_and_the_meter_shows_it(station: Station) -> None:
    await station.configure(MeterValuesSampledData="Energy.Active.Import.Register,Current.Export",
                            MeterValueSampleInterval="1")
    assert await set_profile(station, 0, profile(1, "TxDefaultProfile", [(0, 10.0)])) == "Accepted"
    found = await limit_is(station, 10.0)
    assert (found.profile_id, found.purpose) == (1, "session_default")
    start = await charging(station)
    await draws_at_most(station, 10.0)
    values = await station.csms.wait("MeterValues", 2, where=lambda p: p.get("transaction_id") is not None)
    currents = [float(v["value"]) for p in values for mv in p["meter_value"] for v in mv["sampled_value"]
                if v.get("measurand") == "Current.Export"]
    assert currents and max(currents) <= 10.0, currents
    states = [p for _t, topic, p in station.observer.history if topic == CONNECTOR and isinstance(p, ConnectorState)]
    assert all(s.setpoint_a <= 10.0 for s in states if s.energized)  # never above, from the first energized state
    assert start["id_tag"] == "TAG1"
    # a power cut: the profile comes back from disk and is in force before the next session's first ampere
    station.stack.power_cut()
    station.observer.history.clear()
    await station.restart_stack()
    await station.csms.wait("StopTransaction", timeout=40)
    await station.observer.wait_online(timeout=30)
    await station.unplug()
    await charging(station, "TAG2")
    await draws_at_most(station, 10.0)
    states = [p for _t, topic, p in station.observer.history if topic == CONNECTOR and isinstance(p, ConnectorState)]
    assert [s for s in states if s.energized] and all(s.setpoint_a <= 10.0 for s in states if s.energized)


async def test_tc_057_tx_profile_for_the_running_transaction_goes_with_it(station: Station) -> None:
    assert await set_profile(station, 0, profile(1, "TxDefaultProfile", [(0, 32.0)])) == "Accepted"
    start = await charging(station)
    await draws_at_most(station, 32.0)
    tx_id = int(await station.observer.wait(  # the CSMS's id, which the bus carries as text
        lambda: (t := station.observer.get("chargebus/ocpp_gateway/state/transaction/1")) and t.transaction_id,
        what="the confirmed transactionId"))
    assert await set_profile(station, 1, profile(2, "TxProfile", [(0, 12.0)], tx=tx_id, kind="Relative")) == (
        "Accepted")
    found = await limit_is(station, 12.0)
    assert (found.profile_id, found.purpose) == (2, "session")
    await draws_at_most(station, 12.0)
    # TC_058_2: another transaction's id
    assert await set_profile(station, 1, profile(3, "TxProfile", [(0, 6.0)], tx=tx_id + 1000)) == "Rejected"
    await station.swipe(start["id_tag"])
    await station.csms.wait("StopTransaction")
    await limit_is(station, 32.0)  # the TxProfile went with its transaction
    listed = _cli(station, "charging", "profiles", "--json")
    assert [p["profile"]["id"] for p in json.loads(listed)["profiles"]] == [1]


async def test_tc_058_1_a_tx_profile_without_a_transaction_is_rejected(station: Station) -> None:
    assert await set_profile(station, 1, profile(1, "TxProfile", [(0, 6.0)], tx=1)) == "Rejected"
    assert await set_profile(station, 1, profile(1, "TxProfile", [(0, 6.0)])) == "Rejected"
    # and what this station refuses in any profile (PICS: A only, stack level <= 10, <= 24 periods)
    assert await set_profile(station, 0, profile(2, "TxDefaultProfile", [(0, 7000.0)], unit="W")) == "Rejected"
    assert await set_profile(station, 0, profile(3, "TxDefaultProfile", [(0, 6.0)], level=11)) == "Rejected"
    assert await set_profile(station, 0, profile(4, "TxDefaultProfile", [(i * 60, 6.0) for i in range(25)])) == (
        "Rejected")
    assert await set_profile(station, 1, profile(5, "ChargePointMaxProfile", [(0, 6.0)])) == "Rejected"
    assert await set_profile(station, 7, profile(6, "TxDefaultProfile", [(0, 6.0)])) == "Rejected"
    assert json.loads(_cli(station, "charging", "profiles", "--json"))["profiles"] == []


async def test_tc_059_remote_start_with_a_tx_profile_follows_it_and_tc_060_another_purpose_is_rejected(
        station: Station) -> None:
    refused = await station.csms.call(call.RemoteStartTransaction(
        id_tag="TAG1", connector_id=1, charging_profile=profile(9, "TxDefaultProfile", [(0, 6.0)])))
    assert refused.status == "Rejected"
    await station.plug()
    await station.status("Preparing")
    starts = len(station.csms.calls("StartTransaction"))
    accepted = await station.csms.call(call.RemoteStartTransaction(
        id_tag="TAG1", connector_id=1, charging_profile=profile(1, "TxProfile", [(0, 6.0), (300, 16.0)],
                                                                kind="Relative")))
    assert accepted.status == "Accepted"
    await station.csms.wait("StartTransaction", starts + 1)
    assert starts == 0  # the Rejected one started nothing
    await draws_at_most(station, 6.0)
    asked_at = datetime.now(UTC)
    result = await composite(station, 1, 400)
    assert result.status == "Accepted" and result.connector_id == 1
    schedule = result.charging_schedule
    assert schedule["duration"] == 400 and schedule["charging_rate_unit"] == "A"
    assert abs((datetime.fromisoformat(result.schedule_start) - asked_at).total_seconds()) <= 2
    periods = schedule["charging_schedule_period"]
    assert periods[0] == {"start_period": 0, "limit": 6.0} and periods[1]["limit"] == 16.0
    assert 295 <= periods[1]["start_period"] <= 300  # 300 s after the transaction started
    states = [p for _t, topic, p in station.observer.history if topic == CONNECTOR and isinstance(p, ConnectorState)]
    assert all(s.setpoint_a <= 6.0 for s in states if s.energized)  # the profile was in force before energy flowed


async def test_tc_066_composite_of_the_station_cap_and_stacked_defaults_and_tc_067_clearing(station: Station) -> None:
    now = datetime.now(UTC) - timedelta(seconds=1)
    assert await set_profile(station, 0, profile(1, "ChargePointMaxProfile", [(0, 10.0)], start=now,
                                                 duration=86400)) == "Accepted"
    assert await set_profile(station, 1, profile(2, "TxDefaultProfile", [(0, 6.0), (60, 8.0), (200, 12.0)],
                                                 start=now, duration=400, level=1)) == "Accepted"
    assert await set_profile(station, 1, profile(3, "TxDefaultProfile", [(0, 16.0)], start=now, level=0)) == (
        "Accepted")
    limits = [p["limit"] for p in (await composite(station)).charging_schedule["charging_schedule_period"]]
    assert limits == [6.0, 8.0, 10.0]  # level 1 rules, under the 10 A cap; level 0 after 400 s, capped too
    station_total = await composite(station, 0)
    assert station_total.status == "Accepted"
    assert [p["limit"] for p in station_total.charging_schedule["charging_schedule_period"]] == [6.0, 8.0, 10.0]
    assert (await composite(station, 1, 400, "W")).status == "Rejected"  # amperes only (PICS)
    assert (await composite(station, 2)).status == "Rejected"
    await limit_is(station, 10.0, STATION_LIMIT)  # the cap, published: not the retained value of before it
    # TC_067: by id, by criteria, then all
    cleared = await station.csms.call(call.ClearChargingProfile(id=2))
    assert cleared.status == "Accepted"
    assert [p["limit"] for p in (await composite(station)).charging_schedule["charging_schedule_period"]] == [10.0]
    assert (await station.csms.call(call.ClearChargingProfile(id=2))).status == "Unknown"
    cleared = await station.csms.call(call.ClearChargingProfile(connector_id=0,
                                                                charging_profile_purpose="ChargePointMaxProfile"))
    assert cleared.status == "Accepted"
    assert [p["limit"] for p in (await composite(station)).charging_schedule["charging_schedule_period"]] == [16.0]
    assert (await station.csms.call(call.ClearChargingProfile())).status == "Accepted"
    assert [p["limit"] for p in (await composite(station)).charging_schedule["charging_schedule_period"]] == [500.0]
    assert (await station.csms.call(call.ClearChargingProfile())).status == "Unknown"
    await limit_is(station, None)


async def test_the_limit_follows_period_boundaries_offline_and_survives_restarts(station: Station) -> None:
    # 16 A, then 8 A from 8 s on: the change happens while the CSMS is unreachable
    begin = datetime.now(UTC) - timedelta(seconds=1)
    assert await set_profile(station, 0, profile(1, "TxDefaultProfile", [(0, 16.0), (9, 8.0)], start=begin)) == (
        "Accepted")
    found = await limit_is(station, 16.0)
    assert found.next_limit_a == 8.0 and found.next_change_at == begin + timedelta(seconds=9)
    await charging(station)
    station.csms.refuse = True
    await station.csms.drop()
    await limit_is(station, 8.0)
    await draws_at_most(station, 8.0)
    station.csms.refuse = False
    # smart_charging killed: the profile is on disk, the limit comes back the same
    pid = station.pid("smart_charging")
    kill9(pid)
    await station.observer.wait_online(("smart_charging",), not_pids={"smart_charging": pid})
    listed = json.loads(_cli(station, "charging", "profiles", "--json"))["profiles"]
    assert [p["profile"]["id"] for p in listed] == [1]
    await draws_at_most(station, 8.0)
    status = _cli(station, "status")
    assert "smart charging: 8.0 A by session_default #1" in status, status


async def test_a_maintenance_cap_from_the_cli_combines_with_the_profiles_and_survives_a_power_restart(
        station: Station) -> None:
    assert await set_profile(station, 0, profile(1, "TxDefaultProfile", [(0, 20.0)])) == "Accepted"
    await charging(station)
    await draws_at_most(station, 20.0)
    out = _cli(station, "charging", "cap", "5")
    assert "maintenance cap 5 A, limit in force 5 A" in out, out
    await draws_at_most(station, 5.0)
    pid = station.pid("power")
    kill9(pid)
    await station.observer.wait_online(("power",), not_pids={"power": pid})
    state = await station.observer.wait(lambda: (s := station.observer.get(CONNECTOR)) is not None
                                        and s.cap_a == 5.0 and s, what="the cap after power's restart")
    assert state.limit_a == 5.0
    assert "maintenance cap 5.0 A" in _cli(station, "status")
    out = _cli(station, "charging", "cap", "clear")
    assert "maintenance cap none, limit in force 20 A" in out, out
    bad = zygote.chargebus(env_for(station.settings), "charging", "cap", "lots")
    assert bad.returncode == 2 and "not a current" in bad.stderr


def _cli(station: Station, *args: str) -> str:
    done = zygote.chargebus(env_for(station.settings), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout

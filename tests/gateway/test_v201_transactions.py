"""OCPP 2.0.1 transactions (E, F) on the gateway service with `ocpp_version` 2.0.1: the same transaction engine
as under 1.6, telling a 2.0.1 Central System of each transaction with TransactionEvents. The other services are
the rig's stand-ins answering the contract exactly as under 1.6: nothing of theirs depends on the version.

The CSMS side is the library's v201 ChargePoint: every message is checked against the 2.0.1 schemas."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocpp.v16.enums import AuthorizationStatus as CsmsStatus
from ocpp.v201 import call

from services.common.boot import next_boot
from services.common.contract import auth, firmware, metering, power, smart_charging, supervisor
from services.common.contract.auth import (
    AuthorizationStatus,
    AuthorizeDecision,
    AuthSource,
    IdToken,
    LocalListState,
    TokenInfo,
)
from services.common.contract.auth import AuthorizeRequest as AuthRequest
from services.common.contract.firmware import FirmwarePhase, JobsState, JobsStatus, Notification, UploadPhase
from services.common.contract.metering import Cause, Measurand, MeterReading, MeterValue, MeterValuesTaken, Sample
from services.common.contract.power import ConnectorRequest, ConnectorState, EnergizeRequest, Measurement, RfidSwiped
from services.common.contract.smart_charging import (
    ChargingLimit,
    InstalledProfile,
    InstalledProfiles,
    SetProfileReply,
    SetProfileRequest,
)
from services.common.contract.supervisor import RestartReply
from services.ocpp_gateway.v201.edition import boot_reason
from tests.csms import CentralSystem
from tests.gateway_rig import GatewayRig, running_gateway

CARD = IdToken(value="04A2B3C4", type="iso14443")


def reading(energy_wh: int, cause: Cause) -> MeterReading:
    return MeterReading(connector_id=1, energy_wh=energy_wh, meter_value=MeterValue(
        timestamp=datetime.now(UTC), cause=cause, samples=[Sample(measurand=Measurand.ENERGY_IMPORTED,
                                                                  value=float(energy_wh))]))


def station_answers(register: list[int]) -> Callable[[GatewayRig], None]:
    """The other services as they answer under either version: auth accepts, smart_charging gives no limit,
    power energizes and de-energizes, metering reads `register[0]`."""
    def answers(rig: GatewayRig) -> None:
        def decide(request: AuthRequest) -> AuthorizeDecision:
            status = AuthorizationStatus.BLOCKED if request.token.value.startswith("BLOCKED") else \
                AuthorizationStatus.ACCEPTED
            return AuthorizeDecision(token=request.token, info=TokenInfo(status=status), source=AuthSource.CSMS)

        def energize(request: EnergizeRequest) -> ConnectorState:
            rig.hardware(request.connector_id, plugged=True, energized=True, delivering=True)
            return rig.connectors[request.connector_id]

        def deenergize(request: ConnectorRequest) -> ConnectorState:
            rig.hardware(request.connector_id, plugged=True, awaiting_unplug=True)
            return rig.connectors[request.connector_id]

        rig.stand_in("auth").answer(auth.AUTHORIZE, decide)
        rig.stand_in("smart_charging").answer(smart_charging.BEGIN_SESSION, ChargingLimit(connector_id=1))
        rig.stand_in("power").answer(power.ENERGIZE, energize)
        rig.stand_in("power").answer(power.DEENERGIZE, deenergize)
        rig.stand_in("metering").answer(metering.READ, lambda request: reading(register[0], request.cause))

    return answers


def events(rig: GatewayRig) -> list[dict[str, Any]]:
    return rig.csms.calls("TransactionEvent")


async def event(rig: GatewayRig, kind: str, count: int = 1) -> dict[str, Any]:
    found = await rig.csms.wait("TransactionEvent", count, where=lambda p: p["event_type"] == kind)
    return found[count - 1]


def swipe(rig: GatewayRig, token: IdToken = CARD) -> None:
    rig.stand_in("power").publish(power.RFID_SWIPED, RfidSwiped(token=token))


@asynccontextmanager
async def gateway_201(tmp_path: Path, answers: Callable[[GatewayRig], None] | None = None) -> AsyncIterator[GatewayRig]:
    """The gateway rig speaking 2.0.1 to a 2.0.1 CSMS, once it has told the connector Available."""
    async with running_gateway(tmp_path, csms=CentralSystem(version="2.0.1"), answers=answers or station_answers([10]),
                               ocpp_version="2.0.1") as rig:
        await rig.csms.wait("StatusNotification", where=lambda p: p["connector_status"] == "Available")
        yield rig


async def start_charging(rig: GatewayRig) -> dict[str, Any]:
    """The EV plugged in, the card swiped: the Started event."""
    rig.plug()
    swipe(rig)
    return await event(rig, "Started")


async def test_e_a_card_session_is_started_updated_and_ended_in_order(tmp_path: Path) -> None:
    register = [1234]
    async with running_gateway(tmp_path, csms=CentralSystem(version="2.0.1"), answers=station_answers(register),
                               ocpp_version="2.0.1") as rig:
        boot = (await rig.csms.wait("BootNotification"))[0]
        assert boot["reason"] == "PowerUp" and boot["charging_station"]["vendor_name"] == "chargebus"
        link = await rig.observer.wait(lambda: rig.observer.get("chargebus/ocpp_gateway/state/connection"))
        assert link.subprotocol == "ocpp2.0.1"  # what `chargebus status` shows a technician
        await rig.csms.wait("StatusNotification", where=lambda p: p["connector_status"] == "Available")
        started = await start_charging(rig)
        session = started["transaction_info"]["transaction_id"]
        assert (started["seq_no"], started["trigger_reason"], started["id_token"]) == (
            0, "Authorized", {"id_token": "04A2B3C4", "type": "ISO14443"})
        assert started["evse"] == {"id": 1, "connector_id": 1}
        assert started["meter_value"][0]["sampled_value"][0]["value"] == 1234
        register[0] = 1500
        rig.stand_in("metering").publish(metering.METER_VALUES, MeterValuesTaken(
            connector_id=1, session_id=session, meter_value=reading(1500, Cause.PERIODIC).meter_value),
            connector_id=1)
        updated = await event(rig, "Updated")
        assert (updated["seq_no"], updated["trigger_reason"], updated["transaction_info"]["charging_state"]) == (
            1, "MeterValuePeriodic", "Charging")
        register[0] = 1600
        swipe(rig)  # the same card again: the driver ends it
        ended = await event(rig, "Ended")
        assert (ended["seq_no"], ended["trigger_reason"], ended["transaction_info"]["stopped_reason"]) == (
            2, "StopAuthorized", "Local")
        assert ended["meter_value"][0]["sampled_value"][0]["value"] == 1600
        assert {e["transaction_info"]["transaction_id"] for e in events(rig)} == {session}
        occupied = await rig.csms.wait("StatusNotification", where=lambda p: p["connector_status"] == "Occupied")
        assert occupied[0]["evse_id"] == 1 and occupied[0]["connector_id"] == 1
        state = await rig.observer.wait(lambda: (s := rig.observer.get("chargebus/ocpp_gateway/state/transaction/1"))
                                        and not s.open and s)
        assert state.session_id is None


async def test_f01_f03_a_remote_start_carries_its_id_and_a_remote_stop_names_the_station_s_id(tmp_path: Path
                                                                                               ) -> None:
    async with gateway_201(tmp_path, station_answers([10])) as rig:
        rig.plug()
        answer = await rig.csms.call(call.RequestStartTransaction(
            id_token={"id_token": "APP-7", "type": "Central"}, remote_start_id=42, evse_id=1))
        assert answer.status == "Accepted"
        started = await event(rig, "Started")
        assert (started["trigger_reason"], started["transaction_info"]["remote_start_id"]) == ("RemoteStart", 42)
        assert started["id_token"] == {"id_token": "APP-7", "type": "Central"}
        unknown = await rig.csms.call(call.RequestStopTransaction(transaction_id="not-a-transaction"))
        assert unknown.status == "Rejected"
        stop = await rig.csms.call(call.RequestStopTransaction(
            transaction_id=started["transaction_info"]["transaction_id"]))
        assert stop.status == "Accepted"
        ended = await event(rig, "Ended")
        assert (ended["trigger_reason"], ended["transaction_info"]["stopped_reason"]) == ("RemoteStop", "Remote")
        assert "id_token" not in ended


async def test_e_events_made_offline_are_flagged_and_delivered_in_order_after_reconnecting(tmp_path: Path) -> None:
    register = [100]
    async with gateway_201(tmp_path, station_answers(register)) as rig:
        rig.csms.refuse = True
        await rig.csms.drop()
        await rig.observer.wait(lambda: (s := rig.observer.get("chargebus/ocpp_gateway/state/connection"))
                                and not s.connected)
        rig.plug()
        swipe(rig)  # auth's stand-in accepts it, as its offline rules would a listed card
        await rig.observer.wait(lambda: (s := rig.observer.get("chargebus/ocpp_gateway/state/transaction/1"))
                                and s.open and s.phase == "active")
        register[0] = 300
        rig.unplug()
        await rig.observer.wait(lambda: not rig.observer.get("chargebus/ocpp_gateway/state/transaction/1").open)
        assert events(rig) == []
        rig.csms.refuse = False
        ended = await event(rig, "Ended")
        wire = events(rig)
        assert [(e["event_type"], e["seq_no"]) for e in wire] == [("Started", 0), ("Ended", 1)]
        assert all(e["offline"] is True for e in wire)
        assert ended["transaction_info"]["stopped_reason"] == "EVDisconnected"
        assert ended["meter_value"][0]["sampled_value"][0]["value"] == 300


async def test_f05_the_fixed_cable_has_no_lock_to_open(tmp_path: Path) -> None:
    async with gateway_201(tmp_path, station_answers([10])) as rig:
        assert (await rig.csms.call(call.UnlockConnector(evse_id=1, connector_id=1))).status == "UnlockFailed"
        assert (await rig.csms.call(call.UnlockConnector(evse_id=9, connector_id=1))).status == "UnknownConnector"
        await start_charging(rig)
        answer = await rig.csms.call(call.UnlockConnector(evse_id=1, connector_id=1))
        assert answer.status == "OngoingAuthorizedTransaction"


async def test_f06_j01_a_transaction_event_and_meter_values_can_be_triggered_and_clock_values_are_told(
        tmp_path: Path) -> None:
    async with gateway_201(tmp_path, station_answers([500])) as rig:
        await start_charging(rig)
        answer = await rig.csms.call(call.TriggerMessage(requested_message="TransactionEvent", evse={"id": 1}))
        assert answer.status == "Accepted"
        triggered = await event(rig, "Updated")
        assert (triggered["trigger_reason"], triggered["seq_no"]) == ("Trigger", 1)
        assert triggered["meter_value"][0]["sampled_value"][0]["context"] == "Trigger"
        answer = await rig.csms.call(call.TriggerMessage(requested_message="MeterValues", evse={"id": 1}))
        assert answer.status == "Accepted"
        values = (await rig.csms.wait("MeterValues"))[0]
        assert values["evse_id"] == 1 and values["meter_value"][0]["sampled_value"][0]["value"] == 500
        session = triggered["transaction_info"]["transaction_id"]
        clock = reading(510, Cause.CLOCK).meter_value  # J01: a clock-aligned value during the transaction
        rig.stand_in("metering").publish(metering.METER_VALUES, MeterValuesTaken(
            connector_id=1, session_id=session, meter_value=clock), connector_id=1)
        aligned = await event(rig, "Updated", 2)
        assert (aligned["trigger_reason"], aligned["seq_no"]) == ("MeterValueClock", 2)
        assert aligned["meter_value"][0]["sampled_value"][0]["context"] == "Sample.Clock"


async def test_h01_h03_a_reservation_is_used_by_its_token_and_one_that_expires_is_told(tmp_path: Path) -> None:
    async with gateway_201(tmp_path, station_answers([10])) as rig:
        soon = datetime.now(UTC).isoformat()
        token = {"id_token": CARD.value, "type": "ISO14443"}
        anywhere = await rig.csms.call(call.ReserveNow(id=4, expiry_date_time=soon, id_token=token))
        assert anywhere.status == "Rejected"  # ReservationCtrlr.NonEvseSpecific is false
        later = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 3600, UTC).isoformat()
        reserved = await rig.csms.call(call.ReserveNow(id=5, expiry_date_time=later, id_token=token, evse_id=1))
        assert reserved.status == "Accepted"
        await rig.csms.wait("StatusNotification", where=lambda p: p["connector_status"] == "Reserved")
        assert (await rig.csms.call(call.CancelReservation(reservation_id=99))).status == "Rejected"
        started = await start_charging(rig)
        assert started["reservation_id"] == 5
        swipe(rig)
        await event(rig, "Ended")
        rig.unplug()
        await rig.csms.wait("StatusNotification", 2, where=lambda p: p["connector_status"] == "Available")
        brief = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 1, UTC).isoformat()
        assert (await rig.csms.call(call.ReserveNow(id=6, expiry_date_time=brief, id_token=token, evse_id=1))
                ).status == "Accepted"
        update = (await rig.csms.wait("ReservationStatusUpdate"))[0]
        assert update == {"reservation_id": 6, "reservation_update_status": "Expired"}


def restarting(rig: GatewayRig) -> None:
    station_answers([10])(rig)
    rig.stand_in("supervisor").answer(supervisor.RESTART, RestartReply(restarting=["ocpp_gateway"]))


async def test_b11_reset_immediate_ends_the_transaction_then_restarts(tmp_path: Path) -> None:
    async with gateway_201(tmp_path, restarting) as rig:
        assert (await rig.csms.call(call.Reset(type="Immediate", evse_id=9))).status == "Rejected"
        await start_charging(rig)
        assert (await rig.csms.call(call.Reset(type="Immediate"))).status == "Accepted"
        ended = await event(rig, "Ended")
        assert (ended["transaction_info"]["stopped_reason"], ended["trigger_reason"]) == ("ImmediateReset",
                                                                                          "ResetCommand")
        await rig.observer.wait(lambda: rig.stand_in("supervisor").asked(supervisor.RESTART))


async def test_b12_reset_on_idle_waits_for_the_transaction_to_end(tmp_path: Path) -> None:
    async with gateway_201(tmp_path, restarting) as rig:
        await start_charging(rig)
        assert (await rig.csms.call(call.Reset(type="OnIdle"))).status == "Scheduled"
        assert rig.stand_in("supervisor").asked(supervisor.RESTART) == []
        swipe(rig)  # the driver ends the transaction: the station is idle, the reset goes ahead
        ended = await event(rig, "Ended")
        assert ended["transaction_info"]["stopped_reason"] == "Local"
        await rig.observer.wait(lambda: rig.stand_in("supervisor").asked(supervisor.RESTART))


async def test_b11_a_reset_of_the_evse_ends_its_transaction_and_restarts_power_alone(tmp_path: Path) -> None:
    async with gateway_201(tmp_path, restarting) as rig:
        await start_charging(rig)
        assert (await rig.csms.call(call.Reset(type="OnIdle", evse_id=1))).status == "Scheduled"
        swipe(rig)
        await event(rig, "Ended")
        await rig.observer.wait(lambda: rig.stand_in("supervisor").asked(supervisor.RESTART))
        swipe(rig)
        await event(rig, "Started", 2)
        assert (await rig.csms.call(call.Reset(type="Immediate", evse_id=1))).status == "Accepted"
        ended = await event(rig, "Ended", 2)
        assert ended["transaction_info"]["stopped_reason"] == "ImmediateReset"
        await rig.observer.wait(lambda: len(rig.stand_in("supervisor").asked(supervisor.RESTART)) == 2)
        assert [(r.service, r.reason) for r in rig.stand_in("supervisor").asked(supervisor.RESTART)] == [
            ("power", "OCPP Reset of EVSE 1")] * 2
        assert len(rig.csms.calls("BootNotification")) == 1  # the station did not boot again


async def test_a_session_begun_under_1_6_is_told_whole_to_the_2_0_1_csms_after_the_switch(tmp_path: Path) -> None:
    """`ocpp_version` changed while a transaction was open: the new CSMS hears of its start first (offline), then
    of its end; nothing of it is told in the other version's words."""
    async with running_gateway(tmp_path, answers=station_answers([100])) as rig:
        await rig.status("Available")
        rig.plug()
        swipe(rig)
        await rig.csms.wait("StartTransaction")
    # the gateway stopped with the session open; it starts again speaking 2.0.1, the output off meanwhile
    csms = CentralSystem(version="2.0.1")
    async with running_gateway(tmp_path, csms=csms, answers=station_answers([150]), ocpp_version="2.0.1") as rig:
        ended = await event(rig, "Ended")
        started = events(rig)[0]
        assert (started["event_type"], started["seq_no"], started["offline"]) == ("Started", 0, True)
        assert started["id_token"] == {"id_token": CARD.value, "type": "ISO14443"}
        assert started["meter_value"][0]["sampled_value"][0]["value"] == 100
        assert (ended["seq_no"], ended["transaction_info"]["stopped_reason"]) == (1, "Reboot")
        assert started["transaction_info"]["transaction_id"] == ended["transaction_info"]["transaction_id"]
        assert [e["event_type"] for e in events(rig)] == ["Started", "Ended"]


async def test_b06_live_variables_are_what_the_station_knows_now(tmp_path: Path) -> None:
    """The device model's live values come from where they are kept: the statuses the gateway works out, auth's
    list size, power's measurement, smart_charging's profiles, the station's settings; none is stored."""
    installed: list[InstalledProfile] = []

    def answers(rig: GatewayRig) -> None:
        station_answers([10])(rig)

        def set_profile(request: SetProfileRequest) -> SetProfileReply:
            installed.append(InstalledProfile(connector_id=request.connector_id, profile=request.profile,
                                              session_id=None))
            return SetProfileReply(status="accepted")

        rig.stand_in("smart_charging").answer(smart_charging.SET_PROFILE, set_profile)
        rig.stand_in("smart_charging").answer(smart_charging.LIST_PROFILES,
                                              lambda _r: InstalledProfiles(profiles=installed))

    async with gateway_201(tmp_path, answers) as rig:
        rig.stand_in("auth").publish(auth.LOCAL_LIST, LocalListState(version=4, size=3))
        rig.stand_in("power").publish(power.MEASUREMENT, Measurement(
            connector_id=1, timestamp=datetime.now(UTC), boot_id="b1", sequence=1, voltage_v=400, current_a=50,
            power_w=20000.0, energy_wh=1, temperature_c=30, ev_request_a=50, offered_current_a=50,
            offered_power_w=20000), connector_id=1)
        await start_charging(rig)
        wanted = [("ChargingStation", None, "AvailabilityState"), ("EVSE", 1, "AvailabilityState"),
                  ("EVSE", 1, "Power"), ("LocalAuthListCtrlr", None, "Entries"), ("SecurityCtrlr", None, "Identity"),
                  ("SecurityCtrlr", None, "SecurityProfile")]

        async def values() -> list[str]:
            result = await rig.csms.call(call.GetVariables(get_variable_data=[
                {"component": {"name": c} | ({"evse": {"id": e}} if e else {}), "variable": {"name": v}}
                for c, e, v in wanted]))
            return [r.get("attribute_value") for r in result.get_variable_result]

        await rig.observer.wait(lambda: rig.observer.get("chargebus/auth/state/local_list"))
        assert await values() == ["Available", "Occupied", "20000.0", "3", "CB0000001", "1"]
        entries = {"component": {"name": "SmartChargingCtrlr"},
                   "variable": {"name": "Entries", "instance": "ChargingProfiles"}}
        counted = await rig.csms.call(call.GetVariables(get_variable_data=[entries]))
        assert counted.get_variable_result[0]["attribute_value"] == "0"
        cap = {"id": 3, "stack_level": 0, "charging_profile_purpose": "ChargingStationMaxProfile",
               "charging_profile_kind": "Absolute", "charging_schedule": [{
                   "id": 1, "charging_rate_unit": "A", "start_schedule": datetime.now(UTC).isoformat(),
                   "charging_schedule_period": [{"start_period": 0, "limit": 100.0}]}]}
        assert (await rig.csms.call(call.SetChargingProfile(evse_id=0, charging_profile=cap))).status == "Accepted"
        counted = await rig.csms.call(call.GetVariables(get_variable_data=[entries]))
        assert counted.get_variable_result[0]["attribute_value"] == "1"


async def test_g_back_after_longer_offline_than_the_threshold_every_status_goes_out_again(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, csms=CentralSystem(version="2.0.1"), answers=station_answers([10]),
                               ocpp_version="2.0.1") as rig:
        def available() -> list[dict[str, Any]]:
            return [p for p in rig.csms.calls("StatusNotification") if p["connector_status"] == "Available"]

        await rig.csms.wait("StatusNotification", where=lambda p: p["connector_status"] == "Available")
        threshold = {"attribute_value": "0", "component": {"name": "OCPPCommCtrlr"},
                     "variable": {"name": "OfflineThreshold"}}
        result = await rig.csms.call(call.SetVariables(set_variable_data=[threshold]))
        assert result.set_variable_result[0]["attribute_status"] == "Accepted"
        connections = rig.csms.connections
        await rig.csms.drop()
        await rig.observer.wait(lambda: rig.csms.connections > connections, what="the reconnect")
        await rig.csms.wait("StatusNotification", 2, where=lambda p: p["connector_status"] == "Available")
        assert len(rig.csms.calls("BootNotification")) == 1  # a reconnect, not a boot: nothing had changed
        assert [(p["evse_id"], p["connector_id"]) for p in available()] == [(1, 1), (1, 1)]


async def test_l01_an_install_date_ahead_is_refused_not_ignored(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, csms=CentralSystem(version="2.0.1"), ocpp_version="2.0.1") as rig:
        await rig.csms.wait("BootNotification")
        later = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 3600, UTC).isoformat()
        answer = await rig.csms.call(call.UpdateFirmware(request_id=1, firmware={
            "location": "ftp://fw.example.com/image.cbfw", "retrieve_date_time": datetime.now(UTC).isoformat(),
            "install_date_time": later}))
        assert answer.status == "Rejected" and answer.status_info["reason_code"] == "UnsupportedParam"
        assert rig.stand_in("firmware").asked(firmware.UPDATE) == []


async def test_b12_a_scheduled_reset_survives_a_restart_of_the_gateway(tmp_path: Path) -> None:
    """Reset OnIdle was answered Scheduled; the gateway restarted before the transaction ended (here it ended
    meanwhile: the output was off when it came back). The reset still happens."""
    async with gateway_201(tmp_path, restarting) as rig:
        await start_charging(rig)
        assert (await rig.csms.call(call.Reset(type="OnIdle"))).status == "Scheduled"
        assert rig.stand_in("supervisor").asked(supervisor.RESTART) == []
    async with running_gateway(tmp_path, csms=CentralSystem(version="2.0.1"), answers=restarting,
                               ocpp_version="2.0.1") as rig:
        await rig.observer.wait(lambda: rig.stand_in("supervisor").asked(supervisor.RESTART))
        assert [r.service for r in rig.stand_in("supervisor").asked(supervisor.RESTART)] == [None]


async def test_e_a_change_of_charging_state_is_an_updated_event(tmp_path: Path) -> None:
    async with gateway_201(tmp_path, station_answers([10])) as rig:
        await start_charging(rig)
        await rig.observer.wait(lambda: (s := rig.observer.get("chargebus/ocpp_gateway/state/transaction/1"))
                                and s.phase == "active")
        rig.hardware(1, plugged=True, energized=True, delivering=False)  # the EV stops taking current
        suspended = await event(rig, "Updated")
        rig.hardware(1, plugged=True, energized=True, delivering=False, held_back=True, limit_a=0)
        held = await event(rig, "Updated", 2)
        rig.hardware(1, plugged=True, energized=True, delivering=False, held_back=True, limit_a=0, setpoint_a=0)
        rig.hardware(1, plugged=True, energized=True, delivering=True)
        resumed = await event(rig, "Updated", 3)
        assert [(e["trigger_reason"], e["transaction_info"]["charging_state"], e["seq_no"])
                for e in (suspended, held, resumed)] == [("ChargingStateChanged", "SuspendedEV", 1),
                                                         ("ChargingStateChanged", "SuspendedEVSE", 2),
                                                         ("ChargingStateChanged", "Charging", 3)]
        assert len([e for e in events(rig) if e["event_type"] == "Updated"]) == 3  # the repeated facts told nothing


async def test_e_a_token_the_csms_refuses_in_its_answer_to_started_ends_the_transaction(tmp_path: Path) -> None:
    """Authorized locally (auth's list or cache), refused by the CSMS when it hears of the transaction:
    TxCtrlr.StopTxOnInvalidId (true) ends it, stoppedReason DeAuthorized."""
    csms = CentralSystem(version="2.0.1")
    csms.tags[CARD.value] = CsmsStatus.blocked  # as the CSMS answers it: in TransactionEvent's answer
    async with running_gateway(tmp_path, csms=csms, answers=station_answers([10]), ocpp_version="2.0.1") as rig:
        await rig.csms.wait("StatusNotification")
        rig.plug()
        swipe(rig)
        ended = await event(rig, "Ended")
        assert (ended["trigger_reason"], ended["transaction_info"]["stopped_reason"]) == ("Deauthorized",
                                                                                          "DeAuthorized")


async def test_b01_l01_the_boot_after_an_install_says_firmware_update(tmp_path: Path) -> None:
    """The gateway told Installing, then the station restarted into the new version: its BootNotification says
    why (FirmwareUpdate), and the next one, after Installed, says PowerUp again."""
    installing = JobsState(now=JobsStatus(firmware=FirmwarePhase.INSTALLING, diagnostics=UploadPhase.IDLE),
                           notifications=[Notification(seq=1, kind="firmware", status="installing")])
    async with gateway_201(tmp_path) as rig:
        rig.stand_in("firmware").publish(firmware.JOBS, installing)
        await rig.csms.wait("FirmwareStatusNotification", where=lambda p: p["status"] == "Installing")
    next_boot(rig.settings.data_dir)  # the supervisor starts the new version: a new boot of the station
    installed = installing.model_copy(update={"notifications": [
        *installing.notifications, Notification(seq=2, kind="firmware", status="installed")]})
    csms = CentralSystem(version="2.0.1")
    async with running_gateway(tmp_path, csms=csms, ocpp_version="2.0.1") as rig:
        assert (await csms.wait("BootNotification"))[0]["reason"] == "FirmwareUpdate"
        rig.stand_in("firmware").publish(firmware.JOBS, installed)
        await csms.wait("FirmwareStatusNotification", where=lambda p: p["status"] == "Installed")
        await csms.wait("SecurityEventNotification", where=lambda p: p["type"] == "FirmwareUpdated")
    next_boot(rig.settings.data_dir)
    csms = CentralSystem(version="2.0.1")
    async with running_gateway(tmp_path, csms=csms, ocpp_version="2.0.1"):
        assert (await csms.wait("BootNotification"))[0]["reason"] == "PowerUp"


def test_b01_the_reason_of_a_boot() -> None:
    assert [boot_reason(r, i) for r, i in ((None, False), ("SoftReset", False), ("HardReset", True),
                                           ("Reboot", False), (None, True))] == [
        "PowerUp", "RemoteReset", "RemoteReset", "LocalReset", "FirmwareUpdate"]


async def test_h01_an_expiry_without_an_offset_is_utc_as_everywhere_in_the_station(tmp_path: Path) -> None:
    """A CSMS that leaves the offset out means UTC (the 1.6 side reads dates so too): the reservation holds, and
    the gateway's clock of reservations keeps running."""
    async with gateway_201(tmp_path) as rig:
        naive = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 3600, UTC).replace(tzinfo=None).isoformat()
        token = {"id_token": CARD.value, "type": "ISO14443"}
        reserved = await rig.csms.call(call.ReserveNow(id=8, expiry_date_time=naive, id_token=token, evse_id=1))
        assert reserved.status == "Accepted"
        await rig.csms.wait("StatusNotification", where=lambda p: p["connector_status"] == "Reserved")
        state = await rig.observer.wait(lambda: (s := rig.observer.get("chargebus/ocpp_gateway/state/reservation/1"))
                                        and s.reservation and s)
        assert state.reservation.expires_at == datetime.fromisoformat(naive).replace(tzinfo=UTC)
        await rig.logged("reserved connector=1 reservation=8")
        assert (await rig.csms.call(call.CancelReservation(reservation_id=8))).status == "Accepted"
        await rig.csms.wait("StatusNotification", 2, where=lambda p: p["connector_status"] == "Available")

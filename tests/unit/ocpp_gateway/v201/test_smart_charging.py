"""OCPP 2.0.1 K over the link: profiles from the library's Central System reach smart_charging (a stand-in on
the real broker) as the station's limit profiles; a TxProfile only for the transaction running on its EVSE;
installed profiles reported back as 2.0.1 profiles; the composite schedule in amperes. OCTT TC_K_01 and on."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from ocpp.v201 import call

from services.common.bus import Bus
from services.common.contract import smart_charging
from services.common.contract.base import Empty
from services.common.contract.smart_charging import (
    ClearProfilesReply,
    ClearProfilesRequest,
    CompositeReply,
    CompositeRequest,
    InstalledProfile,
    InstalledProfiles,
    LimitPeriod,
    LimitPurpose,
    SetProfileReply,
    SetProfileRequest,
)
from services.ocpp_gateway.tx_store import STARTING, Tx

from .conftest import Running

T0 = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def profile(purpose: str, profile_id: int = 7, transaction_id: str | None = None,
            schedules: int = 1) -> dict[str, Any]:
    schedule = {"id": 1, "chargingRateUnit": "A", "duration": 3600,
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32.0}, {"startPeriod": 1800, "limit": 16.0}]}
    out: dict[str, Any] = {"id": profile_id, "stackLevel": 2, "chargingProfilePurpose": purpose,
                           "chargingProfileKind": "Relative",
                           "chargingSchedule": [schedule | {"id": n + 1} for n in range(schedules)]}
    if transaction_id is not None:
        out["transactionId"] = transaction_id
    return out


async def test_tc_k_01_to_10_profiles_and_the_composite_schedule(running: Running) -> None:
    installed: list[InstalledProfile] = []
    cleared: list[ClearProfilesRequest] = []

    async def set_profile(request: SetProfileRequest, _p: dict[str, str]) -> SetProfileReply:
        if request.profile.schedule.periods[0].limit > 500:
            return SetProfileReply(status="rejected", reason="above the station's rating")
        installed.append(InstalledProfile(connector_id=request.connector_id, profile=request.profile,
                                          session_id=request.session.session_id if request.session else None))
        return SetProfileReply(status="accepted")

    async def list_profiles(_r: Empty, _p: dict[str, str]) -> InstalledProfiles:
        return InstalledProfiles(profiles=installed)

    async def clear(request: ClearProfilesRequest, _p: dict[str, str]) -> ClearProfilesReply:
        cleared.append(request)
        return ClearProfilesReply(cleared=[i.profile.id for i in installed if i.profile.id == request.profile_id])

    async def composite(request: CompositeRequest, _p: dict[str, str]) -> CompositeReply:
        return CompositeReply(connector_id=request.connector_id, schedule_start=T0, duration_s=request.duration_s,
                              periods=[LimitPeriod(start_s=0, limit=32.0)])

    stand_in = Bus(running.settings, "smart_charging", client_id=f"stand-in-sc-{os.getpid()}", persistent=False,
                   health=False)
    for topic, handler in ((smart_charging.SET_PROFILE, set_profile), (smart_charging.LIST_PROFILES, list_profiles),
                           (smart_charging.CLEAR_PROFILES, clear), (smart_charging.GET_COMPOSITE, composite)):
        stand_in.handle(topic, handler)  # type: ignore[arg-type]
    await stand_in.start(5)
    try:
        await running.link.wait_accepted()
        station = running.csms.stations[0]

        async def set_(evse: int, raw: dict[str, Any]) -> tuple[str, str | None]:
            result = await station.call(call.SetChargingProfile(evse_id=evse, charging_profile=raw))
            return result.status, (result.status_info or {}).get("reason_code")

        assert await set_(0, profile("TxDefaultProfile", 1)) == ("Accepted", None)
        assert installed[0].profile.purpose is LimitPurpose.SESSION_DEFAULT and installed[0].connector_id == 0
        assert await set_(1, profile("TxProfile", 2, "s-1")) == ("Rejected", "TxNotFound")  # nothing runs
        running.transactions.begin(Tx("s-1", 1, "CARD1", T0, 0, None, STARTING, 0, T0))
        running.transactions.commit_start("s-1", T0, 0, {"n": 0})
        assert await set_(1, profile("TxProfile", 3, "s-2")) == ("Rejected", "TxNotFound")  # another transaction
        assert await set_(1, profile("TxProfile", 4, "s-1")) == ("Accepted", None)
        assert installed[-1].session_id == "s-1"
        assert await set_(1, profile("TxProfile", 5, "s-1", schedules=2)) == ("Rejected", "InvalidProfile")
        assert await set_(2, profile("TxDefaultProfile", 6)) == ("Rejected", "UnknownEvse")
        too_high = profile("TxDefaultProfile", 8)
        too_high["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] = 900.0
        assert await set_(1, too_high) == ("Rejected", "InvalidProfile")  # smart_charging's refusal

        listed = await station.call(call.GetChargingProfiles(request_id=5, charging_profile={
            "chargingProfilePurpose": "TxProfile"}))
        assert listed.status == "Accepted"
        await running.csms.until(lambda: running.csms.reports_profiles)
        (report,) = running.csms.reports_profiles
        assert report["request_id"] == 5 and report["evse_id"] == 1 and report["charging_limit_source"] == "CSO"
        assert [(p["id"], p["transaction_id"]) for p in report["charging_profile"]] == [(4, "s-1")]
        none = await station.call(call.GetChargingProfiles(request_id=6, charging_profile={"stackLevel": 9}))
        assert none.status == "NoProfiles"

        assert (await station.call(call.ClearChargingProfile(charging_profile_id=4))).status == "Accepted"
        assert (await station.call(call.ClearChargingProfile(charging_profile_id=99))).status == "Unknown"
        assert cleared[0].profile_id == 4

        schedule = await station.call(call.GetCompositeSchedule(duration=600, evse_id=1))
        assert schedule.status == "Accepted" and schedule.schedule["charging_schedule_period"] == [
            {"start_period": 0, "limit": 32.0}]
        assert schedule.schedule["schedule_start"] == "2026-12-05T15:00:00Z"
        watts = await station.call(call.GetCompositeSchedule(duration=600, evse_id=1, charging_rate_unit="W"))
        assert watts.status == "Rejected"

    finally:
        await stand_in.stop()

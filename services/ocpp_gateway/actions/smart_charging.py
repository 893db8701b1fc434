"""Smart Charging: the profiles and the limit are smart_charging's; the gateway translates and finds the session.

A TxProfile belongs to the transaction running on its connector (with the profile's transactionId when
it names one): the gateway owns the sessions, so it is the one to say which, or to answer Rejected
(OCTT TC_058_1/TC_058_2). RemoteStartTransaction's profile is checked here before the start is accepted
(`remote_start_profile`) and installed for the session when it starts (the engine's begin_session).
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import (
    Action,
    ChargingProfileStatus,
    ClearChargingProfileStatus,
    GetCompositeScheduleStatus,
)
from pydantic import ValidationError

from services.common.bus import BusError
from services.common.contract import smart_charging
from services.common.contract.hardware import CONNECTORS
from services.common.contract.smart_charging import (
    ClearProfilesRequest,
    CompositeRequest,
    LimitProfile,
    LimitPurpose,
    SetProfileRequest,
)

from .. import limits
from .base import Actions, Station

log = logging.getLogger(__name__)



def _read(raw: dict[str, Any]) -> tuple[LimitProfile, int | None] | None:
    try:
        return limits.read(raw)
    except limits.ProfileError as exc:
        log.warning("charging profile not readable: %s", exc)
        return None


async def _set(station: Station, request: SetProfileRequest) -> bool:
    try:
        reply = await station.bus.request(smart_charging.SET_PROFILE, request, timeout=limits.REQUEST_TIMEOUT_S)
    except BusError as exc:
        log.error("charging profile not set: %s", exc)
        return False
    if reply.status != "accepted":
        log.info("charging profile %d rejected: %s", request.profile.id, reply.reason)
    return reply.status == "accepted"


async def remote_start_profile(station: Station, connector_id: int | None, raw: dict[str, Any]
                               ) -> LimitProfile | None:
    """The profile of a RemoteStartTransaction when it can be applied to the session it starts, else None
    (the start is then Rejected, OCTT TC_060): a TxProfile smart_charging would accept."""
    read = _read(raw)
    if read is None or read[0].purpose is not LimitPurpose.SESSION:
        return None
    # edition 2 §5.16.2: the CSMS sets no transactionId here; the profile is the new transaction's anyway
    profile = read[0]
    connector = connector_id if connector_id is not None else CONNECTORS[0]
    checked = await _set(station, SetProfileRequest(connector_id=connector, profile=profile, check_only=True))
    return profile if checked else None


class SmartChargingActions(Actions):
    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]
                                      ) -> call_result.SetChargingProfile:
        rejected = call_result.SetChargingProfile(status=ChargingProfileStatus.rejected)
        read = _read(cs_charging_profiles)
        if read is None:
            return rejected
        profile, transaction_id = read
        session = None
        if profile.purpose is LimitPurpose.SESSION:
            session = self.station.transactions.session_ref(connector_id, transaction_id)
            if session is None:
                log.info("TxProfile %d rejected: no transaction %s on connector %d", profile.id,
                         transaction_id if transaction_id is not None else "at all", connector_id)
                return rejected
        accepted = await _set(self.station, SetProfileRequest(connector_id=connector_id, profile=profile,
                                                              session=session))
        return call_result.SetChargingProfile(
            status=ChargingProfileStatus.accepted if accepted else ChargingProfileStatus.rejected)

    @on(Action.clear_charging_profile)
    async def on_clear_charging_profile(self, id: int | None = None, connector_id: int | None = None,
                                        charging_profile_purpose: str | None = None, stack_level: int | None = None
                                        ) -> call_result.ClearChargingProfile:
        try:
            purpose = None if charging_profile_purpose is None else limits.PURPOSES[charging_profile_purpose]
            request = ClearProfilesRequest(profile_id=id, connector_id=connector_id, purpose=purpose,
                                           stack_level=stack_level)
            reply = await self.station.bus.request(smart_charging.CLEAR_PROFILES, request,
                                                   timeout=limits.REQUEST_TIMEOUT_S)
        except (ValidationError, BusError, KeyError) as exc:
            log.error("ClearChargingProfile not carried out: %s", exc)
            return call_result.ClearChargingProfile(status=ClearChargingProfileStatus.unknown)
        return call_result.ClearChargingProfile(
            status=ClearChargingProfileStatus.accepted if reply.cleared else ClearChargingProfileStatus.unknown)

    @on(Action.get_composite_schedule)
    async def on_get_composite_schedule(self, connector_id: int, duration: int, charging_rate_unit: str | None = None
                                        ) -> call_result.GetCompositeSchedule:
        rejected = call_result.GetCompositeSchedule(status=GetCompositeScheduleStatus.rejected)
        if charging_rate_unit not in (None, "A") or connector_id not in (0, *CONNECTORS) or duration <= 0:
            log.info("GetCompositeSchedule rejected: connector %d, unit %s (amperes only), duration %d",
                     connector_id, charging_rate_unit, duration)
            return rejected
        if duration > limits.MAX_COMPOSITE_S:  # what smart_charging computes; the answer's duration says so
            log.info("GetCompositeSchedule for %d s answered for %d s", duration, limits.MAX_COMPOSITE_S)
            duration = limits.MAX_COMPOSITE_S
        try:
            reply = await self.station.bus.request(smart_charging.GET_COMPOSITE, CompositeRequest(
                connector_id=connector_id, duration_s=duration), timeout=limits.REQUEST_TIMEOUT_S)
        except BusError as exc:
            log.error("GetCompositeSchedule not answered by smart_charging: %s", exc)
            return rejected
        start = limits.utc_text(reply.schedule_start)
        return call_result.GetCompositeSchedule(
            status=GetCompositeScheduleStatus.accepted, connector_id=connector_id, schedule_start=start,
            charging_schedule={
                "duration": reply.duration_s, "start_schedule": start, "charging_rate_unit": "A",
                "charging_schedule_period": limits.composite_periods(reply.periods)})

"""OCPP 2.0.1 K01, K09, K10, K08: SetChargingProfile, GetChargingProfiles with ReportChargingProfiles,
ClearChargingProfile and GetCompositeSchedule. The profiles and the limit are smart_charging's, as under 1.6
(`actions/smart_charging.py`); the gateway translates and finds the session.

EVSE n is the station's connector n, EVSE 0 the station. A TxProfile belongs to the transaction running on its
EVSE, the one its transactionId names (the gateway's session id): none running, or another, is Rejected
(TxNotFound). Composite schedules are in amperes only (SmartChargingCtrlr.RateUnit). Every profile is the CSMS's
(chargingLimitSource CSO): the station has no other source of limits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import ChargingLimitSourceEnumType as Source
from ocpp.v201.enums import ChargingProfileStatusEnumType as ProfileStatus
from ocpp.v201.enums import ClearChargingProfileStatusEnumType as ClearStatus
from ocpp.v201.enums import GenericStatusEnumType as Generic
from ocpp.v201.enums import GetChargingProfileStatusEnumType as ListStatus
from pydantic import ValidationError

from services.common.bus import Bus, BusError
from services.common.contract import smart_charging
from services.common.contract.base import Empty
from services.common.contract.hardware import CONNECTORS
from services.common.contract.smart_charging import (
    ClearProfilesRequest,
    CompositeRequest,
    InstalledProfile,
    LimitPurpose,
    SessionRef,
    SetProfileRequest,
)

from ..limits import MAX_COMPOSITE_S, REQUEST_TIMEOUT_S, ProfileError, composite_periods, utc_text
from ..link import Link
from ..ports import CsmsCallError, CsmsUnavailable
from ..tx_store import TxStore
from . import limits
from .provisioning import Spawn

log = logging.getLogger(__name__)

EVSES = (0, *CONNECTORS)


def _refused(status: Any, reason: str, why: str) -> dict[str, Any]:
    return {"status": status, "status_info": {"reason_code": reason, "additional_info": why[:512]}}


class SmartChargingActions(ChargePoint):
    """Needs `bus`, `store`, `link` and `spawn` from the class it is mixed into."""

    bus: Bus
    store: TxStore
    link: Link
    spawn: Spawn

    def _session(self, evse_id: int, transaction_id: str | None) -> SessionRef | None:
        tx = self.store.open_session(evse_id)
        if tx is None or (transaction_id is not None and tx.session_id != transaction_id):
            return None
        return SessionRef(session_id=tx.session_id, started_at=tx.started_at)

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **_custom: Any
                                      ) -> call_result.SetChargingProfile:
        if evse_id not in EVSES:
            return call_result.SetChargingProfile(**_refused(ProfileStatus.rejected, "UnknownEvse", f"EVSE {evse_id}"))
        try:
            profile, transaction_id = limits.read(charging_profile)
        except ProfileError as exc:
            log.warning("charging profile not readable: %s", exc)
            return call_result.SetChargingProfile(**_refused(ProfileStatus.rejected, "InvalidProfile", str(exc)))
        session = None
        if profile.purpose is LimitPurpose.SESSION:
            session = self._session(evse_id, transaction_id)
            if session is None:
                return call_result.SetChargingProfile(**_refused(
                    ProfileStatus.rejected, "TxNotFound", f"no transaction {transaction_id or ''} on EVSE {evse_id}"))
        try:
            reply = await self.bus.request(smart_charging.SET_PROFILE, SetProfileRequest(
                connector_id=evse_id, profile=profile, session=session), timeout=REQUEST_TIMEOUT_S)
        except BusError as exc:
            log.error("charging profile not set: %s", exc)
            return call_result.SetChargingProfile(**_refused(ProfileStatus.rejected, "InternalError", str(exc)))
        if reply.status != "accepted":
            return call_result.SetChargingProfile(**_refused(ProfileStatus.rejected, "InvalidProfile",
                                                             reply.reason or "refused"))
        return call_result.SetChargingProfile(status=ProfileStatus.accepted)

    @on(Action.clear_charging_profile)
    async def on_clear_charging_profile(self, charging_profile_id: int | None = None,
                                        charging_profile_criteria: dict[str, Any] | None = None, **_custom: Any
                                        ) -> call_result.ClearChargingProfile:
        criteria = charging_profile_criteria or {}
        try:
            purpose = criteria.get("charging_profile_purpose")
            request = ClearProfilesRequest(
                profile_id=charging_profile_id, connector_id=criteria.get("evse_id"),
                purpose=None if purpose is None else limits.PURPOSES[purpose], stack_level=criteria.get("stack_level"))
            reply = await self.bus.request(smart_charging.CLEAR_PROFILES, request, timeout=REQUEST_TIMEOUT_S)
        except (ValidationError, BusError, KeyError) as exc:  # KeyError: ChargingStationExternalConstraints
            log.error("ClearChargingProfile not carried out: %s", exc)
            return call_result.ClearChargingProfile(status=ClearStatus.unknown)
        return call_result.ClearChargingProfile(status=ClearStatus.accepted if reply.cleared else ClearStatus.unknown)

    @on(Action.get_composite_schedule)
    async def on_get_composite_schedule(self, duration: int, evse_id: int, charging_rate_unit: str | None = None,
                                        **_custom: Any) -> call_result.GetCompositeSchedule:
        if charging_rate_unit not in (None, "A") or evse_id not in EVSES or duration <= 0:
            return call_result.GetCompositeSchedule(**_refused(
                Generic.rejected, "UnsupportedRequest", f"EVSE {evse_id}, unit {charging_rate_unit} (amperes only)"))
        try:
            reply = await self.bus.request(smart_charging.GET_COMPOSITE, CompositeRequest(
                connector_id=evse_id, duration_s=min(duration, MAX_COMPOSITE_S)), timeout=REQUEST_TIMEOUT_S)
        except BusError as exc:
            log.error("GetCompositeSchedule not answered by smart_charging: %s", exc)
            return call_result.GetCompositeSchedule(**_refused(Generic.rejected, "InternalError", str(exc)))
        return call_result.GetCompositeSchedule(status=Generic.accepted, schedule={
            "evse_id": evse_id, "duration": reply.duration_s, "schedule_start": utc_text(reply.schedule_start),
            "charging_rate_unit": "A", "charging_schedule_period": composite_periods(reply.periods)})

    @on(Action.get_charging_profiles)
    async def on_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any],
                                       evse_id: int | None = None, **_custom: Any) -> call_result.GetChargingProfiles:
        chosen = await self._chosen(charging_profile, evse_id)
        if not chosen:
            return call_result.GetChargingProfiles(status=ListStatus.no_profiles)
        return call_result.GetChargingProfiles(status=ListStatus.accepted)

    @after(Action.get_charging_profiles)
    def after_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any],
                                    evse_id: int | None = None, **_custom: Any) -> None:
        self.spawn(self._report(request_id, charging_profile, evse_id), f"report-profiles-{request_id}")

    async def _chosen(self, criteria: dict[str, Any], evse_id: int | None) -> list[InstalledProfile]:
        """The installed profiles the request names (none when smart_charging does not answer)."""
        try:
            installed = (await self.bus.request(smart_charging.LIST_PROFILES, Empty(),
                                                timeout=REQUEST_TIMEOUT_S)).profiles
        except BusError as exc:
            log.error("charging profiles not listed: %s", exc)
            return []
        purpose = criteria.get("charging_profile_purpose")
        ids, sources = criteria.get("charging_profile_id"), criteria.get("charging_limit_source")
        return [i for i in installed
                if (evse_id is None or i.connector_id == evse_id)
                and (purpose is None or limits.PURPOSES.get(purpose) is i.profile.purpose)
                and (criteria.get("stack_level") is None or i.profile.stack_level == criteria["stack_level"])
                and (not ids or i.profile.id in ids) and (not sources or Source.cso in sources)]

    async def _report(self, request_id: int, criteria: dict[str, Any], evse_id: int | None) -> None:
        by_evse: dict[int, list[InstalledProfile]] = defaultdict(list)
        for installed in await self._chosen(criteria, evse_id):
            by_evse[installed.connector_id].append(installed)
        evses = sorted(by_evse)
        try:
            for n, evse in enumerate(evses):
                await self.link.call(call.ReportChargingProfiles(
                    request_id=request_id, charging_limit_source=Source.cso, evse_id=evse,
                    charging_profile=[limits.write(i) for i in by_evse[evse]], tbc=n < len(evses) - 1))
        except (CsmsUnavailable, CsmsCallError) as exc:
            log.warning("charging profiles report %d not delivered: %s", request_id, exc)

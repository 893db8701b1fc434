"""Smart charging: the charging profiles (owned by smart_charging, SQLite) and the current limit in force.

Profiles travel in OCPP 1.6 shape, snake_case, so the gateway passes what the CSMS sent as it is and
`chargebus` shows a profile as the CSMS wrote it. Amperes only (PICS: ChargingScheduleAllowedChargingRateUnit
Current); smart_charging answers a W profile Rejected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Never

from pydantic import Field

from .base import Empty, Kind, Model, Topic

ProfilePurpose = Literal["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"]
ProfileStatus = Literal["Accepted", "Rejected"]


class ChargingSchedulePeriod(Model):
    start_period: int = Field(ge=0, description="Seconds from the start of the schedule.")
    limit: float = Field(ge=0, description="In charging_rate_unit.")
    number_phases: int | None = Field(None, ge=1, le=3)


class ChargingSchedule(Model):
    duration: int | None = Field(None, ge=0, description="Seconds; none: the last period goes on.")
    start_schedule: datetime | None = Field(None, description="Absolute and Recurring profiles: when it starts.")
    charging_rate_unit: Literal["A", "W"]
    charging_schedule_period: list[ChargingSchedulePeriod] = Field(min_length=1, max_length=1000)
    min_charging_rate: float | None = Field(None, ge=0)


class ChargingProfile(Model):
    """OCPP 1.6 ChargingProfile (csChargingProfiles), snake_case."""

    charging_profile_id: int
    transaction_id: int | None = None
    stack_level: int = Field(ge=0)
    charging_profile_purpose: ProfilePurpose
    charging_profile_kind: Literal["Absolute", "Recurring", "Relative"]
    recurrency_kind: Literal["Daily", "Weekly"] | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    charging_schedule: ChargingSchedule


class SessionRef(Model):
    """The gateway's session a TxProfile belongs to."""

    session_id: str = Field(min_length=1)
    started_at: datetime


class SetProfileRequest(Model):
    connector_id: int = Field(ge=0, description="0: the station (ChargePointMaxProfile, or a TxDefaultProfile "
                              "for every connector).")
    profile: ChargingProfile
    session: SessionRef | None = Field(None, description="For a TxProfile: the session it belongs to (the gateway "
                                       "found it running with the profile's transactionId).")
    check_only: bool = Field(False, description="Only say whether it would be Accepted (RemoteStartTransaction "
                             "is answered before its session exists).")


class SetProfileReply(Model):
    status: ProfileStatus
    reason: str | None = Field(None, description="Why it was Rejected.")


class BeginSessionRequest(Model):
    connector_id: int = Field(ge=1)
    session: SessionRef
    profile: ChargingProfile | None = Field(None, description="The TxProfile a RemoteStartTransaction brought.")


class ClearProfilesRequest(Model):
    """ClearChargingProfile: by id; else every profile matching all the criteria given (none: every profile)."""

    profile_id: int | None = None
    connector_id: int | None = Field(None, ge=0)
    purpose: ProfilePurpose | None = None
    stack_level: int | None = Field(None, ge=0)


class ClearProfilesReply(Model):
    cleared: list[int] = Field(description="The ids of the profiles removed (none: ClearChargingProfile Unknown).")


class CompositeRequest(Model):
    connector_id: int = Field(ge=0, description="0: what the whole station may draw.")
    duration_s: int = Field(ge=1, le=30 * 86400)


class CompositeReply(Model):
    connector_id: int
    schedule_start: datetime = Field(description="When the request arrived; the periods count from it.")
    duration_s: int
    periods: list[ChargingSchedulePeriod] = Field(description="Amperes; where no profile counts, the rating.")


class InstalledProfile(Model):
    connector_id: int
    session_id: str | None
    profile: ChargingProfile


class InstalledProfiles(Model):
    profiles: list[InstalledProfile]


class ChargingLimit(Model):
    connector_id: int = Field(ge=0, description="0: the station cap (ChargePointMaxProfile).")
    limit_a: float | None = Field(None, ge=0, description="The limit in force; none: no profile counts (the "
                                  "module's rating applies). A connector's limit already includes its share "
                                  "of the station cap: power applies it as it is.")
    profile_id: int | None = Field(None, description="The profile that sets it.")
    purpose: ProfilePurpose | None = None
    next_change_at: datetime | None = Field(None, description="When the limit changes next (within a week).")
    next_limit_a: float | None = Field(None, ge=0, description="The limit from then on; none: no profile.")


LIMIT: Topic[ChargingLimit, Never] = Topic(
    "chargebus/smart_charging/state/limit/{connector_id}", Kind.STATE, ChargingLimit, owner="smart_charging",
    retain=True, subscribers=("power", "api", "cli"),
    doc="The current limit in force, per connector and for the station (connector 0), which profile sets it and "
    "its next change; published on every change, period boundary, profile change and session start or end. "
    "Power applies the connector's limit within one CAN cycle (not connector 0's: it is in every connector's).",
    example={"connector_id": 1, "limit_a": 16.0, "profile_id": 7, "purpose": "TxDefaultProfile",
             "next_change_at": "2026-11-26T18:00:00Z", "next_limit_a": 32.0},
)
SET_PROFILE = Topic(
    "chargebus/smart_charging/cmd/set_profile", Kind.CMD, SetProfileRequest, reply=SetProfileReply,
    owner="smart_charging", subscribers=("ocpp_gateway",),
    doc="SetChargingProfile.req. Rejected: unit W, stack level above ChargeProfileMaxStackLevel, more periods than "
    "ChargingScheduleMaxPeriods, MaxChargingProfilesInstalled reached, a TxProfile without its session, a purpose "
    "on a connector it does not fit. The same id, or the same connector, stack level and purpose, replaces. The "
    "new limit is published before the reply.",
    example={"connector_id": 1, "session": {"session_id": "3f9a1c2b4d5e6f70", "started_at": "2026-11-26T17:00:00Z"},
             "check_only": False, "profile": {
                 "charging_profile_id": 7, "transaction_id": 42, "stack_level": 1,
                 "charging_profile_purpose": "TxProfile", "charging_profile_kind": "Relative",
                 "charging_schedule": {"charging_rate_unit": "A", "charging_schedule_period": [
                     {"start_period": 0, "limit": 16.0}, {"start_period": 3600, "limit": 32.0}]}}},
)
BEGIN_SESSION = Topic(
    "chargebus/smart_charging/cmd/begin_session", Kind.CMD, BeginSessionRequest, reply=ChargingLimit,
    owner="smart_charging", subscribers=("ocpp_gateway",),
    doc="A session starts on the connector (asked by the gateway before power energizes): its limit (Relative "
    "schedules count from now, a RemoteStartTransaction's TxProfile is installed for it) is published before the "
    "reply, so no energy flows above it.",
    example={"connector_id": 1, "session": {"session_id": "3f9a1c2b4d5e6f70", "started_at": "2026-11-26T17:00:00Z"},
             "profile": None},
)
CLEAR_PROFILES = Topic(
    "chargebus/smart_charging/cmd/clear_profiles", Kind.CMD, ClearProfilesRequest, reply=ClearProfilesReply,
    owner="smart_charging", subscribers=("ocpp_gateway", "cli"),
    doc="ClearChargingProfile.req; the new limit is published before the reply.",
    example={"profile_id": None, "connector_id": 1, "purpose": "TxDefaultProfile", "stack_level": None},
)
GET_COMPOSITE = Topic(
    "chargebus/smart_charging/cmd/get_composite", Kind.CMD, CompositeRequest, reply=CompositeReply,
    owner="smart_charging", subscribers=("ocpp_gateway", "cli"),
    doc="GetCompositeSchedule.req in amperes: the schedule the connector (0: the station) will follow from now.",
    example={"connector_id": 1, "duration_s": 3600},
)
LIST_PROFILES = Topic(
    "chargebus/smart_charging/cmd/list_profiles", Kind.CMD, Empty, reply=InstalledProfiles,
    owner="smart_charging", subscribers=("cli",),
    doc="Every installed profile, with its connector and (TxProfile) session.",
    example={},
)

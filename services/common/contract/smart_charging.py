"""Smart charging: the limit profiles (owned by smart_charging, SQLite) and the current limit in force.

A limit profile says how much a connector (or the whole station) may draw, when, and with which precedence: the
station's own model, which the gateway maps from its protocol's charging profiles. Amperes only (the
schedule_units setting, as the reference station's PICS): smart_charging refuses a W profile.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Never

from pydantic import Field

from .base import Empty, Kind, Model, Topic


class LimitPurpose(StrEnum):
    STATION_MAX = "station_max"  # what the whole station may draw (connector 0 only)
    SESSION_DEFAULT = "session_default"  # every session's limit unless it has its own
    SESSION = "session"  # one session's own limit; it goes with the session


class ScheduleKind(StrEnum):
    ABSOLUTE = "absolute"  # from `starts_at`
    RECURRING = "recurring"  # from `starts_at`, again every day or week
    RELATIVE = "relative"  # from the start of the session


class Recurrence(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


ProfileStatus = Literal["accepted", "rejected"]


class LimitPeriod(Model):
    start_s: int = Field(ge=0, description="Seconds from the start of the schedule.")
    limit: float = Field(ge=0, description="In the schedule's unit.")
    phases: int | None = Field(None, ge=1, le=3)


class LimitSchedule(Model):
    duration_s: int | None = Field(None, ge=0, description="None: the last period goes on.")
    starts_at: datetime | None = Field(None, description="Absolute and recurring schedules: when it starts.")
    unit: Literal["A", "W"]
    periods: list[LimitPeriod] = Field(min_length=1, max_length=1000)
    min_rate: float | None = Field(None, ge=0)


class LimitProfile(Model):
    id: int
    stack_level: int = Field(ge=0, description="The higher level prevails among profiles of one purpose.")
    purpose: LimitPurpose
    kind: ScheduleKind
    recurrence: Recurrence | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    schedule: LimitSchedule


class SessionRef(Model):
    """The gateway's session a session profile belongs to."""

    session_id: str = Field(min_length=1)
    started_at: datetime


class SetProfileRequest(Model):
    connector_id: int = Field(ge=0, description="0: the station (station_max, or a session_default profile for "
                              "every connector).")
    profile: LimitProfile
    session: SessionRef | None = Field(None, description="For a session profile: the session it belongs to (the "
                                       "gateway found the one its CSMS named running).")
    check_only: bool = Field(False, description="Only say whether it would be accepted (a remote start is answered "
                             "before its session exists).")


class SetProfileReply(Model):
    status: ProfileStatus
    reason: str | None = Field(None, description="Why it was rejected.")


class BeginSessionRequest(Model):
    connector_id: int = Field(ge=1)
    session: SessionRef
    profile: LimitProfile | None = Field(None, description="The session profile a remote start brought.")


class ClearProfilesRequest(Model):
    """By id; else every profile matching all the criteria given (none: every profile)."""

    profile_id: int | None = None
    connector_id: int | None = Field(None, ge=0)
    purpose: LimitPurpose | None = None
    stack_level: int | None = Field(None, ge=0)


class ClearProfilesReply(Model):
    cleared: list[int] = Field(description="The ids of the profiles removed (none: nothing matched).")


class CompositeRequest(Model):
    connector_id: int = Field(ge=0, description="0: what the whole station may draw.")
    duration_s: int = Field(ge=1, le=30 * 86400)


class CompositeReply(Model):
    connector_id: int
    schedule_start: datetime = Field(description="When the request arrived; the periods count from it.")
    duration_s: int
    periods: list[LimitPeriod] = Field(description="Amperes; where no profile counts, the rating.")


class InstalledProfile(Model):
    connector_id: int
    session_id: str | None
    profile: LimitProfile


class InstalledProfiles(Model):
    profiles: list[InstalledProfile]


class ChargingLimit(Model):
    connector_id: int = Field(ge=0, description="0: the station cap (station_max).")
    limit_a: float | None = Field(None, ge=0, description="The limit in force; none: no profile counts (the "
                                  "module's rating applies). A connector's limit already includes its share "
                                  "of the station cap: power applies it as it is.")
    profile_id: int | None = Field(None, description="The profile that sets it.")
    purpose: LimitPurpose | None = None
    next_change_at: datetime | None = Field(None, description="When the limit changes next (within a week).")
    next_limit_a: float | None = Field(None, ge=0, description="The limit from then on; none: no profile.")


LIMIT: Topic[ChargingLimit, Never] = Topic(
    "chargebus/smart_charging/state/limit/{connector_id}", Kind.STATE, ChargingLimit, owner="smart_charging",
    retain=True, subscribers=("power", "api", "cli"),
    doc="The current limit in force, per connector and for the station (connector 0), which profile sets it and "
    "its next change; published on every change, period boundary, profile change and session start or end. "
    "Power applies the connector's limit within one CAN cycle (not connector 0's: it is in every connector's).",
    example={"connector_id": 1, "limit_a": 16.0, "profile_id": 7, "purpose": "session_default",
             "next_change_at": "2026-11-26T18:00:00Z", "next_limit_a": 32.0},
)
SET_PROFILE = Topic(
    "chargebus/smart_charging/cmd/set_profile", Kind.CMD, SetProfileRequest, reply=SetProfileReply,
    owner="smart_charging", subscribers=("ocpp_gateway",),
    doc="Install a limit profile. Rejected: unit W, a stack level above max_stack_level, more periods than "
    "max_schedule_periods, max_installed_limits reached, a session profile without its session, a purpose on a "
    "connector it does not fit. The same id, or the same connector, stack level and purpose, replaces. The new "
    "limit is published before the reply.",
    example={"connector_id": 1, "session": {"session_id": "3f9a1c2b4d5e6f70", "started_at": "2026-11-26T17:00:00Z"},
             "check_only": False, "profile": {
                 "id": 7, "stack_level": 1, "purpose": "session", "kind": "relative",
                 "schedule": {"unit": "A", "periods": [{"start_s": 0, "limit": 16.0},
                                                       {"start_s": 3600, "limit": 32.0}]}}},
)
BEGIN_SESSION = Topic(
    "chargebus/smart_charging/cmd/begin_session", Kind.CMD, BeginSessionRequest, reply=ChargingLimit,
    owner="smart_charging", subscribers=("ocpp_gateway",),
    doc="A session starts on the connector (asked by the gateway before power energizes): its limit (relative "
    "schedules count from now, the session profile a remote start brought is installed for it) is published "
    "before the reply, so no energy flows above it.",
    example={"connector_id": 1, "session": {"session_id": "3f9a1c2b4d5e6f70", "started_at": "2026-11-26T17:00:00Z"},
             "profile": None},
)
CLEAR_PROFILES = Topic(
    "chargebus/smart_charging/cmd/clear_profiles", Kind.CMD, ClearProfilesRequest, reply=ClearProfilesReply,
    owner="smart_charging", subscribers=("ocpp_gateway", "cli"),
    doc="Remove limit profiles; the new limit is published before the reply.",
    example={"profile_id": None, "connector_id": 1, "purpose": "session_default", "stack_level": None},
)
GET_COMPOSITE = Topic(
    "chargebus/smart_charging/cmd/get_composite", Kind.CMD, CompositeRequest, reply=CompositeReply,
    owner="smart_charging", subscribers=("ocpp_gateway", "cli"),
    doc="The schedule in amperes the connector (0: the station) will follow from now.",
    example={"connector_id": 1, "duration_s": 3600},
)
LIST_PROFILES = Topic(
    "chargebus/smart_charging/cmd/list_profiles", Kind.CMD, Empty, reply=InstalledProfiles,
    owner="smart_charging", subscribers=("ocpp_gateway", "cli"),
    doc="Every installed profile, with its connector and (session profiles) session.",
    example={},
)

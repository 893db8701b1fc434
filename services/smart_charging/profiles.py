"""Limit profiles as typed values: from and to the contract, and the checks behind a `rejected` answer.

The contract's `LimitProfile` arrives validated (types, names, finite numbers); past this module there are
only frozen dataclasses with floats, ints and aware UTC datetimes, so the schedule arithmetic never meets a
naive datetime. Whether a profile fits the station (its limits, the purpose on that connector) is `refusal`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from itertools import pairwise

from services.common.contract.smart_charging import (
    LimitPeriod,
    LimitProfile,
    LimitPurpose,
    LimitSchedule,
    Recurrence,
    ScheduleKind,
)


class Purpose(StrEnum):
    CHARGE_POINT_MAX = LimitPurpose.STATION_MAX.value
    TX_DEFAULT = LimitPurpose.SESSION_DEFAULT.value
    TX = LimitPurpose.SESSION.value


class Kind(StrEnum):
    ABSOLUTE = ScheduleKind.ABSOLUTE.value
    RECURRING = ScheduleKind.RECURRING.value
    RELATIVE = ScheduleKind.RELATIVE.value


class Recurrency(StrEnum):
    DAILY = Recurrence.DAILY.value
    WEEKLY = Recurrence.WEEKLY.value


@dataclass(frozen=True)
class Period:
    """`limit` (in the schedule's unit) from `start_s` seconds after the schedule start."""

    start_s: int
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True)
class Schedule:
    periods: tuple[Period, ...]
    unit: str  # "A" or "W"
    duration_s: int | None = None
    start: datetime | None = None
    min_rate: float | None = None


@dataclass(frozen=True)
class Profile:
    """One charging profile as installed on `connector_id` (0: the whole station)."""

    id: int
    connector_id: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedule: Schedule
    recurrency: Recurrency | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@dataclass(frozen=True)
class Limits:
    """What this station accepts (the station settings max_stack_level, max_schedule_periods, schedule_units)."""

    max_stack_level: int = 10
    max_periods: int = 24
    units: frozenset[str] = frozenset({"A"})  # no voltage to convert W


def from_contract(connector_id: int, profile: LimitProfile) -> Profile:
    """The profile as installed on `connector_id` (0: the whole station), times in UTC."""
    schedule = profile.schedule
    return Profile(
        id=profile.id,
        connector_id=connector_id,
        stack_level=profile.stack_level,
        purpose=Purpose(profile.purpose.value),
        kind=Kind(profile.kind.value),
        schedule=Schedule(
            periods=tuple(Period(p.start_s, p.limit, p.phases) for p in schedule.periods),
            unit=schedule.unit,
            duration_s=schedule.duration_s,
            start=_utc(schedule.starts_at),
            min_rate=schedule.min_rate,
        ),
        recurrency=None if profile.recurrence is None else Recurrency(profile.recurrence.value),
        valid_from=_utc(profile.valid_from),
        valid_to=_utc(profile.valid_to),
    )


def from_tx_start(profile: Profile) -> Profile:
    """An absolute profile without a start as the setting undated_absolute_from_session_start reads it: counted
    from the start of charging, as a relative one (a station_max profile is then refused as one)."""
    if profile.kind is Kind.ABSOLUTE and profile.schedule.start is None:
        return replace(profile, kind=Kind.RELATIVE)
    return profile


def to_contract(profile: Profile) -> LimitProfile:
    """What `from_contract` reads (connector id aside: it travels beside the profile)."""
    schedule = profile.schedule
    return LimitProfile(
        id=profile.id,
        stack_level=profile.stack_level,
        purpose=LimitPurpose(profile.purpose.value),
        kind=ScheduleKind(profile.kind.value),
        recurrence=None if profile.recurrency is None else Recurrence(profile.recurrency.value),
        valid_from=profile.valid_from,
        valid_to=profile.valid_to,
        schedule=LimitSchedule(
            duration_s=schedule.duration_s, starts_at=schedule.start, unit="W" if schedule.unit == "W" else "A",
            periods=[LimitPeriod(start_s=p.start_s, limit=p.limit, phases=p.number_phases) for p in schedule.periods],
            min_rate=schedule.min_rate),
    )


def refusal(profile: Profile, limits: Limits) -> str | None:
    """Why the station must refuse the profile, or None when it can install it."""
    return _schedule_refusal(profile.schedule, limits) or _profile_refusal(profile, limits)


def _schedule_refusal(schedule: Schedule, limits: Limits) -> str | None:
    if schedule.unit not in limits.units:
        return f"charging rate unit {schedule.unit} not supported (supported: {', '.join(sorted(limits.units))})"
    periods = schedule.periods
    if not periods:
        return "charging schedule has no periods"
    if len(periods) > limits.max_periods:
        return f"charging schedule has {len(periods)} periods, at most {limits.max_periods} supported"
    if periods[0].start_s != 0:
        return f"first charging schedule period starts at {periods[0].start_s} s, not 0"
    for before, after in pairwise(periods):
        if after.start_s <= before.start_s:
            return f"charging schedule period start {after.start_s} s does not follow {before.start_s} s"
    for period in periods:
        # `not >= 0` also catches NaN, which a hand-built Profile could carry
        if not period.limit >= 0:
            return f"charging schedule period limit {period.limit} is negative or not a number"
    return None


def _profile_refusal(profile: Profile, limits: Limits) -> str | None:
    if not 0 <= profile.stack_level <= limits.max_stack_level:
        return f"stack level {profile.stack_level} outside 0..{limits.max_stack_level}"
    if profile.purpose is Purpose.CHARGE_POINT_MAX and profile.connector_id != 0:
        return f"a station_max profile on connector {profile.connector_id}: only connector 0 takes it"
    if profile.purpose is Purpose.TX and profile.connector_id == 0:
        return "a session profile on connector 0: it needs the connector of a session"
    if profile.purpose is Purpose.CHARGE_POINT_MAX and profile.kind is Kind.RELATIVE:
        return "a station_max profile cannot be relative: the station has no session to count from"
    if profile.kind in (Kind.ABSOLUTE, Kind.RECURRING) and profile.schedule.start is None:
        return f"{profile.kind} schedule without a start"
    if profile.kind is Kind.RECURRING and profile.recurrency is None:
        return "recurring profile without its recurrence"
    if profile.valid_from is not None and profile.valid_to is not None and profile.valid_to <= profile.valid_from:
        return f"valid_to {_iso(profile.valid_to)} is not after valid_from {_iso(profile.valid_from)}"
    return None


def _utc(moment: datetime | None) -> datetime | None:
    # a time without a zone means UTC, never the station's local time
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat().removesuffix("+00:00") + "Z"

"""OCPP 1.6 ChargingProfile as typed values: reading, writing and the checks behind a `Rejected` answer.

The `ocpp` library hands a handler snake_case dicts whose fractional numbers are `decimal.Decimal` and whose
times are ISO strings. Past this module there are only frozen dataclasses with floats, ints and aware UTC
datetimes, so the schedule arithmetic never meets a Decimal, a naive datetime or an unknown enum value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any, TypeVar

# The units OCPP 1.6 knows. Which of them this station accepts is `Limits.units`: an unknown unit is
# malformed (ProfileError), a known but unsupported one is a refusal.
KNOWN_UNITS = frozenset({"A", "W"})


class ProfileError(ValueError):
    """A charging profile that cannot be read: a missing field, a wrong type, an unknown enum value."""


class Purpose(StrEnum):
    CHARGE_POINT_MAX = "ChargePointMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class Kind(StrEnum):
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(StrEnum):
    DAILY = "Daily"
    WEEKLY = "Weekly"


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
    transaction_id: int | None = None


@dataclass(frozen=True)
class Limits:
    """What this station accepts in SetChargingProfile."""

    max_stack_level: int = 10  # ChargeProfileMaxStackLevel
    max_periods: int = 24  # ChargingScheduleMaxPeriods
    units: frozenset[str] = frozenset({"A"})  # ChargingScheduleAllowedChargingRateUnit: no voltage to convert W


_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


def from_ocpp(connector_id: int, raw: Mapping[str, Any]) -> Profile:
    """The profile in a SetChargingProfile / RemoteStartTransaction payload, as the `ocpp` library parsed it.

    Raises ProfileError for anything that cannot be read. Semantic checks (stack level range, period order,
    purpose on connector 0...) are `refusal`'s: a readable but unacceptable profile is answered `Rejected`.
    """
    profile = _mapping(raw, "charging_profile")
    schedule = _mapping(_required(profile, "charging_schedule", ""), "charging_schedule")
    periods = _required(schedule, "charging_schedule_period", "charging_schedule.")
    if not isinstance(periods, list | tuple):
        raise ProfileError(f"charging_schedule.charging_schedule_period: expected a list, got {periods!r}")
    return Profile(
        id=_int(_required(profile, "charging_profile_id", ""), "charging_profile_id"),
        connector_id=connector_id,
        stack_level=_int(_required(profile, "stack_level", ""), "stack_level"),
        purpose=_enum(Purpose, _required(profile, "charging_profile_purpose", ""), "charging_profile_purpose"),
        kind=_enum(Kind, _required(profile, "charging_profile_kind", ""), "charging_profile_kind"),
        schedule=Schedule(
            periods=tuple(_period(item, f"charging_schedule.charging_schedule_period[{i}]")
                          for i, item in enumerate(periods)),
            unit=_unit(_required(schedule, "charging_rate_unit", "charging_schedule.")),
            duration_s=_optional(schedule, "duration", _int, "charging_schedule."),
            start=_optional(schedule, "start_schedule", _time, "charging_schedule."),
            min_rate=_optional(schedule, "min_charging_rate", _float, "charging_schedule."),
        ),
        recurrency=_optional(profile, "recurrency_kind", lambda v, p: _enum(Recurrency, v, p), ""),
        valid_from=_optional(profile, "valid_from", _time, ""),
        valid_to=_optional(profile, "valid_to", _time, ""),
        transaction_id=_optional(profile, "transaction_id", _int, ""),
    )


def from_tx_start(profile: Profile) -> Profile:
    """An Absolute profile without startSchedule as the vendor key AbsoluteWithoutStartScheduleAsRelative reads
    it: counted from the start of charging, as a Relative one (a ChargePointMaxProfile is then refused as one)."""
    if profile.kind is Kind.ABSOLUTE and profile.schedule.start is None:
        return replace(profile, kind=Kind.RELATIVE)
    return profile


def to_ocpp(profile: Profile) -> dict[str, Any]:
    """The snake_case dict `from_ocpp` reads (connector id aside: it travels beside the profile)."""
    schedule = profile.schedule
    raw_schedule = _without_none({
        "duration": schedule.duration_s,
        "start_schedule": _iso(schedule.start),
        "charging_rate_unit": schedule.unit,
        "charging_schedule_period": [
            _without_none({"start_period": p.start_s, "limit": p.limit, "number_phases": p.number_phases})
            for p in schedule.periods
        ],
        "min_charging_rate": schedule.min_rate,
    })
    return _without_none({
        "charging_profile_id": profile.id,
        "transaction_id": profile.transaction_id,
        "stack_level": profile.stack_level,
        "charging_profile_purpose": profile.purpose.value,
        "charging_profile_kind": profile.kind.value,
        "recurrency_kind": None if profile.recurrency is None else profile.recurrency.value,
        "valid_from": _iso(profile.valid_from),
        "valid_to": _iso(profile.valid_to),
        "charging_schedule": raw_schedule,
    })


def refusal(profile: Profile, limits: Limits) -> str | None:
    """Why the station must answer SetChargingProfile `Rejected`, or None when it can install the profile."""
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
        # `not >= 0` also catches NaN, which a hand-built Profile could carry past from_ocpp
        if not period.limit >= 0:
            return f"charging schedule period limit {period.limit} is negative or not a number"
    return None


def _profile_refusal(profile: Profile, limits: Limits) -> str | None:
    if not 0 <= profile.stack_level <= limits.max_stack_level:
        return f"stack level {profile.stack_level} outside 0..{limits.max_stack_level}"
    if profile.purpose is Purpose.CHARGE_POINT_MAX and profile.connector_id != 0:
        return f"ChargePointMaxProfile on connector {profile.connector_id}: only connector 0 takes it"
    if profile.purpose is Purpose.TX and profile.connector_id == 0:
        return "TxProfile on connector 0: it needs the connector of a transaction"
    if profile.purpose is Purpose.CHARGE_POINT_MAX and profile.kind is Kind.RELATIVE:
        return "ChargePointMaxProfile cannot be Relative: the station has no transaction to count from"
    if profile.kind in (Kind.ABSOLUTE, Kind.RECURRING) and profile.schedule.start is None:
        return f"{profile.kind} charging schedule without start_schedule"
    if profile.kind is Kind.RECURRING and profile.recurrency is None:
        return "Recurring profile without recurrency_kind"
    if profile.valid_from is not None and profile.valid_to is not None and profile.valid_to <= profile.valid_from:
        return f"valid_to {_iso(profile.valid_to)} is not after valid_from {_iso(profile.valid_from)}"
    return None


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProfileError(f"{path}: expected an object, got {value!r}")
    return value


def _required(raw: Mapping[str, Any], key: str, prefix: str) -> object:
    # A JSON null is as good as absent: the library never sends one for a required field on purpose.
    if raw.get(key) is None:
        raise ProfileError(f"{prefix}{key}: missing")
    return raw[key]


def _optional(raw: Mapping[str, Any], key: str, read: Callable[[object, str], _T], prefix: str) -> _T | None:
    value = raw.get(key)
    return None if value is None else read(value, prefix + key)


def _float(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ProfileError(f"{path}: expected a number, got {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ProfileError(f"{path}: expected a finite number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):  # also a Decimal too large for a float
        raise ProfileError(f"{path}: expected a finite number, got {value!r}")
    return number


def _int(value: object, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _float(value, path)  # "3600.0" arrives as Decimal: accepted when it is whole
    if not number.is_integer():
        raise ProfileError(f"{path}: expected an integer, got {value!r}")
    return int(number)


def _enum(cls: type[_E], value: object, path: str) -> _E:
    members = {member.value: member for member in cls}
    if isinstance(value, str) and value in members:
        return members[value]
    expected = ", ".join(members)
    raise ProfileError(f"{path}: unknown value {value!r} (expected one of {expected})")


def _unit(value: object) -> str:
    if value not in KNOWN_UNITS:
        raise ProfileError(f"charging_schedule.charging_rate_unit: unknown unit {value!r} (expected A or W)")
    return str(value)


def _time(value: object, path: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ProfileError(f"{path}: not an ISO 8601 time: {value!r}") from None
    else:
        raise ProfileError(f"{path}: expected an ISO 8601 time, got {value!r}")
    # OCPP times carry a zone; a CSMS that leaves it out means UTC, never the station's local time
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _period(value: object, path: str) -> Period:
    raw = _mapping(value, path)
    return Period(
        start_s=_int(_required(raw, "start_period", path + "."), path + ".start_period"),
        limit=_float(_required(raw, "limit", path + "."), path + ".limit"),
        number_phases=_optional(raw, "number_phases", _int, path + "."),
    )


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat().removesuffix("+00:00") + "Z"


def _without_none(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if value is not None}

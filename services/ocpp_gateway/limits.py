"""1.6 charging profiles as the station's limit profiles: reading what the CSMS sent, writing what it asks for.

The `ocpp` library hands a handler snake_case dicts whose fractional numbers are `decimal.Decimal` and whose
times are ISO strings. This module reads them field by field into the contract's `LimitProfile` (floats,
ints, aware UTC datetimes, the station's own names) and says what is wrong with one it cannot read: such a
profile is answered Rejected without smart_charging ever seeing it. Whether a readable profile fits the
station (stack levels, periods, purposes per connector) is smart_charging's decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import ValidationError

from services.common.contract.smart_charging import (
    LimitPeriod,
    LimitProfile,
    LimitPurpose,
    LimitSchedule,
    Recurrence,
    ScheduleKind,
)

REQUEST_TIMEOUT_S = 5.0  # for smart_charging's answer to a CSMS's profile call
MAX_COMPOSITE_S = 30 * 86400  # contract.smart_charging CompositeRequest: a longer request is capped to it
# The units OCPP 1.6 knows; which of them this station accepts is smart_charging's to say
KNOWN_UNITS = frozenset({"A", "W"})
PURPOSES = {"ChargePointMaxProfile": LimitPurpose.STATION_MAX, "TxDefaultProfile": LimitPurpose.SESSION_DEFAULT,
            "TxProfile": LimitPurpose.SESSION}
KINDS = {"Absolute": ScheduleKind.ABSOLUTE, "Recurring": ScheduleKind.RECURRING, "Relative": ScheduleKind.RELATIVE}
RECURRENCES = {"Daily": Recurrence.DAILY, "Weekly": Recurrence.WEEKLY}


class ProfileError(ValueError):
    """A charging profile that cannot be read: a missing field, a wrong type, an unknown enum value."""


_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


def read(raw: object) -> tuple[LimitProfile, int | None]:
    """The profile of a SetChargingProfile / RemoteStartTransaction payload, and the transactionId it names.

    Raises ProfileError for anything that cannot be read.
    """
    try:
        return _read(raw)
    except ValidationError as exc:  # what the contract refuses besides (more periods than it carries)
        raise ProfileError(str(exc)) from None


def _read(raw: object) -> tuple[LimitProfile, int | None]:
    profile = mapping(raw, "charging_profile")
    schedule = mapping(_required(profile, "charging_schedule", ""), "charging_schedule")
    return profile_of(profile, schedule, "charging_profile_id", PURPOSES), _optional(profile, "transaction_id",
                                                                                       _int, "")


def profile_of(profile: Mapping[str, Any], schedule: Mapping[str, Any], id_key: str,
               purposes: Mapping[str, LimitPurpose]) -> LimitProfile:
    """A profile and its schedule as the contract's LimitProfile: the fields 1.6 and 2.0.1 share, with the
    version's name of the profile's id and its purposes. Raises ProfileError (or the contract's ValidationError)."""
    periods = _required(schedule, "charging_schedule_period", "charging_schedule.")
    if not isinstance(periods, list | tuple):
        raise ProfileError(f"charging_schedule.charging_schedule_period: expected a list, got {periods!r}")
    if not periods:
        raise ProfileError("charging_schedule.charging_schedule_period: no period")
    return LimitProfile(
        id=_int(_required(profile, id_key, ""), id_key),
        stack_level=_whole(_required(profile, "stack_level", ""), "stack_level"),
        purpose=_named(purposes, _required(profile, "charging_profile_purpose", ""), "charging_profile_purpose"),
        kind=_named(KINDS, _required(profile, "charging_profile_kind", ""), "charging_profile_kind"),
        schedule=LimitSchedule(
            periods=[_period(item, f"charging_schedule.charging_schedule_period[{i}]")
                     for i, item in enumerate(periods)],
            unit=_unit(_required(schedule, "charging_rate_unit", "charging_schedule.")),
            duration_s=_optional(schedule, "duration", _whole, "charging_schedule."),
            starts_at=_optional(schedule, "start_schedule", _time, "charging_schedule."),
            min_rate=_optional(schedule, "min_charging_rate", _amount, "charging_schedule."),
        ),
        recurrence=_optional(profile, "recurrency_kind", lambda v, p: _named(RECURRENCES, v, p), ""),
        valid_from=_optional(profile, "valid_from", _time, ""),
        valid_to=_optional(profile, "valid_to", _time, ""),
    )


def _named(table: Mapping[str, _E], value: object, path: str) -> _E:
    if isinstance(value, str) and value in table:
        return table[value]
    raise ProfileError(f"{path}: unknown value {value!r} (expected one of {', '.join(table)})")


def _whole(value: object, path: str) -> int:
    number = _int(value, path)
    if number < 0:
        raise ProfileError(f"{path}: {number} is negative")
    return number


def _amount(value: object, path: str) -> float:
    number = _float(value, path)
    if number < 0:
        raise ProfileError(f"{path}: {number} is negative")
    return number


def utc_text(moment: datetime) -> str:
    """A time as a composite schedule's start is sent: UTC with a Z."""
    return moment.isoformat().replace("+00:00", "Z")


def composite_periods(periods: list[LimitPeriod]) -> list[dict[str, Any]]:
    """The periods of a composite schedule as GetCompositeSchedule.conf carries them."""
    return [{"start_period": p.start_s, "limit": p.limit} for p in periods]


def mapping(value: object, path: str) -> Mapping[str, Any]:
    """`value` as an object, or ProfileError naming where it is."""
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


def _period(value: object, path: str) -> LimitPeriod:
    raw = mapping(value, path)
    return LimitPeriod(
        start_s=_whole(_required(raw, "start_period", path + "."), path + ".start_period"),
        limit=_amount(_required(raw, "limit", path + "."), path + ".limit"),
        phases=_optional(raw, "number_phases", _phases, path + "."),
    )


def _phases(value: object, path: str) -> int:
    number = _int(value, path)
    if not 1 <= number <= 3:
        raise ProfileError(f"{path}: {number} phases")
    return number

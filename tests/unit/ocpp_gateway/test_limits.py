"""1.6 charging profiles as the `ocpp` library hands them, read into the station's limit profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.common.contract.smart_charging import (
    LimitPeriod,
    LimitProfile,
    LimitPurpose,
    LimitSchedule,
    Recurrence,
    ScheduleKind,
)
from services.ocpp_gateway.limits import ProfileError, composite_periods, read

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def payload() -> dict[str, Any]:
    """A SetChargingProfile profile as the library hands it: snake_case, fractions as Decimal."""
    return {
        "charging_profile_id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Relative",
        "recurrency_kind": "Daily",
        "valid_from": "2026-11-26T10:00:00Z",
        "valid_to": "2026-11-27T10:00:00+01:00",
        "transaction_id": 7,
        "charging_schedule": {
            "charging_rate_unit": "A",
            "duration": 3600,
            "start_schedule": "2026-11-26T10:00:00",
            "min_charging_rate": Decimal("6.0"),
            "charging_schedule_period": [
                {"start_period": 0, "limit": Decimal("21.4"), "number_phases": 3},
                {"start_period": 600, "limit": 16},
            ],
        },
    }


EXPECTED = LimitProfile(
    id=1,
    stack_level=0,
    purpose=LimitPurpose.SESSION,
    kind=ScheduleKind.RELATIVE,
    recurrence=Recurrence.DAILY,
    valid_from=T0,
    valid_to=T0 + timedelta(hours=23),
    schedule=LimitSchedule(unit="A", duration_s=3600, starts_at=T0, min_rate=6.0,
                           periods=[LimitPeriod(start_s=0, limit=21.4, phases=3), LimitPeriod(start_s=600, limit=16)]),
)


def test_every_field_is_read_in_the_stations_words() -> None:
    profile, transaction_id = read(payload())
    assert profile == EXPECTED and transaction_id == 7
    # Decimal never leaks past the module: plain floats only
    assert type(profile.schedule.periods[0].limit) is float and type(profile.schedule.min_rate) is float


@pytest.mark.parametrize(("sent", "purpose"), [("ChargePointMaxProfile", LimitPurpose.STATION_MAX),
                                               ("TxDefaultProfile", LimitPurpose.SESSION_DEFAULT),
                                               ("TxProfile", LimitPurpose.SESSION)])
def test_each_purpose_has_its_name(sent: str, purpose: LimitPurpose) -> None:
    raw = payload()
    raw["charging_profile_purpose"] = sent
    assert read(raw)[0].purpose is purpose


def test_a_composite_schedule_goes_out_in_16_shape() -> None:
    assert composite_periods([LimitPeriod(start_s=0, limit=32.0), LimitPeriod(start_s=60, limit=16.0)]) == [
        {"start_period": 0, "limit": 32.0}, {"start_period": 60, "limit": 16.0}]


TIMES = [
    # (row, sent, expected)
    ("Z suffix", "2026-11-26T10:00:00Z", T0),
    ("explicit +00:00", "2026-11-26T10:00:00+00:00", T0),
    ("no zone means UTC, not local time", "2026-11-26T10:00:00", T0),
    ("another zone is converted", "2026-11-26T12:30:00+02:30", T0),
    ("fractions of a second kept", "2026-11-26T10:00:00.250Z", T0 + timedelta(milliseconds=250)),
]


@pytest.mark.parametrize(("row", "sent", "expected"), TIMES, ids=[row[0] for row in TIMES])
def test_times_become_aware_utc(row: str, sent: str, expected: datetime) -> None:
    raw = payload()
    raw["valid_from"] = sent
    parsed = read(raw)[0].valid_from
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


def test_whole_decimals_are_accepted_for_integers() -> None:
    raw = payload()
    raw["charging_schedule"]["duration"] = Decimal("3600.0")
    raw["charging_schedule"]["charging_schedule_period"][1]["start_period"] = Decimal("600")
    profile = read(raw)[0]
    assert profile.schedule.duration_s == 3600 and type(profile.schedule.duration_s) is int
    assert profile.schedule.periods[1].start_s == 600 and type(profile.schedule.periods[1].start_s) is int


def _without(*path: str | int) -> dict[str, Any]:
    raw = payload()
    node: Any = raw
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return raw


def _with(value: object, *path: str | int) -> dict[str, Any]:
    raw = payload()
    node: Any = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return raw


MALFORMED: list[tuple[str, object, str]] = [
    # (row, raw, words the message must name)
    ("not an object", ["charging_profile_id", 1], "charging_profile"),
    ("no id", _without("charging_profile_id"), "charging_profile_id: missing"),
    ("id null", _with(None, "charging_profile_id"), "charging_profile_id: missing"),
    ("no stack level", _without("stack_level"), "stack_level: missing"),
    ("no purpose", _without("charging_profile_purpose"), "charging_profile_purpose: missing"),
    ("no kind", _without("charging_profile_kind"), "charging_profile_kind: missing"),
    ("no schedule", _without("charging_schedule"), "charging_schedule: missing"),
    ("no unit", _without("charging_schedule", "charging_rate_unit"), "charging_rate_unit: missing"),
    ("no periods", _without("charging_schedule", "charging_schedule_period"), "charging_schedule_period: missing"),
    ("periods not a list", _with("0:32", "charging_schedule", "charging_schedule_period"), "expected a list"),
    ("period not an object", _with([32], "charging_schedule", "charging_schedule_period"), "period[0]"),
    ("period without limit", _without("charging_schedule", "charging_schedule_period", 1, "limit"),
     "period[1].limit: missing"),
    ("period without start", _without("charging_schedule", "charging_schedule_period", 0, "start_period"),
     "period[0].start_period: missing"),
    ("unknown purpose", _with("TxMaxProfile", "charging_profile_purpose"), "TxMaxProfile"),
    ("purpose in the wrong case", _with("txprofile", "charging_profile_purpose"), "charging_profile_purpose"),
    ("unknown kind", _with("Once", "charging_profile_kind"), "Once"),
    ("unknown recurrency", _with("Monthly", "recurrency_kind"), "Monthly"),
    ("unknown unit", _with("kW", "charging_schedule", "charging_rate_unit"), "kW"),
    ("limit as text", _with("32", "charging_schedule", "charging_schedule_period", 0, "limit"), "limit"),
    ("limit NaN", _with(Decimal("NaN"), "charging_schedule", "charging_schedule_period", 0, "limit"), "finite"),
    ("limit too large for a float", _with(Decimal("1e400"), "charging_schedule", "charging_schedule_period", 0,
                                          "limit"), "finite"),
    ("fractional start", _with(Decimal("1.5"), "charging_schedule", "charging_schedule_period", 1, "start_period"),
     "expected an integer"),
    ("negative limit", _with(Decimal("-0.1"), "charging_schedule", "charging_schedule_period", 1, "limit"),
     "negative"),
    ("negative stack level", _with(-1, "stack_level"), "stack_level: -1 is negative"),
    ("empty schedule", _with([], "charging_schedule", "charging_schedule_period"), "no period"),
    ("four phases", _with(4, "charging_schedule", "charging_schedule_period", 0, "number_phases"), "4 phases"),
    ("boolean stack level", _with(True, "stack_level"), "stack_level"),
    ("time not ISO", _with("yesterday", "valid_to"), "valid_to"),
    ("time as a number", _with(1764151200, "charging_schedule", "start_schedule"), "start_schedule"),
]


@pytest.mark.parametrize(("row", "raw", "words"), MALFORMED, ids=[row[0] for row in MALFORMED])
def test_malformed_profiles_raise(row: str, raw: Any, words: str) -> None:
    with pytest.raises(ProfileError, match=words.replace("[", r"\[").replace("]", r"\]")):
        read(raw)


def test_profile_error_is_a_value_error() -> None:
    # callers that map ValueError to a FormationViolation keep working
    with pytest.raises(ValueError):
        read({})

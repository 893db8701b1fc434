"""Charging profiles read from and written to the `ocpp` library's dicts, and the reasons to reject one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.smart_charging.profiles import (
    Kind,
    Limits,
    Period,
    Profile,
    ProfileError,
    Purpose,
    Recurrency,
    Schedule,
    from_ocpp,
    from_tx_start,
    refusal,
    to_ocpp,
)

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


EXPECTED = Profile(
    id=1,
    connector_id=2,
    stack_level=0,
    purpose=Purpose.TX,
    kind=Kind.RELATIVE,
    schedule=Schedule(
        periods=(Period(0, 21.4, 3), Period(600, 16.0)),
        unit="A",
        duration_s=3600,
        start=T0,
        min_rate=6.0,
    ),
    recurrency=Recurrency.DAILY,
    valid_from=T0,
    valid_to=T0 + timedelta(hours=23),
    transaction_id=7,
)

MINIMAL = Profile(1, 0, 0, Purpose.CHARGE_POINT_MAX, Kind.ABSOLUTE, Schedule((Period(0, 32.0),), "A", start=T0))


def test_from_ocpp_reads_every_field() -> None:
    profile = from_ocpp(2, payload())
    assert profile == EXPECTED
    # Decimal never leaks past the module: plain floats and ints only
    assert type(profile.schedule.periods[0].limit) is float
    assert type(profile.schedule.min_rate) is float
    assert type(profile.schedule.periods[1].limit) is float


def test_to_ocpp_writes_utc_times_and_omits_what_is_absent() -> None:
    raw = to_ocpp(EXPECTED)
    assert raw["valid_from"] == "2026-11-26T10:00:00Z"
    assert raw["valid_to"] == "2026-11-27T09:00:00Z"
    assert raw["charging_schedule"]["charging_schedule_period"][1] == {"start_period": 600, "limit": 16.0}
    assert to_ocpp(MINIMAL) == {
        "charging_profile_id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "ChargePointMaxProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "start_schedule": "2026-11-26T10:00:00Z",
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": 32.0}],
        },
    }


@pytest.mark.parametrize("profile", [EXPECTED, MINIMAL])
def test_round_trip(profile: Profile) -> None:
    assert from_ocpp(profile.connector_id, to_ocpp(profile)) == profile


TIMES = [
    # (row, sent, read)
    ("Z suffix", "2026-11-26T10:00:00Z", T0),
    ("explicit +00:00", "2026-11-26T10:00:00+00:00", T0),
    ("no zone means UTC, not local time", "2026-11-26T10:00:00", T0),
    ("another zone is converted", "2026-11-26T12:30:00+02:30", T0),
    ("fractions of a second kept", "2026-11-26T10:00:00.250Z", T0 + timedelta(milliseconds=250)),
]


@pytest.mark.parametrize(("row", "sent", "read"), TIMES, ids=[row[0] for row in TIMES])
def test_times_become_aware_utc(row: str, sent: str, read: datetime) -> None:
    raw = payload()
    raw["valid_from"] = sent
    parsed = from_ocpp(1, raw).valid_from
    assert parsed == read
    assert parsed is not None and parsed.tzinfo is UTC


def test_whole_decimals_are_accepted_for_integers() -> None:
    raw = payload()
    raw["charging_schedule"]["duration"] = Decimal("3600.0")
    raw["charging_schedule"]["charging_schedule_period"][1]["start_period"] = Decimal("600")
    profile = from_ocpp(1, raw)
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
    ("boolean stack level", _with(True, "stack_level"), "stack_level"),
    ("time not ISO", _with("yesterday", "valid_to"), "valid_to"),
    ("time as a number", _with(1764151200, "charging_schedule", "start_schedule"), "start_schedule"),
]


@pytest.mark.parametrize(("row", "raw", "words"), MALFORMED, ids=[row[0] for row in MALFORMED])
def test_malformed_profiles_raise(row: str, raw: Any, words: str) -> None:
    with pytest.raises(ProfileError, match=words.replace("[", r"\[").replace("]", r"\]")):
        from_ocpp(1, raw)


def test_profile_error_is_a_value_error() -> None:
    # callers that map ValueError to a FormationViolation keep working
    with pytest.raises(ValueError):
        from_ocpp(1, {})


VALID = Profile(
    id=3,
    connector_id=1,
    stack_level=2,
    purpose=Purpose.TX_DEFAULT,
    kind=Kind.ABSOLUTE,
    schedule=Schedule((Period(0, 32.0), Period(900, 16.0)), "A", duration_s=3600, start=T0),
    valid_from=T0,
    valid_to=T0 + timedelta(days=1),
)


def _schedule(**changes: Any) -> Profile:
    return replace(VALID, schedule=replace(VALID.schedule, **changes))


REFUSALS: list[tuple[str, Profile, str | None]] = [
    # (row, profile, words the reason must contain; None: accepted)
    ("a valid profile passes", VALID, None),
    ("watts are refused: no voltage to convert", _schedule(unit="W"), "unit W"),
    ("negative stack level", replace(VALID, stack_level=-1), "stack level -1"),
    ("stack level above the maximum", replace(VALID, stack_level=11), "stack level 11"),
    ("the maximum stack level itself passes", replace(VALID, stack_level=10), None),
    ("more periods than supported", _schedule(periods=tuple(Period(60 * i, 10.0) for i in range(25))), "25 periods"),
    ("24 periods pass", _schedule(periods=tuple(Period(60 * i, 10.0) for i in range(24))), None),
    ("no period", _schedule(periods=()), "no periods"),
    ("first period not at 0", _schedule(periods=(Period(60, 10.0),)), "starts at 60"),
    ("periods out of order", _schedule(periods=(Period(0, 10.0), Period(900, 8.0), Period(600, 6.0))),
     "600 s does not follow 900 s"),
    ("two periods at the same second", _schedule(periods=(Period(0, 10.0), Period(0, 8.0))), "0 s does not follow"),
    ("negative limit", _schedule(periods=(Period(0, 10.0), Period(60, -0.1))), "negative"),
    ("NaN limit", _schedule(periods=(Period(0, float("nan")),)), "negative"),
    ("a limit of 0 passes (pauses the charge)", _schedule(periods=(Period(0, 0.0),)), None),
    ("station cap on a connector", replace(VALID, purpose=Purpose.CHARGE_POINT_MAX), "connector 1"),
    ("station cap on connector 0 passes", replace(VALID, purpose=Purpose.CHARGE_POINT_MAX, connector_id=0), None),
    ("TxProfile on connector 0", replace(VALID, purpose=Purpose.TX, connector_id=0), "TxProfile on connector 0"),
    ("Relative station cap", replace(VALID, purpose=Purpose.CHARGE_POINT_MAX, connector_id=0, kind=Kind.RELATIVE),
     "cannot be Relative"),
    ("Absolute without start", _schedule(start=None), "Absolute charging schedule without start_schedule"),
    ("Recurring without start", replace(_schedule(start=None), kind=Kind.RECURRING, recurrency=Recurrency.DAILY),
     "Recurring charging schedule without start_schedule"),
    ("Relative without start passes", replace(_schedule(start=None), kind=Kind.RELATIVE), None),
    ("Recurring without recurrency", replace(VALID, kind=Kind.RECURRING), "without recurrency_kind"),
    ("Recurring with recurrency passes", replace(VALID, kind=Kind.RECURRING, recurrency=Recurrency.WEEKLY), None),
    ("valid_to equal to valid_from", replace(VALID, valid_to=T0), "not after valid_from"),
    ("valid_to before valid_from", replace(VALID, valid_to=T0 - timedelta(seconds=1)), "not after valid_from"),
    ("open validity passes", replace(VALID, valid_from=None, valid_to=None), None),
]


@pytest.mark.parametrize(("row", "profile", "words"), REFUSALS, ids=[row[0] for row in REFUSALS])
def test_refusal(row: str, profile: Profile, words: str | None) -> None:
    reason = refusal(profile, Limits())
    if words is None:
        assert reason is None
    else:
        assert reason is not None and words in reason


def test_limits_are_the_stations() -> None:
    lenient = Limits(max_stack_level=20, max_periods=2, units=frozenset({"A", "W"}))
    assert refusal(_schedule(unit="W"), lenient) is None
    assert refusal(replace(VALID, stack_level=20), lenient) is None
    assert refusal(_schedule(periods=(Period(0, 1.0), Period(1, 2.0), Period(2, 3.0))), lenient) == (
        "charging schedule has 3 periods, at most 2 supported")


# --- properties ------------------------------------------------------------------------------------------

utc_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)


@st.composite
def any_profile(draw: st.DrawFn) -> Profile:
    """Readable profiles, acceptable or not: the round trip must not depend on `refusal`."""
    periods = draw(st.lists(st.builds(Period, st.integers(0, 10**6), finite, st.none() | st.integers(1, 3)),
                            max_size=5))
    schedule = Schedule(tuple(periods), draw(st.sampled_from(["A", "W"])), draw(st.none() | st.integers(0, 10**6)),
                        draw(st.none() | utc_times), draw(st.none() | finite))
    return Profile(
        id=draw(st.integers(-(2**31), 2**31)),
        connector_id=draw(st.integers(0, 4)),
        stack_level=draw(st.integers(-5, 50)),
        purpose=draw(st.sampled_from(Purpose)),
        kind=draw(st.sampled_from(Kind)),
        schedule=schedule,
        recurrency=draw(st.none() | st.sampled_from(Recurrency)),
        valid_from=draw(st.none() | utc_times),
        valid_to=draw(st.none() | utc_times),
        transaction_id=draw(st.none() | st.integers(0, 2**31)),
    )


@settings(max_examples=200, deadline=None)
@given(any_profile())
def test_round_trip_through_the_wire(profile: Profile) -> None:
    # as on the wire: JSON text, read back by the library with fractions as Decimal
    wire = json.loads(json.dumps(to_ocpp(profile)), parse_float=Decimal)
    assert from_ocpp(profile.connector_id, wire) == profile


def test_from_tx_start_reads_only_an_absolute_profile_without_start_as_relative() -> None:
    """Item 8: the vendor key AbsoluteWithoutStartScheduleAsRelative; what else arrives is left as it came."""
    schedule = Schedule(periods=(Period(0, 12.0),), unit="A")
    no_start = Profile(id=1, connector_id=1, stack_level=0, purpose=Purpose.TX_DEFAULT, kind=Kind.ABSOLUTE,
                       schedule=schedule)
    started = replace(no_start, schedule=replace(schedule, start=T0))
    recurring = replace(no_start, kind=Kind.RECURRING, recurrency=Recurrency.DAILY)
    assert from_tx_start(no_start) == replace(no_start, kind=Kind.RELATIVE)
    assert refusal(from_tx_start(no_start), Limits()) is None
    assert [from_tx_start(p) for p in (started, recurring)] == [started, recurring]
    cap = replace(no_start, purpose=Purpose.CHARGE_POINT_MAX, connector_id=0)
    assert refusal(from_tx_start(cap), Limits()) is not None  # no start of charging to count from

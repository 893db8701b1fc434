"""Limit profiles from and to the contract, and the reasons to refuse one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.contract.smart_charging import LimitProfile
from services.smart_charging.profiles import (
    Kind,
    Limits,
    Period,
    Profile,
    Purpose,
    Recurrency,
    Schedule,
    from_contract,
    from_tx_start,
    refusal,
    to_contract,
)

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_times_without_a_zone_are_utc() -> None:
    sent = to_contract(replace(VALID, valid_from=datetime(2026, 11, 26, 10, 0)))
    assert from_contract(1, sent).valid_from == T0


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
    ("TxProfile on connector 0", replace(VALID, purpose=Purpose.TX, connector_id=0), "session profile on connector 0"),
    ("Relative station cap", replace(VALID, purpose=Purpose.CHARGE_POINT_MAX, connector_id=0, kind=Kind.RELATIVE),
     "cannot be relative"),
    ("Absolute without start", _schedule(start=None), "absolute schedule without a start"),
    ("Recurring without start", replace(_schedule(start=None), kind=Kind.RECURRING, recurrency=Recurrency.DAILY),
     "recurring schedule without a start"),
    ("Relative without start passes", replace(_schedule(start=None), kind=Kind.RELATIVE), None),
    ("Recurring without recurrency", replace(VALID, kind=Kind.RECURRING), "without its recurrence"),
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
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e9)


@st.composite
def any_profile(draw: st.DrawFn) -> Profile:
    """Profiles the contract can carry, acceptable or not: the round trip must not depend on `refusal`."""
    periods = draw(st.lists(st.builds(Period, st.integers(0, 10**6), finite, st.none() | st.integers(1, 3)),
                            min_size=1, max_size=5))
    schedule = Schedule(tuple(periods), draw(st.sampled_from(["A", "W"])), draw(st.none() | st.integers(0, 10**6)),
                        draw(st.none() | utc_times), draw(st.none() | finite))
    return Profile(
        id=draw(st.integers(-(2**31), 2**31)),
        connector_id=draw(st.integers(0, 4)),
        stack_level=draw(st.integers(0, 50)),
        purpose=draw(st.sampled_from(Purpose)),
        kind=draw(st.sampled_from(Kind)),
        schedule=schedule,
        recurrency=draw(st.none() | st.sampled_from(Recurrency)),
        valid_from=draw(st.none() | utc_times),
        valid_to=draw(st.none() | utc_times),
    )


@settings(max_examples=200, deadline=None)
@given(any_profile())
def test_round_trip_through_the_bus(profile: Profile) -> None:
    # as on the bus and in the store: the contract's JSON, read back
    sent = LimitProfile.model_validate_json(to_contract(profile).model_dump_json())
    assert from_contract(profile.connector_id, sent) == profile


def test_from_tx_start_reads_only_an_absolute_profile_without_start_as_relative() -> None:
    """Item 8: the setting undated_absolute_from_session_start; what else arrives is left as it came."""
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

"""The limit in force per connector and for the station, with sessions, the station cap and profile housekeeping."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.smart_charging.composite import CompositePeriod, limit_at
from services.smart_charging.planner import Criteria, Installed, Limit, Plan, Session, clear, install, orphans
from services.smart_charging.profiles import Kind, Purpose
from tests.unit.smart_charging.test_composite import CAP, T0, TX, TXD, prof

RATED = 500.0
S1 = Session("s1", T0)
MIN = timedelta(minutes=1)


def plan(*installed: Installed, session: Session | None = S1, connectors: tuple[int, ...] = (1,),
         sessions: dict[int, Session | None] | None = None) -> Plan:
    return Plan(connectors, installed, sessions if sessions is not None else {1: session}, RATED)


def on(profile: object, session_id: str | None = None) -> Installed:
    assert not isinstance(profile, Installed)
    return Installed(profile, session_id)  # type: ignore[arg-type]


LIMITS: list[tuple[str, Plan, datetime, Limit]] = [
    ("nothing installed: no limit of ours", plan(), T0, Limit(1, None, None, None)),
    ("a TxDefaultProfile for every connector", plan(on(prof(1, TXD, 16, connector=0))), T0 + MIN,
     Limit(1, 16, 1, TXD)),
    ("the session's TxProfile beats a higher-level TxDefaultProfile",
     plan(on(prof(1, TXD, 16, level=5)), on(prof(2, TX, 20), "s1")), T0 + MIN, Limit(1, 20, 2, TX)),
    ("another session's TxProfile does not count",
     plan(on(prof(1, TXD, 16)), on(prof(2, TX, 8), "old")), T0 + MIN, Limit(1, 16, 1, TXD)),
    ("no session: a TxProfile does not count, the TxDefaultProfile does",
     plan(on(prof(1, TXD, 16)), on(prof(2, TX, 8), "s1"), session=None), T0 + MIN, Limit(1, 16, 1, TXD)),
    ("the station cap lowers the connector's limit and is named",
     plan(on(prof(1, TXD, 16)), on(prof(9, CAP, 10))), T0 + MIN, Limit(1, 10, 9, CAP)),
    ("a cap above the connector's own limit changes nothing",
     plan(on(prof(1, TXD, 16)), on(prof(9, CAP, 32))), T0 + MIN, Limit(1, 16, 1, TXD)),
    ("a cap alone limits", plan(on(prof(9, CAP, 32))), T0 + MIN, Limit(1, 32, 9, CAP)),
    ("the next change of a Relative schedule counts from the session start",
     plan(on(prof(1, TXD, [(0, 6), (60, 10)], kind=Kind.RELATIVE)), session=Session("s1", T0 + MIN)),
     T0 + MIN + timedelta(seconds=30), Limit(1, 6, 1, TXD, T0 + 2 * MIN, 10)),
    ("a schedule that ends: the next change is to no limit",
     plan(on(prof(1, TXD, 16, duration=600))), T0 + MIN, Limit(1, 16, 1, TXD, T0 + 10 * MIN, None)),
    ("the station's own limit is the cap", plan(on(prof(1, TXD, 16)), on(prof(9, CAP, 10))), T0 + MIN,
     Limit(0, 10, 9, CAP)),
]


@pytest.mark.parametrize(("row", "the_plan", "now", "expected"), LIMITS, ids=[row for row, *_ in LIMITS])
def test_limit(row: str, the_plan: Plan, now: datetime, expected: Limit) -> None:
    assert the_plan.limit(expected.connector_id, now) == expected


def test_two_connectors_charging_share_the_station_cap_equally() -> None:
    both = plan(on(prof(9, CAP, 100)), connectors=(1, 2), sessions={1: S1, 2: Session("s2", T0)})
    assert both.limit(1, T0 + MIN).limit_a == 50 and both.limit(2, T0 + MIN).limit_a == 50
    one = plan(on(prof(9, CAP, 100)), connectors=(1, 2), sessions={1: S1, 2: None})
    assert one.limit(1, T0 + MIN).limit_a == 100
    assert one.limit(2, T0 + MIN).limit_a == 50  # what a session starting there would get


def test_composite_without_profiles_is_the_rating() -> None:
    assert plan().composite(1, T0, 3600) == [CompositePeriod(0, RATED)]


def test_composite_of_a_relative_tx_default_under_a_cap_and_the_station_total() -> None:
    p = plan(on(prof(1, TXD, [(0, 6), (60, 10), (200, 32)], kind=Kind.RELATIVE)), on(prof(9, CAP, 16)),
             session=Session("s1", T0))
    assert p.composite(1, T0 + timedelta(seconds=30), 400) == [
        CompositePeriod(0, 6), CompositePeriod(30, 10), CompositePeriod(170, 16)]
    assert p.composite(0, T0 + timedelta(seconds=30), 400) == p.composite(1, T0 + timedelta(seconds=30), 400)


def test_composite_reflects_the_tx_profile_of_the_session_and_falls_back_when_it_ends() -> None:
    p = plan(on(prof(1, TXD, 16, connector=0)), on(prof(2, TX, 8, duration=120), "s1"))
    assert p.composite(1, T0, 300) == [CompositePeriod(0, 8), CompositePeriod(120, 16)]


def test_install_replaces_by_id_or_by_connector_level_and_purpose_and_counts() -> None:
    a, b = on(prof(1, TXD, 16, connector=0, level=1)), on(prof(2, TXD, 10, connector=1, level=1))
    installed, why = install([a], b, 10)
    assert installed == [a, b] and why is None  # connector 1's own default leaves connector 0's
    same_level = on(prof(3, TXD, 12, connector=1, level=1))
    assert install(installed, same_level, 10) == ([a, same_level], None)
    same_id = on(prof(1, CAP, 50))
    assert install(installed, same_id, 10) == ([b, same_id], None)
    full, why = install(installed, on(prof(4, TXD, 8, level=4)), 2)
    assert full == installed and why is not None and "at most 2" in why


@pytest.mark.parametrize(("criteria", "left"), [
    (Criteria(profile_id=2), [1, 3, 4]),
    (Criteria(profile_id=2, connector_id=0), [1, 3, 4]),  # an id names one profile, whatever else is given
    (Criteria(profile_id=99), [1, 2, 3, 4]),
    (Criteria(connector_id=1), [3]),
    (Criteria(purpose=Purpose.TX_DEFAULT, stack_level=2), [1, 2, 3]),
    (Criteria(connector_id=1, purpose=Purpose.TX), [1, 2, 3, 4]),  # nothing matches: Unknown
    (Criteria(), []),
])
def test_clear(criteria: Criteria, left: list[int]) -> None:
    installed = [on(prof(1, TXD, 16, level=1)), on(prof(2, TXD, 10, level=3)), on(prof(3, CAP, 40)),
                 on(prof(4, TXD, 8, level=2))]
    kept, cleared = clear(installed, criteria)
    assert [i.profile.id for i in kept] == left
    assert sorted(i.profile.id for i in kept + cleared) == [1, 2, 3, 4]


def test_orphans_are_the_tx_profiles_of_sessions_that_ended() -> None:
    mine, old, default = on(prof(1, TX, 8), "s1"), on(prof(2, TX, 8, level=1), "s0"), on(prof(3, TXD, 16))
    assert orphans([mine, old, default], {1: S1}) == [old]
    assert orphans([mine, old, default], {1: None}) == [mine, old]


_LIMITS = st.integers(min_value=0, max_value=64).map(float)
_PERIODS = st.lists(st.tuples(st.integers(1, 600), _LIMITS), max_size=4).map(
    lambda rest: sorted({s: v for s, v in rest}.items()))


@st.composite
def _installed(draw: st.DrawFn) -> list[Installed]:
    out: list[Installed] = []
    for pid in range(1, draw(st.integers(1, 5)) + 1):
        purpose = draw(st.sampled_from([CAP, TXD, TX]))
        kind = Kind.ABSOLUTE if purpose is CAP else draw(st.sampled_from([Kind.ABSOLUTE, Kind.RELATIVE]))
        periods = [(0, draw(_LIMITS)), *draw(_PERIODS)]
        profile = prof(pid, purpose, periods, level=draw(st.integers(0, 3)), kind=kind,
                       start=T0 + timedelta(seconds=draw(st.integers(-300, 300))),
                       duration=draw(st.none() | st.integers(60, 900)))
        out.append(Installed(profile, draw(st.sampled_from(["s1", "old"])) if purpose is TX else None))
    return out


@settings(max_examples=150, deadline=None)
@given(_installed(), st.integers(-120, 600), st.booleans())
def test_the_composite_is_the_limit_in_force_at_every_second_and_never_above_the_cap(
        installed: list[Installed], offset_s: int, charging: bool) -> None:
    p = plan(*installed, session=S1 if charging else None)
    start = T0 + timedelta(seconds=offset_s)
    periods = p.composite(1, start, 900)
    assert periods[0].start_s == 0
    caps = [i.profile for i in installed if i.profile.purpose is CAP]
    for second in range(0, 900, 7):
        t = start + timedelta(seconds=second)
        scheduled = next(period.limit_a for period in reversed(periods) if period.start_s <= second)
        if charging:  # without a session a Relative profile is shown from `start`, the live limit waits for one
            live = p.limit(1, t).limit_a
            assert scheduled == (RATED if live is None else min(live, RATED))
        valid_caps = [(c.stack_level, c.id, limit) for c in caps if (limit := limit_at(c, t, None)) is not None]
        if valid_caps:  # the prevailing cap: the highest stack level (then id) valid at t
            assert scheduled <= max(valid_caps)[2]
    assert p.composite(0, start, 900)[0].start_s == 0

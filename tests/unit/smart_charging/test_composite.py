"""The limit in force, its next change and the composite schedule, against the OCPP 1.6 smart charging rules:
`composite.in_force` for one profile list, `planner.Plan` (as the service asks it) for the next change and the
composite schedule."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.smart_charging.composite import NOTHING, CompositePeriod, InForce, boundaries, in_force
from services.smart_charging.planner import HORIZON_S, RUNNING, Installed, Limit, Plan, Session
from services.smart_charging.profiles import Kind, Limits, Period, Profile, Purpose, Recurrency, Schedule, refusal

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)

CAP = Purpose.CHARGE_POINT_MAX
TXD = Purpose.TX_DEFAULT
TX = Purpose.TX


def prof(pid: int, purpose: Purpose, periods: float | Sequence[tuple[int, float]], *, connector: int | None = None,
         level: int = 0, kind: Kind = Kind.ABSOLUTE, start: datetime | None = T0, duration: int | None = None,
         recurrency: Recurrency | None = None, valid_from: datetime | None = None, valid_to: datetime | None = None
         ) -> Profile:
    """A profile that passes `refusal`; a single number is a one-period schedule."""
    steps = [(0, periods)] if isinstance(periods, float | int) else periods
    if connector is None:
        connector = 0 if purpose is CAP else 1
    if kind is Kind.RELATIVE:
        start = None
    profile = Profile(pid, connector, level, purpose, kind,
                      Schedule(tuple(Period(s, float(limit)) for s, limit in steps), "A", duration, start),
                      recurrency, valid_from, valid_to)
    assert refusal(profile, Limits()) is None
    return profile


def force(limit: float, pid: int, purpose: Purpose) -> InForce:
    return InForce(limit, pid, purpose)


TWO_LEVELS = [(1, 10.0), (2, 16.0)]  # (id, limit): the higher stack level has the lower id and limit
DAILY = prof(1, TXD, [(0, 10), (3600, 20)], kind=Kind.RECURRING, recurrency=Recurrency.DAILY, duration=7200)
WEEKLY = prof(1, TXD, 12, kind=Kind.RECURRING, recurrency=Recurrency.WEEKLY, duration=7200)
RELATIVE = prof(1, TXD, [(0, 10), (1800, 20)], kind=Kind.RELATIVE)


@dataclass(frozen=True)
class Case:
    profiles: list[Profile]
    t: datetime = T0 + HOUR
    connector: int = 1
    tx_start: datetime | None = None
    tx: int | None = None


IN_FORCE: list[tuple[str, Case, InForce]] = [
    # (row, inputs, expected)
    ("no profile at all", Case([]), NOTHING),
    ("higher stack level wins, whatever the id or limit",
     Case([prof(1, TXD, 10, level=3), prof(2, TXD, 16, level=1)]), force(10, 1, TXD)),
    ("an expired higher level falls back to the lower",
     Case([prof(1, TXD, 10, level=3, valid_to=T0 + 30 * MIN), prof(2, TXD, 16, level=1)]), force(16, 2, TXD)),
    ("a higher level whose schedule ended falls back to the lower",
     Case([prof(1, TXD, 10, level=3, duration=1800), prof(2, TXD, 16, level=1)]), force(16, 2, TXD)),
    ("equal level and connector: the higher id wins",
     Case([prof(4, TXD, 10, level=2), prof(3, TXD, 16, level=2)]), force(10, 4, TXD)),
    ("TxProfile beats TxDefaultProfile, even at a lower level and with a higher limit",
     Case([prof(1, TXD, 16, level=5), prof(2, TX, 32)], tx=7), force(32, 2, TX)),
    ("station cap lower than the TxProfile: the cap is named",
     Case([prof(9, CAP, 20), prof(2, TX, 32)], tx=7), force(20, 9, CAP)),
    ("station cap higher than the TxProfile: the TxProfile is named",
     Case([prof(9, CAP, 40), prof(2, TX, 32)], tx=7), force(32, 2, TX)),
    ("station cap lower than the TxDefaultProfile caps it too",
     Case([prof(9, CAP, 10), prof(1, TXD, 16)]), force(10, 9, CAP)),
    ("cap equal to the profile: the profile is named, the cap lowered nothing",
     Case([prof(9, CAP, 16), prof(1, TXD, 16)]), force(16, 1, TXD)),
    ("only the station cap: it is the limit", Case([prof(9, CAP, 50)]), force(50, 9, CAP)),
    ("station caps by stack level too: the higher level wins with its higher limit",
     Case([prof(8, CAP, 20, level=1), prof(9, CAP, 40, level=2)]), force(40, 9, CAP)),
    ("a session profile counts in the session that runs (the planner passes only the running session's)",
     Case([prof(2, TX, 8), prof(1, TXD, 16)], tx=8), force(8, 2, TX)),
    ("a session profile is ignored when no session runs",
     Case([prof(2, TX, 8), prof(1, TXD, 16)]), force(16, 1, TXD)),
    ("connector-specific TxDefault beats connector 0 at equal level (despite the lower id)",
     Case([prof(5, TXD, 16, connector=0, level=2), prof(3, TXD, 10, level=2)]), force(10, 3, TXD)),
    ("connector-0 TxDefault at a higher level beats the connector-specific one",
     Case([prof(5, TXD, 16, connector=0, level=3), prof(3, TXD, 10, level=2)]), force(16, 5, TXD)),
    ("connector-0 TxDefault applies to a connector without its own",
     Case([prof(5, TXD, 16, connector=0)], connector=2), force(16, 5, TXD)),
    ("profiles of another connector never count",
     Case([prof(3, TXD, 10, connector=2), prof(4, TX, 8, connector=2)], tx=7), NOTHING),
    ("Relative counts from the transaction start: first period",
     Case([RELATIVE], t=T0 + HOUR + 10 * MIN, tx_start=T0 + HOUR), force(10, 1, TXD)),
    ("Relative counts from the transaction start: second period",
     Case([RELATIVE], t=T0 + HOUR + 30 * MIN, tx_start=T0 + HOUR), force(20, 1, TXD)),
    ("Relative before the transaction started: not covered",
     Case([RELATIVE], t=T0 + 30 * MIN, tx_start=T0 + HOUR), NOTHING),
    ("Relative without a transaction start: not covered", Case([RELATIVE]), NOTHING),
    ("Absolute with a duration, last second inside",
     Case([prof(1, TXD, 10, duration=3600)], t=T0 + HOUR - timedelta(seconds=1)), force(10, 1, TXD)),
    ("Absolute with a duration, ended at start + duration",
     Case([prof(1, TXD, 10, duration=3600)], t=T0 + HOUR), NOTHING),
    ("Absolute before its start", Case([prof(1, TXD, 10)], t=T0 - timedelta(seconds=1)), NOTHING),
    ("Absolute without duration goes on", Case([prof(1, TXD, 10)], t=T0 + 300 * DAY), force(10, 1, TXD)),
    ("Daily, first day, second period", Case([DAILY], t=T0 + 90 * MIN), force(20, 1, TXD)),
    ("Daily repeats the next day from its first period", Case([DAILY], t=T0 + DAY + 30 * MIN), force(10, 1, TXD)),
    ("Daily, next day, second period", Case([DAILY], t=T0 + DAY + 61 * MIN), force(20, 1, TXD)),
    ("Daily after its duration, the next day", Case([DAILY], t=T0 + DAY + 2 * HOUR), NOTHING),
    ("Daily a month later", Case([DAILY], t=T0 + 30 * DAY + 5 * MIN), force(10, 1, TXD)),
    ("Daily never reaches back before its first occurrence", Case([DAILY], t=T0 - DAY + 30 * MIN), NOTHING),
    ("Weekly, same hour a week later", Case([WEEKLY], t=T0 + 7 * DAY + 30 * MIN), force(12, 1, TXD)),
    ("Weekly does not repeat the next day", Case([WEEKLY], t=T0 + DAY + 30 * MIN), NOTHING),
    ("before valid_from", Case([prof(1, TXD, 10, valid_from=T0 + HOUR)], t=T0 + 59 * MIN), NOTHING),
    ("at valid_from: valid", Case([prof(1, TXD, 10, valid_from=T0 + HOUR)], t=T0 + HOUR), force(10, 1, TXD)),
    ("just before valid_to: valid",
     Case([prof(1, TXD, 10, valid_to=T0 + HOUR)], t=T0 + HOUR - timedelta(microseconds=1)), force(10, 1, TXD)),
    ("at valid_to: no longer valid", Case([prof(1, TXD, 10, valid_to=T0 + HOUR)], t=T0 + HOUR), NOTHING),
    ("connector 0 asks: only the station cap applies",
     Case([prof(9, CAP, 50), prof(1, TXD, 10, connector=0), prof(2, TX, 8)], connector=0, tx=7),
     force(50, 9, CAP)),
    ("connector 0 asks without a station cap: nothing, even with a connector-0 TxDefault",
     Case([prof(1, TXD, 10, connector=0)], connector=0), NOTHING),
]


@pytest.mark.parametrize(("row", "case", "expected"), IN_FORCE, ids=[row[0] for row in IN_FORCE])
def test_in_force(row: str, case: Case, expected: InForce) -> None:
    assert in_force(case.profiles, case.connector, case.t, case.tx_start, case.tx) == expected


THREE = [(0, 10), (600, 20), (1800, 30)]
RATED = 200.0  # the station's rating: what the composite schedule says where no profile counts


def plan_of(profiles: Sequence[Profile], *, session: Session | None = None, rated_a: float = RATED) -> Plan:
    """A one-connector station; `session` runs on it (None: no transaction) and every TxProfile is its own."""
    owner = session.session_id if session is not None else None
    return Plan([1], [Installed(p, owner if p.purpose is TX else None) for p in profiles], {1: session}, rated_a)


# at 5 min the cap drops to the profile's 16 A (a tie names the profile); at 10 min the profile ends
SOURCE_CHANGE = [prof(1, TXD, 16, duration=600), prof(9, CAP, [(0, 32), (300, 16)])]

NEXT_CHANGE: list[tuple[str, list[Profile], datetime, datetime | None]] = [
    # (row, profiles, from, expected next change), no transaction
    ("before the schedule: its start", [prof(1, TXD, THREE)], T0 - HOUR, T0),
    ("first period: the second's start", [prof(1, TXD, THREE)], T0, T0 + 10 * MIN),
    ("inside the first period", [prof(1, TXD, THREE)], T0 + 5 * MIN, T0 + 10 * MIN),
    ("second period: the third's start", [prof(1, TXD, THREE)], T0 + 10 * MIN, T0 + 30 * MIN),
    ("last period of an open-ended schedule: never", [prof(1, TXD, THREE)], T0 + 30 * MIN, None),
    ("last period of a bounded schedule: its end", [prof(1, TXD, THREE, duration=3600)], T0 + 30 * MIN, T0 + HOUR),
    ("a period with the same limit is no change", [prof(1, TXD, [(0, 10), (600, 10), (1200, 20)])], T0,
     T0 + 20 * MIN),
    ("a higher level ending hands over to the lower",
     [prof(1, TXD, 16), prof(2, TXD, 10, level=1, valid_to=T0 + HOUR)], T0, T0 + HOUR),
    ("a change beyond the horizon is not seen", [prof(1, TXD, 10, valid_from=T0 + 8 * DAY)], T0, None),
    ("Daily: from after today's run, tomorrow's start", [DAILY], T0 + 3 * HOUR, T0 + DAY),
]


@pytest.mark.parametrize(("row", "profiles", "t", "expected"), [
    *NEXT_CHANGE,
    # the module's set-point is what changes: the cap taking over at the same 16 A changes none
    ("a change of source at the same limit is no change", SOURCE_CHANGE, T0, None),
], ids=[*(row[0] for row in NEXT_CHANGE), "a change of source at the same limit is no change"])
def test_next_change(row: str, profiles: list[Profile], t: datetime, expected: datetime | None) -> None:
    assert plan_of(profiles).limit(1, t).next_change_at == expected


def test_a_change_of_source_at_the_same_limit_shows_in_the_limit_in_force() -> None:
    the_plan = plan_of(SOURCE_CHANGE)
    named = [(lim.limit_a, lim.profile_id, lim.purpose) for lim in (the_plan.limit(1, t) for t in (
        T0, T0 + 5 * MIN, T0 + 10 * MIN))]
    assert named == [(16, 1, TXD), (16, 1, TXD), (16, 9, CAP)]


def test_next_change_walks_each_period_start_in_turn() -> None:
    the_plan = plan_of([prof(1, TXD, THREE)])
    seen: list[datetime] = []
    moment = the_plan.limit(1, T0 - MIN).next_change_at
    while moment is not None:
        seen.append(moment)
        moment = the_plan.limit(1, moment).next_change_at
    assert seen == [T0, T0 + 10 * MIN, T0 + 30 * MIN]


def test_next_change_of_a_relative_profile_counts_from_the_transaction() -> None:
    tx_start = T0 + 7 * MIN
    assert plan_of([RELATIVE], session=Session("s7", tx_start)).limit(1, tx_start).next_change_at == (
        tx_start + 30 * MIN)


def test_without_a_transaction_a_relative_profile_counts_from_now() -> None:
    """What a transaction starting now would get (the limit offered to the next EV)."""
    now = T0 + 7 * MIN
    assert plan_of([RELATIVE]).limit(1, now).next_change_at == now + 30 * MIN


def P(*steps: tuple[int, float]) -> list[CompositePeriod]:
    return [CompositePeriod(start, limit) for start, limit in steps]


STEPS = [(0, 10), (600, 10), (1200, 20)]  # the second period repeats the first's limit

COMPOSITE: list[tuple[str, list[Profile], datetime, int, datetime | None, list[CompositePeriod]]] = [
    # (row, profiles, start, duration_s, transaction start (None: no transaction), expected at a 200 A rating)
    ("nothing applies: the station maximum throughout", [], T0, 3600, None, P((0, 200))),
    ("equal adjacent periods merged", [prof(1, TXD, STEPS)], T0, 3600, None, P((0, 10), (1200, 20))),
    ("the default before a profile starts; still starts at 0", [prof(1, TXD, STEPS, start=T0 + 10 * MIN)], T0, 3600,
     None, P((0, 200), (600, 10), (1800, 20))),
    ("the default again after the schedule ends", [prof(1, TXD, STEPS, duration=1800)], T0, 3600, None,
     P((0, 10), (1200, 20), (1800, 200))),
    ("starting inside a period", [prof(1, TXD, STEPS)], T0 + 15 * MIN, 3600, None, P((0, 10), (300, 20))),
    ("the station cap shaves the higher period", [prof(1, TXD, STEPS), prof(9, CAP, 15)], T0, 3600, None,
     P((0, 10), (1200, 15))),
    ("Relative without a transaction counts from the start", [RELATIVE], T0 + 5 * HOUR, 3600, None,
     P((0, 10), (1800, 20))),
    ("Relative counts from the transaction start when there is one", [RELATIVE], T0 + 5 * HOUR, 3600,
     T0 + 5 * HOUR - 5 * MIN, P((0, 10), (1500, 20))),
    ("Daily over two days", [DAILY], T0 - HOUR, 2 * 86400, None,
     P((0, 200), (3600, 10), (7200, 20), (10800, 200), (90000, 10), (93600, 20), (97200, 200))),
    ("a window ending before any change", [prof(1, TXD, STEPS)], T0, 1, None, P((0, 10))),
]


@pytest.mark.parametrize(("row", "profiles", "start", "duration_s", "tx_start", "expected"), COMPOSITE,
                         ids=[row[0] for row in COMPOSITE])
def test_composite(row: str, profiles: list[Profile], start: datetime, duration_s: int, tx_start: datetime | None,
                   expected: list[CompositePeriod]) -> None:
    session = None if tx_start is None else Session("s1", tx_start)
    assert plan_of(profiles, session=session).composite(1, start, duration_s) == expected


STATION = [prof(1, TXD, 10, connector=0), prof(9, CAP, [(0, 300), (600, 250)])]


def test_the_station_limit_knows_only_the_cap() -> None:
    the_plan = plan_of(STATION, rated_a=500.0)
    assert the_plan.limit(0, T0) == Limit(0, 300, 9, CAP, T0 + 10 * MIN, 250)
    assert the_plan.limit(0, T0 + 10 * MIN) == Limit(0, 250, 9, CAP)


def test_composite_of_the_station_is_what_its_connectors_may_draw_under_the_cap() -> None:
    assert plan_of(STATION, rated_a=500.0).composite(0, T0, 3600) == P((0, 10))  # connector 1's 10 A default
    assert plan_of([STATION[1]], rated_a=500.0).composite(0, T0, 3600) == P((0, 300), (600, 250))  # rated 500 A


def test_composite_with_changes_inside_one_second() -> None:
    # times with fractions round down to the second; the later change within a second holds from it
    half = timedelta(milliseconds=500)
    profiles = [prof(1, TXD, 10, duration=60), prof(2, TXD, 20, start=T0 + timedelta(seconds=60) + half)]
    assert plan_of(profiles).composite(1, T0, 120) == P((0, 10), (60, 20))


def test_composite_needs_a_duration() -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_of([]).composite(1, T0, 0)


def test_boundaries_hold_every_recurring_occurrence_in_the_window() -> None:
    found = boundaries([DAILY], 1, T0 + HOUR + 30 * MIN, T0 + 2 * DAY, None, None)
    assert found == [T0 + HOUR + 30 * MIN, T0 + 2 * HOUR,  # the start, today's end
                     T0 + DAY, T0 + DAY + HOUR, T0 + DAY + 2 * HOUR]  # tomorrow's start, period, end


# --- properties ------------------------------------------------------------------------------------------

SPAN_S = 3 * 86400  # profile and evaluation times within three days of T0
limits = st.integers(0, 5000).map(lambda tenths: tenths / 10)
moments = st.integers(-SPAN_S, SPAN_S).map(lambda s: T0 + timedelta(seconds=s))
SESSION_IDS = ("s1", "s2")  # a TxProfile belongs to one of them (or, left over, to none)
UNLIMITED = 1000.0  # a rating above every drawn limit: "no limit" stays apart from any limit


@st.composite
def valid_profile(draw: st.DrawFn, pid: int) -> Profile:
    purpose = draw(st.sampled_from(Purpose))
    if purpose is CAP:
        connector, kind = 0, draw(st.sampled_from([Kind.ABSOLUTE, Kind.RECURRING]))
    else:
        connector = 1 if purpose is TX else draw(st.sampled_from([0, 1]))
        kind = draw(st.sampled_from(Kind))
    starts = sorted(draw(st.sets(st.integers(1, 86400), max_size=23)))
    valid_from = draw(st.none() | moments)
    valid_to = draw(st.none() | st.integers(1, 2 * SPAN_S).map(
        lambda s: (valid_from or T0 - timedelta(seconds=SPAN_S)) + timedelta(seconds=s)))
    profile = Profile(
        id=pid,
        connector_id=connector,
        stack_level=draw(st.integers(0, 10)),
        purpose=purpose,
        kind=kind,
        schedule=Schedule(tuple(Period(s, draw(limits)) for s in [0, *starts]), "A",
                          draw(st.none() | st.integers(1, 172800)), None if kind is Kind.RELATIVE else draw(moments)),
        recurrency=draw(st.sampled_from(Recurrency)) if kind is Kind.RECURRING else None,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    assert refusal(profile, Limits()) is None
    return profile


@dataclass(frozen=True)
class Scenario:
    installed: list[Installed]
    connector: int  # 1, or 0: the station total
    start: datetime
    duration_s: int
    session: Session | None  # the one on connector 1
    rated_a: float

    @property
    def origin(self) -> datetime:
        """Where Relative schedules count from, seen from `start`: the session's start, else `start`."""
        return self.start if self.session is None else self.session.started_at

    def plan(self, rated_a: float | None = None) -> Plan:
        return Plan([1], self.installed, {1: self.session}, self.rated_a if rated_a is None else rated_a)

    def seen_from_start(self) -> Plan:
        """The plan whose limit at any t is connector 1's as the composite from `start` sees it: without a
        session, a session starting at `start` that owns no TxProfile (Relative schedules count from there)."""
        session = self.session or Session("starting now", self.start)
        return Plan([1], self.installed, {1: session}, self.rated_a)

    def edges(self, end: datetime) -> list[datetime]:
        """Every instant in [start, end) where any profile may start, stop or change period."""
        anyone = [i.profile for i in self.installed]
        return boundaries(anyone, 1, self.start, end, self.origin, RUNNING)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    count = draw(st.integers(0, 6))
    profiles = [draw(valid_profile(pid)) for pid in range(1, count + 1)]
    return Scenario(
        installed=[Installed(p, draw(st.sampled_from([None, *SESSION_IDS])) if p.purpose is TX else None)
                   for p in profiles],
        connector=draw(st.sampled_from([0, 1])),
        start=draw(moments),
        duration_s=draw(st.integers(1, 172800)),
        session=draw(st.none() | st.builds(Session, st.sampled_from(SESSION_IDS), moments)),
        rated_a=draw(limits),
    )


def reference_limit(profile: Profile, t: datetime, tx_start: datetime) -> float | None:
    """Rules 1-3 spelled out the slow way: recurring occurrences walked one by one."""
    if (profile.valid_from is not None and t < profile.valid_from) or (
            profile.valid_to is not None and t >= profile.valid_to):
        return None
    run = tx_start if profile.kind is Kind.RELATIVE else profile.schedule.start
    if run is None or t < run:
        return None
    if profile.recurrency is not None:
        step = DAY if profile.recurrency is Recurrency.DAILY else 7 * DAY
        while run + step <= t:
            run += step
    elapsed = (t - run).total_seconds()
    if profile.schedule.duration_s is not None and elapsed >= profile.schedule.duration_s:
        return None
    started = [period.limit for period in profile.schedule.periods if period.start_s <= elapsed]
    return started[-1] if started else None


def reference_prevailing(scenario: Scenario, purpose: Purpose, t: datetime) -> float | None:
    """The prevailing profile's limit for one purpose on connector 1 (rules 4, 5, 7), by sorting the candidates;
    a TxProfile counts in its own session only."""
    candidates = []
    for installed in scenario.installed:
        profile = installed.profile
        if profile.purpose is not purpose:
            continue
        if purpose is not CAP and profile.connector_id not in (0, 1):
            continue
        if purpose is TX and (scenario.session is None or installed.session_id != scenario.session.session_id):
            continue
        limit = reference_limit(profile, t, scenario.origin)
        if limit is not None:
            candidates.append((profile.stack_level, profile.connector_id == 1, profile.id, limit))
    return sorted(candidates)[-1][3] if candidates else None


def limit_at_offset(periods: list[CompositePeriod], offset: int) -> float:
    return [period.limit_a for period in periods if period.start_s <= offset][-1]


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_composite_agrees_with_the_limit_in_force_at_every_second(scenario: Scenario, rng: random.Random) -> None:
    plan, rated = scenario.plan(), scenario.rated_a
    periods = plan.composite(scenario.connector, scenario.start, scenario.duration_s)
    edges = [(moment - scenario.start) // SECOND for moment in scenario.edges(
        scenario.start + timedelta(seconds=scenario.duration_s))]
    offsets = {rng.randrange(scenario.duration_s) for _ in range(200)}
    offsets.update(edges)  # every period start, recurrence and validity edge in the window
    offsets.update(edge - 1 for edge in edges if edge > 0)  # and the last second before it
    seen = scenario.seen_from_start()
    for offset in sorted(offsets):
        t = scenario.start + timedelta(seconds=offset)
        got = limit_at_offset(periods, offset)
        now = seen.limit(1, t).limit_a
        drawn = rated if now is None else min(now, rated)
        if scenario.connector == 0:  # the station total: the connector's draw under the station cap
            station = plan.limit(0, t).limit_a
            assert got == (drawn if station is None else min(drawn, station)), offset
        else:
            assert got == drawn, offset
        cap = reference_prevailing(scenario, CAP, t)
        own = reference_prevailing(scenario, TX, t)
        if own is None:
            own = reference_prevailing(scenario, TXD, t)
        if cap is not None:
            assert got <= cap, offset
        if own is not None:
            assert got <= own, offset
        applying = [limit for limit in (own, cap) if limit is not None]
        assert got == min([*applying, rated]), offset


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_composite_is_minimal_and_starts_at_0(scenario: Scenario) -> None:
    periods = scenario.plan().composite(scenario.connector, scenario.start, scenario.duration_s)
    assert periods[0].start_s == 0
    assert all(before.start_s < after.start_s for before, after in pairwise(periods))
    assert all(before.limit_a != after.limit_a for before, after in pairwise(periods))
    assert periods[-1].start_s < scenario.duration_s


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_nothing_changes_before_next_change(scenario: Scenario) -> None:
    plan, start = scenario.plan(), scenario.start
    now = plan.limit(scenario.connector, start)
    change = now.next_change_at
    end = start + timedelta(seconds=HORIZON_S)
    if change is not None:
        assert start < change < end
    if scenario.connector == 0:  # the station cap
        if change is not None:
            assert plan.limit(0, change).limit_a == now.next_limit_a != now.limit_a
        # every instant where anything could change, up to the change (or the window), keeps the value at start
        for moment in scenario.edges(min(change or end, start + timedelta(seconds=scenario.duration_s))):
            assert plan.limit(0, moment).limit_a == now.limit_a
        return
    # the connector: the composite from `start` counts Relative schedules from where `limit` did at `start`
    periods = [(p.start_s, None if p.limit_a == UNLIMITED else p.limit_a)
               for p in scenario.plan(rated_a=UNLIMITED).composite(1, start, HORIZON_S)]
    assert periods[0] == (0, now.limit_a)  # held up to the next period's start: nothing changes before
    if change is None:
        assert len(periods) == 1
    else:
        assert periods[1] == ((change - start) // SECOND, now.next_limit_a) and now.next_limit_a != now.limit_a
        assert scenario.seen_from_start().limit(1, change).limit_a == now.next_limit_a

"""Which limit is in force and where it may change, for one profile list.

The pieces `planner.Plan` builds the limit in force, its next change and the composite schedule from.
Pure functions over installed profiles, i.e. profiles `profiles.refusal` accepted: amperes only, periods
starting at 0 in increasing order. Every instant comes in as an argument; nothing here reads a clock.

The rules, in short: a profile counts at t when it is valid at t and its schedule covers t; per purpose the
highest stack level prevails (then the connector-specific one, then the higher id); a session profile beats
the session default, and the station's station_max profile caps whichever of them applies.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.smart_charging.profiles import Kind, Profile, Purpose, Recurrency, Schedule

_STEP = {Recurrency.DAILY: timedelta(days=1), Recurrency.WEEKLY: timedelta(days=7)}
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class InForce:
    """The limit in force and the profile that sets it (the station cap's when the cap is the lower one)."""

    limit_a: float | None
    profile_id: int | None
    purpose: Purpose | None


NOTHING = InForce(None, None, None)


@dataclass(frozen=True)
class CompositePeriod:
    start_s: int  # from the start of the composite schedule
    limit_a: float


def schedule_start(profile: Profile, t: datetime, tx_start: datetime | None) -> datetime | None:
    """The start of the schedule run t falls in, or None when the schedule has not started by t.

    A Relative schedule counts from `tx_start`; a Recurring one from its latest occurrence at or before t,
    so a schedule never reaches back before its own `start`.
    """
    origin = tx_start if profile.kind is Kind.RELATIVE else profile.schedule.start
    if origin is None or t < origin:
        return None
    if profile.kind is not Kind.RECURRING:
        return origin
    if profile.recurrency is None:  # refused on arrival; no period to guess
        return None
    step = _STEP[profile.recurrency]
    return origin + (t - origin) // step * step


def limit_at(profile: Profile, t: datetime, tx_start: datetime | None) -> float | None:
    """The profile's own limit at t, or None when it is not valid at t or its schedule does not cover t."""
    if profile.valid_from is not None and t < profile.valid_from:
        return None
    if profile.valid_to is not None and t >= profile.valid_to:
        return None
    start = schedule_start(profile, t, tx_start)
    if start is None:
        return None
    # integer microseconds: exact comparisons, whatever fractions of a second the times carry
    elapsed_us = (t - start) // _US
    duration_s = profile.schedule.duration_s
    if duration_s is not None and elapsed_us >= duration_s * 1_000_000:
        return None
    periods = profile.schedule.periods
    index = bisect_right(periods, elapsed_us, key=lambda period: period.start_s * 1_000_000)
    return periods[index - 1].limit if index else None


def in_force(profiles: Sequence[Profile], connector_id: int, t: datetime, tx_start: datetime | None,
             transaction_id: int | None) -> InForce:
    """The limit in force for `connector_id` (0: the station total) at t, and which profile sets it."""
    relevant = [p for p in profiles if _counts(p, connector_id, transaction_id)]
    cap = _prevailing(relevant, Purpose.CHARGE_POINT_MAX, connector_id, t, tx_start)
    own = (_prevailing(relevant, Purpose.TX, connector_id, t, tx_start)
           or _prevailing(relevant, Purpose.TX_DEFAULT, connector_id, t, tx_start))
    # on a tie the connector's own profile is named: the cap did not lower anything
    chosen = own if cap is None or (own is not None and own[1] <= cap[1]) else cap
    if chosen is None:
        return NOTHING
    profile, limit = chosen
    return InForce(limit, profile.id, profile.purpose)


def boundaries(profiles: Sequence[Profile], connector_id: int, start: datetime, end: datetime,
               tx_start: datetime | None, transaction_id: int | None) -> list[datetime]:
    """Every instant in [start, end) where the limit in force may change, `start` included; sorted, unique.

    Between two consecutive boundaries every relevant profile keeps its validity, its coverage and its
    period, so `in_force` at a boundary holds until the next one.
    """
    found = {start}
    for profile in profiles:
        if _counts(profile, connector_id, transaction_id):
            found.update(_edges(profile, start, end, tx_start))
    return sorted(moment for moment in found if start <= moment < end)


def _counts(profile: Profile, connector_id: int, transaction_id: int | None) -> bool:
    """Whether the profile can govern this connector at all, whatever the time."""
    if profile.purpose is Purpose.CHARGE_POINT_MAX:
        return profile.connector_id == 0
    if connector_id == 0 or profile.connector_id not in (0, connector_id):
        return False  # the station total only knows the station cap; other connectors' profiles are theirs
    if profile.purpose is Purpose.TX:
        # a session profile counts while its session runs (the planner passes only the running session's)
        return transaction_id is not None
    return True


def _prevailing(profiles: Sequence[Profile], purpose: Purpose, connector_id: int, t: datetime,
                tx_start: datetime | None) -> tuple[Profile, float] | None:
    best: tuple[Profile, float] | None = None
    best_rank: tuple[int, bool, int] | None = None
    for profile in profiles:
        if profile.purpose is not purpose:
            continue
        limit = limit_at(profile, t, tx_start)
        if limit is None:
            continue
        rank = (profile.stack_level, profile.connector_id == connector_id, profile.id)
        if best_rank is None or rank > best_rank:
            best, best_rank = (profile, limit), rank
    return best


def _edges(profile: Profile, start: datetime, end: datetime, tx_start: datetime | None) -> Iterator[datetime]:
    """Where this profile may start or stop counting or change period (some may fall outside the window)."""
    yield from (moment for moment in (profile.valid_from, profile.valid_to) if moment is not None)
    for run in _runs(profile, start, end, tx_start):
        yield from _run_edges(profile.schedule, run)


def _runs(profile: Profile, start: datetime, end: datetime, tx_start: datetime | None) -> Iterator[datetime]:
    """The schedule runs that may count in [start, end): one, or for a Recurring profile each occurrence."""
    origin = tx_start if profile.kind is Kind.RELATIVE else profile.schedule.start
    if origin is None:
        return
    if profile.kind is not Kind.RECURRING:
        yield origin
        return
    if profile.recurrency is None:
        return
    step = _STEP[profile.recurrency]
    # from the occurrence in force at `start`: an older one is superseded by then, whatever its duration
    run = origin + max(0, (start - origin) // step) * step
    while run < end:
        yield run
        run += step


def _run_edges(schedule: Schedule, run: datetime) -> Iterator[datetime]:
    yield run
    if schedule.duration_s is not None:
        yield run + timedelta(seconds=schedule.duration_s)
    for period in schedule.periods:
        yield run + timedelta(seconds=period.start_s)


def append_period(periods: list[CompositePeriod], start_s: int, limit_a: float) -> None:
    """Add a period to a schedule being built in time order, merged with the last one when the limit is the same."""
    if periods and periods[-1].start_s == start_s:
        # two changes within one second (times with fractions): the later one holds from that second on
        periods.pop()
    if not periods or periods[-1].limit_a != limit_a:
        periods.append(CompositePeriod(start_s, limit_a))

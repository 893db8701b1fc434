"""The limit in force on each connector and on the station, from the installed profiles and the sessions.

Pure: every instant comes in as an argument. `composite.py` says which profile prevails at an instant;
this module adds what the station knows beyond one profile list:

- a session profile belongs to one session of its connector (the one running when it was set, or the one a
  remote start began with it): it counts for that session only and goes when it ends;
- the station_max profile is the station's total: each connector with a session gets an equal share
  of it (the whole of it on a one-connector station), and its own profiles' limit under that;
- a connector with no profile in force has no limit of ours (None): the module's rating applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import composite
from .composite import CompositePeriod
from .profiles import Profile, Purpose

HORIZON_S = 7 * 86400  # how far ahead the next change is looked for (a weekly recurrence repeats after that)
RUNNING = 0  # stands for "a transaction runs" in composite's API, once only the session's own TxProfiles are left


@dataclass(frozen=True)
class Installed:
    profile: Profile
    session_id: str | None = None  # a session profile's session


@dataclass(frozen=True)
class Session:
    session_id: str
    started_at: datetime


@dataclass(frozen=True)
class Limit:
    """What a connector (0: the station) may draw now, who says so, and what changes next."""

    connector_id: int
    limit_a: float | None
    profile_id: int | None
    purpose: Purpose | None
    next_change_at: datetime | None = None
    next_limit_a: float | None = None


@dataclass(frozen=True)
class Criteria:
    """Which profiles to clear: by id, else every profile matching all the criteria given (none given: all)."""

    profile_id: int | None = None
    connector_id: int | None = None
    purpose: Purpose | None = None
    stack_level: int | None = None

    def matches(self, profile: Profile) -> bool:
        if self.profile_id is not None:
            return profile.id == self.profile_id
        return ((self.connector_id is None or profile.connector_id == self.connector_id)
                and (self.purpose is None or profile.purpose is self.purpose)
                and (self.stack_level is None or profile.stack_level == self.stack_level))


def install(installed: Sequence[Installed], new: Installed, max_installed: int) -> tuple[list[Installed], str | None]:
    """The profiles after a new one is installed, or the old ones and why not (max_installed_limits).

    A profile with the same id, or the same connector, stack level and purpose, is replaced (OCPP 1.6 §3.13.2,
    §5.16.3): a session default for connector 1 leaves the one for connector 0 to the other connectors.
    """
    p = new.profile
    kept = [i for i in installed
            if not (i.profile.id == p.id or (i.profile.connector_id == p.connector_id
                                              and i.profile.stack_level == p.stack_level
                                              and i.profile.purpose is p.purpose))]
    if len(kept) >= max_installed:
        return list(installed), f"{len(kept)} profiles installed, at most {max_installed}"
    return [*kept, new], None


def clear(installed: Sequence[Installed], criteria: Criteria) -> tuple[list[Installed], list[Installed]]:
    """(kept, cleared)."""
    cleared = [i for i in installed if criteria.matches(i.profile)]
    return [i for i in installed if i not in cleared], cleared


def orphans(installed: Sequence[Installed], sessions: Mapping[int, Session | None]) -> list[Installed]:
    """TxProfiles whose session is no longer the one on their connector: the transaction ended."""
    def current(connector: int) -> str | None:
        session = sessions.get(connector)
        return session.session_id if session is not None else None
    return [i for i in installed
            if i.profile.purpose is Purpose.TX and i.session_id != current(i.profile.connector_id)]


class Plan:
    """The installed profiles and the sessions, seen from each connector."""

    def __init__(self, connectors: Sequence[int], installed: Sequence[Installed],
                 sessions: Mapping[int, Session | None], rated_a: float) -> None:
        self.connectors = tuple(connectors)
        self.installed = tuple(installed)
        self.sessions = dict(sessions)
        self.rated_a = rated_a
        self._active = sum(1 for c in self.connectors if self.sessions.get(c) is not None)

    # -- the limit in force ----------------------------------------------------------------------

    def limit(self, connector: int, now: datetime) -> Limit:
        """The limit in force now and its next change; connector 0: the station cap."""
        at = self._evaluator(connector, self._origin(connector, now))
        value = at(now)
        nxt = next(((moment, later) for moment in self._moments(connector, now, now + timedelta(seconds=HORIZON_S),
                                                                 self._origin(connector, now))
                    if moment > now and (later := at(moment))[0] != value[0]), None)
        return Limit(connector, value[0], value[1], value[2],
                     nxt[0] if nxt else None, nxt[1][0] if nxt else None)

    def composite(self, connector: int, start: datetime, duration_s: int) -> list[CompositePeriod]:
        """The schedule from `start` for `duration_s` s, as few periods as describe it (rated where no
        profile counts); connector 0: what the whole station may draw from the grid."""
        if duration_s <= 0:
            raise ValueError(f"composite schedule duration must be positive, got {duration_s}")
        end = start + timedelta(seconds=duration_s)
        if connector == 0:
            origins = {c: self._origin(c, start) for c in self.connectors}
            evaluators = {c: self._evaluator(c, origins[c]) for c in self.connectors}
            cap = self._evaluator(0, start)
            moments = sorted({m for c in self.connectors for m in self._moments(c, start, end, origins[c])}
                             | set(self._moments(0, start, end, start)))

            def total(t: datetime) -> float:
                drawn = sum(self._or_rated(evaluators[c](t)[0]) for c in self.connectors)
                limit = cap(t)[0]
                return drawn if limit is None else min(drawn, limit)
            return _schedule(moments, start, total)
        origin = self._origin(connector, start)
        at = self._evaluator(connector, origin)
        return _schedule(self._moments(connector, start, end, origin), start, lambda t: self._or_rated(at(t)[0]))

    # -- inside ------------------------------------------------------------------------------------

    def _or_rated(self, limit: float | None) -> float:
        return self.rated_a if limit is None else min(limit, self.rated_a)

    def _origin(self, connector: int, now: datetime) -> datetime:
        """Where Relative schedules count from: the session's start, or `now` for the one a session would get."""
        session = self.sessions.get(connector)
        return session.started_at if session is not None else now

    def _own(self, connector: int) -> list[Profile]:
        """The connector's TxDefaultProfiles and its session's TxProfiles (as the running transaction's)."""
        session = self.sessions.get(connector)
        own = []
        for i in self.installed:
            p = i.profile
            if p.purpose is Purpose.CHARGE_POINT_MAX:
                continue
            if p.purpose is Purpose.TX and (session is None or p.connector_id != connector
                                            or i.session_id != session.session_id):
                continue
            own.append(p)
        return own

    def _caps(self) -> list[Profile]:
        return [i.profile for i in self.installed if i.profile.purpose is Purpose.CHARGE_POINT_MAX]

    def _running(self, connector: int) -> int | None:
        return RUNNING if connector != 0 and self.sessions.get(connector) is not None else None

    def _evaluator(self, connector: int, origin: datetime
                   ) -> Callable[[datetime], tuple[float | None, int | None, Purpose | None]]:
        caps = self._caps()
        if connector == 0:
            def station(t: datetime) -> tuple[float | None, int | None, Purpose | None]:
                found = composite.in_force(caps, 0, t, None, None)
                return found.limit_a, found.profile_id, found.purpose
            return station
        own, running = self._own(connector), self._running(connector)
        # a connector without a session draws nothing: it would get an equal share like any other
        share = self._active + (0 if self.sessions.get(connector) is not None else 1)

        def at(t: datetime) -> tuple[float | None, int | None, Purpose | None]:
            mine = composite.in_force(own, connector, t, origin, running)
            cap = composite.in_force(caps, 0, t, None, None)
            cap_share = None if cap.limit_a is None else cap.limit_a / share
            if cap_share is not None and (mine.limit_a is None or cap_share < mine.limit_a):
                return round(cap_share, 1), cap.profile_id, cap.purpose
            return mine.limit_a, mine.profile_id, mine.purpose
        return at

    def _moments(self, connector: int, start: datetime, end: datetime, origin: datetime) -> list[datetime]:
        moments = set(composite.boundaries(self._caps(), 0, start, end, None, None))
        if connector != 0:
            moments.update(composite.boundaries(self._own(connector), connector, start, end, origin,
                                                self._running(connector)))
        return sorted(moments)


def _schedule(moments: Iterable[datetime], start: datetime, value: Callable[[datetime], float]
              ) -> list[CompositePeriod]:
    periods: list[CompositePeriod] = []
    for moment in moments:
        composite.append_period(periods, (moment - start) // timedelta(seconds=1), value(moment))
    return periods

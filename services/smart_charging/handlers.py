"""smart_charging's commands and inputs: profiles in, the limit in force out.

The profiles and the sessions live here; `planner.py` computes from them. Every change (a profile set
or cleared, a session starting or ending) publishes the new limits before the command is answered, so
the CSMS is never told a profile is set before the limit is on the bus.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode, smart_charging
from services.common.contract.base import Empty
from services.common.contract.hardware import CONNECTORS, RATED_CURRENT_A
from services.common.contract.ocpp_gateway import TransactionState
from services.common.contract.smart_charging import (
    BeginSessionRequest,
    ChargingLimit,
    ClearProfilesReply,
    ClearProfilesRequest,
    CompositeReply,
    CompositeRequest,
    InstalledProfile,
    InstalledProfiles,
    LimitPeriod,
    LimitProfile,
    SetProfileReply,
    SetProfileRequest,
)
from services.common.contract.station_settings import Setting
from services.common.settings_view import SettingsView

from . import planner
from .planner import Criteria, Installed, Limit, Plan, Session
from .profiles import Limits, Profile, Purpose, from_contract, from_tx_start, refusal, to_contract
from .store import ProfileStore

log = logging.getLogger(__name__)

READS = (Setting.MAX_STACK_LEVEL, Setting.MAX_SCHEDULE_PERIODS, Setting.MAX_INSTALLED_LIMITS, Setting.SCHEDULE_UNITS,
         Setting.UNDATED_ABSOLUTE_FROM_SESSION_START)


class Charging:
    def __init__(self, bus: Bus, store: ProfileStore, config: SettingsView, installed: list[Installed]) -> None:
        self.bus = bus
        self.store = store
        self.config = config
        self.installed = installed
        self.sessions: dict[int, Session | None] = {c: None for c in CONNECTORS}
        self.known: set[int] = set()  # connectors whose session the gateway has told us
        self.ready = False  # limits are published once every connector's session is known (or after a grace)
        self.published: dict[int, ChargingLimit] = {}
        self.changed = asyncio.Event()  # wakes the loop that follows the schedule

    # -- the limit in force ------------------------------------------------------------------------

    def plan(self) -> Plan:
        return Plan(CONNECTORS, self.installed, self.sessions, RATED_CURRENT_A)

    def publish_limits(self, now: datetime, force: bool = False) -> list[Limit]:
        """Publish each limit that changed (all with `force`); returns them all, for the next wake-up."""
        plan = self.plan()
        limits = [plan.limit(c, now) for c in (0, *CONNECTORS)]
        if not self.ready:
            return limits
        for limit in limits:
            message = ChargingLimit(connector_id=limit.connector_id, limit_a=limit.limit_a,
                                    profile_id=limit.profile_id,
                                    purpose=limit.purpose.value if limit.purpose else None,
                                    next_change_at=limit.next_change_at, next_limit_a=limit.next_limit_a)
            previous = self.published.get(limit.connector_id)
            if force or previous != message:
                if previous is None or previous.limit_a != message.limit_a:
                    log.info("limit connector=%d limit_a=%s profile=%s purpose=%s next=%s", limit.connector_id,
                             limit.limit_a, limit.profile_id, message.purpose,
                             limit.next_change_at.isoformat() if limit.next_change_at else None)
                self.published[limit.connector_id] = message
                self.bus.publish(smart_charging.LIMIT, message, connector_id=limit.connector_id)
        return limits

    def become_ready(self, why: str) -> None:
        if not self.ready:
            self.ready = True
            log.info("limits published from now on (%s)", why)
            self.publish_limits(datetime.now(UTC), force=True)
            self.changed.set()

    def republish(self) -> None:
        """After every (re)connection: the retained limits are ours, not what a broker restored."""
        if self.ready:
            self.publish_limits(datetime.now(UTC), force=True)

    def _changed(self) -> None:
        self.publish_limits(datetime.now(UTC))
        self.changed.set()

    # -- sessions ----------------------------------------------------------------------------------

    def _told(self, connector: int, session: Session | None) -> None:
        """What the gateway, which owns sessions, says runs on `connector`, from whichever of its messages comes
        first: its retained transaction state, or the session a command of it carries. Two commands carry it
        because they cannot wait for the state: `begin_session` is the handshake that puts the limit in force
        before power energizes, and a session profile may arrive before a restarted smart_charging has read the
        state. All three say the same of the same session; this is the one place that records it."""
        known = self.sessions.get(connector)
        if session is None or known is None or known.session_id != session.session_id:
            self.sessions[connector] = session
        self.known.add(connector)
        self._forget_ended()
        if self.known >= set(CONNECTORS):
            self.become_ready("every connector's session is known")

    async def on_transaction(self, state: TransactionState | None, _p: dict[str, str]) -> None:
        if state is None or state.connector_id not in self.sessions:
            return
        self._told(state.connector_id, Session(state.session_id, state.started_at or datetime.now(UTC))
                   if state.open and state.session_id is not None else None)
        self._changed()

    async def on_begin_session(self, request: BeginSessionRequest, _p: dict[str, str]) -> ChargingLimit:
        connector = request.connector_id
        if connector not in self.sessions:
            raise BusError(ErrorCode.BAD_REQUEST, f"no connector {connector}")
        self._told(connector, Session(request.session.session_id, request.session.started_at))
        if request.profile is not None:
            profile = self._readable(connector, request.profile)
            why = self._refusal(profile, tx_profile_session=True) or self._install(
                Installed(profile, request.session.session_id))
            if why is not None:
                raise BusError(ErrorCode.BAD_REQUEST, f"the remote start's profile cannot be applied: {why}")
        self._changed()
        log.info("session=%s begins connector=%d limit_a=%s", request.session.session_id, connector,
                 self.published.get(connector, ChargingLimit(connector_id=connector)).limit_a)
        limit = self.plan().limit(connector, datetime.now(UTC))
        return ChargingLimit(connector_id=connector, limit_a=limit.limit_a, profile_id=limit.profile_id,
                             purpose=limit.purpose.value if limit.purpose else None,
                             next_change_at=limit.next_change_at, next_limit_a=limit.next_limit_a)

    def _forget_ended(self) -> None:
        """Drop the TxProfiles of sessions that ended, on connectors whose session we know (OCPP 1.6 §3.13.1)."""
        ended = [i for i in planner.orphans(self.installed, self.sessions) if i.profile.connector_id in self.known]
        if ended:
            self.store.replace(ended, [])
            self.installed = [i for i in self.installed if i not in ended]
            log.info("TxProfiles of ended sessions removed: %s", [i.profile.id for i in ended])

    # -- profiles ----------------------------------------------------------------------------------

    def limits(self) -> Limits:
        return Limits(max_stack_level=self.config.number(Setting.MAX_STACK_LEVEL),
                      max_periods=self.config.number(Setting.MAX_SCHEDULE_PERIODS),
                      units=frozenset(self.config.names(Setting.SCHEDULE_UNITS)))

    def _readable(self, connector: int, profile: LimitProfile) -> Profile:
        readable = from_contract(connector, profile)
        if self.config.flag(Setting.UNDATED_ABSOLUTE_FROM_SESSION_START):
            return from_tx_start(readable)
        return readable

    def _refusal(self, profile: Profile, tx_profile_session: bool) -> str | None:
        if profile.connector_id not in (0, *CONNECTORS):
            return f"no connector {profile.connector_id}"
        if profile.purpose is Purpose.TX and not tx_profile_session:
            return "a session profile needs a session running on its connector"
        return refusal(profile, self.limits())

    def _max_installed(self) -> int:
        return self.config.number(Setting.MAX_INSTALLED_LIMITS)

    def _install(self, new: Installed) -> str | None:
        installed, why = planner.install(self.installed, new, self._max_installed())
        if why is not None:
            return why
        removed = [i for i in self.installed if i not in installed]
        self.store.replace(removed, [new])
        self.installed = installed
        log.info("profile installed id=%d connector=%d purpose=%s stack_level=%d session=%s replaced=%s",
                 new.profile.id, new.profile.connector_id, new.profile.purpose, new.profile.stack_level,
                 new.session_id, [i.profile.id for i in removed])
        return None

    async def on_set_profile(self, request: SetProfileRequest, _p: dict[str, str]) -> SetProfileReply:
        profile = self._readable(request.connector_id, request.profile)
        # a remote start's session profile is checked before its session exists
        why = self._refusal(profile, tx_profile_session=request.session is not None or request.check_only)
        if why is not None:
            return self._rejected(request, why)
        if request.check_only:  # a remote start's profile: would it fit among those installed?
            why = planner.install(self.installed, Installed(profile, None), self._max_installed())[1]
            return self._rejected(request, why) if why is not None else SetProfileReply(status="accepted")
        session_id = None
        if profile.purpose is Purpose.TX and request.session is not None:
            session_id = request.session.session_id
            self._told(profile.connector_id, Session(session_id, request.session.started_at))
        why = self._install(Installed(profile, session_id))
        if why is not None:
            return self._rejected(request, why)
        self._changed()
        return SetProfileReply(status="accepted")

    @staticmethod
    def _rejected(request: SetProfileRequest, why: str) -> SetProfileReply:
        log.warning("profile id=%d connector=%d rejected: %s", request.profile.id, request.connector_id, why)
        return SetProfileReply(status="rejected", reason=why)

    async def on_clear(self, request: ClearProfilesRequest, _p: dict[str, str]) -> ClearProfilesReply:
        criteria = Criteria(request.profile_id, request.connector_id,
                            Purpose(request.purpose) if request.purpose else None, request.stack_level)
        kept, cleared = planner.clear(self.installed, criteria)
        if cleared:
            self.store.replace(cleared, [])
            self.installed = kept
            log.info("profiles cleared %s (%s)", [i.profile.id for i in cleared], request.model_dump_json())
            self._changed()
        return ClearProfilesReply(cleared=[i.profile.id for i in cleared])

    async def on_get_composite(self, request: CompositeRequest, _p: dict[str, str]) -> CompositeReply:
        if request.connector_id not in (0, *CONNECTORS):
            raise BusError(ErrorCode.BAD_REQUEST, f"no connector {request.connector_id}")
        start = datetime.now(UTC).replace(microsecond=0)
        periods = self.plan().composite(request.connector_id, start, request.duration_s)
        return CompositeReply(connector_id=request.connector_id, schedule_start=start, duration_s=request.duration_s,
                              periods=[LimitPeriod(start_s=p.start_s, limit=p.limit_a) for p in periods])

    async def on_list(self, _request: Empty, _p: dict[str, str]) -> InstalledProfiles:
        return InstalledProfiles(profiles=[
            InstalledProfile(connector_id=i.profile.connector_id, session_id=i.session_id,
                             profile=to_contract(i.profile))
            for i in sorted(self.installed, key=lambda i: i.profile.id)])

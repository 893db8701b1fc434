"""The transaction engine: feeds bus events to the session state machine and carries out its actions.

`sessions.py` decides; this module does: asks auth, tells power, reads the meter, writes SQLite,
queues the CSMS messages (sent by `outbox.py`) and publishes the transaction state. Every action
runs as a task of the gateway's task group; the actions of one connector run one after the other.

Safety order of a start: the session is written (phase `starting`) before power is asked to
energize for it, so power and a restarted gateway can always tell a real session from a stray
output; an energize that timed out is answered by a de-energize (its outcome is unknown), and a
session that cannot be recorded after energizing is de-energized at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from services.common import failpoints
from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode, metering, ocpp_gateway, power
from services.common.contract.auth import TokenInfo
from services.common.contract.hardware import CONNECTORS, Condition
from services.common.contract.metering import (
    Cause,
    EnergyRegister,
    Measurand,
    MeterValue,
    MeterValuesTaken,
    SessionData,
)
from services.common.contract.ocpp_gateway import SessionView, TokenInfoSeen, TransactionStopped
from services.common.contract.power import (
    ConnectorRequest,
    ConnectorState,
    EnergizeRequest,
    RfidSwiped,
    SuspendRequest,
)
from services.common.contract.smart_charging import ChargingLimit, LimitProfile, SessionRef

from . import published
from .connector_status import Owned, usable, work_out
from .messages import OCPP16, energy_wh
from .outbox import OutboxSender
from .peers import Peers
from .ports import ConfigReader, CsmsCallError, CsmsLink, CsmsUnavailable
from .sessions import (
    Action,
    Authorize,
    Booking,
    Budget,
    ConnectorInput,
    Phase,
    Prepare,
    Reason,
    Reserve,
    ReserveStatus,
    Running,
    Sessions,
    Start,
    Stop,
    Suspend,
    Unreserve,
)
from .tx_messages import RemoteStart, StartFacts, StopFacts, TxMessages
from .tx_store import STARTING, StoredReservation, Tx, TxStore

log = logging.getLogger(__name__)

RECOVER_WAIT_S = 10.0  # power restarting with us answers within a few seconds; silence after this = power loss
ENERGIZE_TIMEOUT_S = 3.0
TICK_S = 0.2
RESTART_REASON = "restart_reason"  # gateway_state key: why the station restarts (a Reset, not a power loss)


def _now() -> datetime:
    return datetime.now(UTC)


def connector_input(state: ConnectorState, owned: Owned) -> ConnectorInput:
    faulted = state.fault is not None and state.fault != Condition.MODULE_STARTING
    return ConnectorInput(plugged=state.plugged, usable=usable(work_out(state, owned)), faulted=faulted,
                          emergency_stop=state.fault == Condition.EMERGENCY_STOP)


class TransactionEngine:
    """Implements ports.Transactions."""

    def __init__(self, bus: Bus, store: TxStore, config: ConfigReader, link: CsmsLink,
                 messages: TxMessages = OCPP16) -> None:
        self.bus = bus
        self.store = store
        self.config = config
        self.link = link
        self.messages = messages
        self.sessions = Sessions(CONNECTORS, lambda: messages.rules(config), messages.group)
        self.sender = OutboxSender(store, link, config, messages, on_start_confirmed=self._start_confirmed,
                                   on_id_tag_info=self._id_tag_info)
        self.peers = Peers(bus)
        self.registers: dict[int, float] = {}
        self._starting: dict[int, Tx] = {}
        self._stopping: set[int] = set()  # connectors whose StopTransaction is not queued yet
        self._locks = {c: asyncio.Lock() for c in CONNECTORS}
        self._end_listeners: list[Callable[[int], Awaitable[None]]] = []
        self._tg: asyncio.TaskGroup | None = None
        self._early: list[Callable[[], list[Action]]] = []
        self._states: dict[int, ConnectorState] = {}  # power's latest facts per connector
        self.operative: Callable[[int], bool] = lambda _c: True  # the availability the gateway owns
        self.on_owned_change: Callable[[int], None] = lambda _c: None  # the status reporter's refresh
        # a reservation ended (used, cancelled, expired, replaced): the protocol may tell the CSMS
        self.on_reservation_end: Callable[[int, str], Coroutine[Any, Any, None]] | None = None
        self.recovered = asyncio.Event()
        bus.on(power.RFID_SWIPED, self.on_swipe)
        bus.follow(power.CONNECTOR, self.on_connector)
        bus.on(metering.METER_VALUES, self.on_meter_values)
        bus.on(metering.SESSION_DATA, self.on_session_data)
        bus.follow(metering.REGISTER, self.on_register)

    # -- life cycle -------------------------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            await self.recover()
            tg.create_task(self.sender.run(), name="outbox-sender")
            tg.create_task(self._ticker(), name="session-ticker")
            for step in self._early:  # in the order they arrived, before anything newer
                self._do(step())
            self._early.clear()
            self.recovered.set()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self._do(self.sessions.tick(time.monotonic(), _now()))

    def _post(self, step: Callable[[], list[Action]]) -> None:
        """Run a state machine step now, or after recovery when it is not done yet."""
        if self.recovered.is_set() and self._tg is not None:
            self._do(step())
        else:
            self._early.append(step)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        assert self._tg is not None
        self._tg.create_task(self._guarded(work, name), name=name)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except Exception:  # one failed action must not take the gateway down; it is logged with its trace
            log.exception("action failed: %s", name)

    def _do(self, actions: list[Action]) -> None:
        for action in actions:
            self._spawn(self._execute(action), f"{type(action).__name__.lower()}-{action.connector_id}")

    async def _execute(self, action: Action) -> None:
        if isinstance(action, Authorize):
            await self._authorize(action)
            return
        async with self._locks[action.connector_id]:
            if isinstance(action, Start):
                await self._start(action)
            elif isinstance(action, Stop):
                await self._stop(action)
            elif isinstance(action, Prepare):
                self.on_owned_change(action.connector_id)
            elif isinstance(action, Suspend):
                self.store.suspend(action.session_id)
                log.warning("session=%s suspended: no more energy, the transaction stays open", action.session_id)
                await self.peers.command(power.SUSPEND, SuspendRequest(connector_id=action.connector_id,
                                                                       suspended=True))
                self._publish(action.connector_id)
            elif isinstance(action, Budget):
                self.store.set_budget(action.session_id, action.stop_at_wh)
                log.warning("session=%s invalidated: may go on until the register reaches %d Wh",
                            action.session_id, action.stop_at_wh)
            elif isinstance(action, Reserve):
                b = action.booking
                self.store.save_reservation(StoredReservation(b.reservation_id, b.connector_id, b.id_tag,
                                                              b.parent_id_tag, b.expiry))
                log.info("reserved connector=%d reservation=%d id_token=%s until=%s", b.connector_id, b.reservation_id,
                         b.id_tag, b.expiry.isoformat())
                self._publish_reservation(b.connector_id)
                self.on_owned_change(b.connector_id)
            elif isinstance(action, Unreserve):
                self.store.delete_reservation(action.reservation_id)
                log.info("reservation=%d of connector=%d ends: %s", action.reservation_id, action.connector_id,
                         action.why)
                self._publish_reservation(action.connector_id)
                self.on_owned_change(action.connector_id)
                if self.on_reservation_end is not None:  # not under the connector's lock: it may call the CSMS
                    self._spawn(self.on_reservation_end(action.reservation_id, action.why), "reservation-end")

    # -- ports.Transactions -----------------------------------------------------------------------

    def transaction_connectors(self) -> set[int]:
        return {c for c in CONNECTORS if self.sessions.busy(c)}

    def republish(self) -> None:
        if self.recovered.is_set():  # before recovery the state is published by recover() itself
            for connector in CONNECTORS:
                self._publish(connector)
                self._publish_reservation(connector)

    def session(self, connector_id: int) -> SessionView:
        """What power may energize for: the session persisted on the connector (starting, active, suspended)."""
        known = connector_id in self.sessions.connectors
        return published.session_view(connector_id, self.sessions.running(connector_id) if known else None,
                                      self._starting.get(connector_id))

    def add_end_listener(self, callback: Callable[[int], Awaitable[None]]) -> None:
        self._end_listeners.append(callback)

    def outbox_pending(self) -> int:
        return self.store.pending()

    async def on_accepted(self) -> None:
        self.sender.kick()

    async def remote_start(self, id_tag: str, connector_id: int | None, charging_profile: LimitProfile | None,
                           remote_start_id: int | None = None) -> bool:
        if not self.recovered.is_set():
            return False
        connector = connector_id if connector_id is not None else next(
            (c for c in CONNECTORS if not self.sessions.busy(c)), CONNECTORS[0])
        accepted, actions = self.sessions.remote_start(connector, id_tag, time.monotonic(),
                                                       RemoteStart(charging_profile, remote_start_id))
        self._do(actions)
        return accepted

    def session_ref(self, connector_id: int, transaction_id: int | None) -> SessionRef | None:
        tx = self.store.open_session(connector_id)
        if tx is None or (transaction_id is not None and self.store.transaction_id(tx.session_id) != transaction_id):
            return None
        return SessionRef(session_id=tx.session_id, started_at=tx.started_at)

    async def trigger_meter_values(self, connector_id: int | None) -> None:
        """TriggerMessage MeterValues: read now (context Trigger), with the transaction's id when one runs."""
        measurands = self.messages.measurands(self.config, at_stop=False) or [Measurand.ENERGY_IMPORTED]
        for connector in [connector_id] if connector_id is not None else list(CONNECTORS):
            reading = await self.peers.read(connector, Cause.REQUESTED, measurands)
            if reading is None:
                continue
            run = self.sessions.running(connector)
            transaction_id = None if run is None else run.transaction_id
            try:
                await self.link.call_triggered(self.messages.meter_values(connector, reading.meter_value,
                                                                          transaction_id))
            except (CsmsUnavailable, CsmsCallError) as exc:
                log.info("triggered meter values not delivered: %s", exc)

    async def trigger_transaction_event(self, connector_id: int | None) -> bool:
        """TriggerMessage TransactionEvent (2.0.1): an Updated event now, in order with the others, for the
        transaction on the connector or on each; False when none runs."""
        runs = [(c, run) for c in ([connector_id] if connector_id is not None else list(CONNECTORS))
                if (run := self.sessions.running(c)) is not None]
        measurands = self.messages.measurands(self.config, at_stop=False) or [Measurand.ENERGY_IMPORTED]
        for connector, run in runs:
            reading = await self.peers.read(connector, Cause.REQUESTED, measurands)
            if reading is not None:
                self.store.meter(run.session_id, reading.energy_wh, reading.meter_value.timestamp,
                                 self.messages.meter(run.session_id, connector, reading.meter_value,
                                                     self._states.get(connector), not self.link.accepted),
                                 action=self.messages.meter_action)
        self.sender.kick()
        return bool(runs)

    def reserve(self, booking: Booking) -> ReserveStatus:
        """ReserveNow for a connector (connector 0 is the caller's to refuse)."""
        if not self.recovered.is_set():
            return ReserveStatus.REJECTED
        status, actions = self.sessions.reserve(booking, _now())
        self._do(actions)
        return status

    def cancel_reservation(self, reservation_id: int) -> bool:
        found, actions = self.sessions.cancel(reservation_id)
        self._do(actions)
        return found

    async def remote_stop(self, transaction_id: int | str) -> bool:
        accepted, actions = self.sessions.remote_stop(transaction_id)
        self._do(actions)
        return accepted

    async def stop_all(self, reason: str, connector_id: int | None = None) -> None:
        """Stop every session, or the connector's (Reset): returns once each stop message is queued."""
        actions = self.sessions.stop_all(Reason(reason)) if connector_id is None else self.sessions.stop(
            connector_id, Reason(reason))
        await asyncio.gather(*(self._execute(a) for a in actions))

    def unconfirmed(self, connector_id: int) -> bool:
        return connector_id in self._stopping or self.store.unconfirmed(
            connector_id, (self.messages.start_action, self.messages.stop_action))

    async def hold_outbox(self, timeout: float) -> None:
        await self.sender.hold(timeout)

    def release_outbox(self) -> None:
        self.sender.release()

    # -- bus inputs -------------------------------------------------------------------------------

    async def on_swipe(self, swiped: RfidSwiped, _p: dict[str, str]) -> None:
        id_tag = self.messages.key(swiped.token)
        if id_tag is None:
            log.warning("card ignored: a %s token of %d characters cannot be sent to this CSMS", swiped.token.type,
                        len(swiped.token.value))
            return
        self._post(lambda: self.sessions.swiped(id_tag, time.monotonic()))

    async def on_connector(self, state: ConnectorState | None, _p: dict[str, str]) -> None:
        if state is not None and state.connector_id in self.sessions.connectors:
            self._post(lambda: self._connector_changed(state))

    def owned(self, connector: int) -> Owned:
        """What the gateway itself knows of a connector, for its status."""
        c = self.sessions.get(connector)
        return Owned(operative=self.operative(connector), preparing=c.phase in (Phase.WAITING, Phase.STARTING),
                     reserved=c.booking is not None)

    def refresh(self, connector: int) -> None:
        """Something the gateway owns changed (availability): the connector is seen again with it."""
        state = self._states.get(connector)
        if state is not None:
            self._post(lambda: self._connector_changed(state))
        self.on_owned_change(connector)

    def _connector_changed(self, state: ConnectorState) -> list[Action]:
        before, self._states[state.connector_id] = self._states.get(state.connector_id), state
        connector, seen = state.connector_id, connector_input(state, self.owned(state.connector_id))
        if self.sessions.ends(connector, seen) or (state.energized and not self.sessions.busy(connector)):
            # a retained copy may be stale (a broker that crashed restores what it last saved):
            # before ending a charge, or cutting an output, ask power what is true now
            self._spawn(self._confirm_state(connector), f"confirm-{connector}")
            return []
        self._tell_charging(connector, before, state)
        return self.sessions.connector(connector, seen, time.monotonic())

    def _tell_charging(self, connector: int, before: ConnectorState | None, state: ConnectorState) -> None:
        """What the EV and the station do during a transaction changed (charging, suspended by either side): the
        version's message for it, if it has one, queued in order with the transaction's others."""
        c = self.sessions.get(connector)
        if c.phase is not Phase.ACTIVE or c.running is None:
            return
        payload = self.messages.charging_changed(c.running.session_id, before, state, not self.link.accepted)
        if payload is not None:
            self.store.enqueue(c.running.session_id, self.messages.meter_action, payload)
            self.sender.kick()

    async def _confirm_state(self, connector: int) -> None:
        try:
            state: ConnectorState = await self.bus.request(power.GET_STATE, ConnectorRequest(connector_id=connector),
                                                           timeout=3)
        except BusError as exc:
            log.warning("connector=%d state not confirmed by power (%s): nothing changes", connector, exc)
            return
        if state.energized and not self.sessions.busy(connector):
            log.error("connector=%d energized without a session: de-energizing", connector)
            await self.peers.deenergize(connector)
            return
        self._states[connector] = state
        self._do(self.sessions.connector(connector, connector_input(state, self.owned(connector)), time.monotonic()))

    async def on_meter_values(self, taken: MeterValuesTaken, _p: dict[str, str]) -> None:
        connector = taken.connector_id
        run = self.sessions.running(connector)
        if run is not None and taken.session_id == run.session_id:
            energy = energy_wh(taken.meter_value)
            self.store.meter(run.session_id, energy if energy is not None else 0, taken.meter_value.timestamp,
                             self.messages.meter(run.session_id, connector, taken.meter_value,
                                                 self._states.get(connector), not self.link.accepted),
                             action=self.messages.meter_action)
            self.sender.kick()
        elif taken.session_id is None and self.link.accepted and self._tg is not None:
            self._spawn(self._send_now(self.messages.meter_values(connector, taken.meter_value, None)),
                        "meter-values")

    async def on_session_data(self, data: SessionData, _p: dict[str, str]) -> None:
        self.store.add_transaction_data(data.session_id, self.messages.sampled(data.meter_value))

    async def on_register(self, register: EnergyRegister | None, _p: dict[str, str]) -> None:
        if register is None:
            return
        self.registers[register.connector_id] = register.energy_wh
        run = self.sessions.running(register.connector_id)
        if run is not None:
            self.store.meter(run.session_id, int(register.energy_wh), register.timestamp, None)
            self._post(lambda: self.sessions.energy(register.connector_id, register.energy_wh))

    # -- outcomes from the outbox -----------------------------------------------------------------

    def _start_confirmed(self, session_id: str, transaction_id: int | None, info: TokenInfo | None) -> None:
        parent = self.messages.group(info)
        if parent is not None:
            self.store.set_parent(session_id, parent)
        connector = self.sessions.by_session(session_id)
        self._post(lambda: self.sessions.confirmed(session_id, transaction_id, info))
        if connector is not None:
            self._publish(connector.connector_id)

    def _id_tag_info(self, id_tag: str, info: TokenInfo, connector_id: int | None = None) -> None:
        self.bus.publish(ocpp_gateway.TOKEN_INFO, TokenInfoSeen(token=self.messages.token(id_tag), info=info,
                                                                connector_id=connector_id))

    # -- actions ----------------------------------------------------------------------------------

    async def _authorize(self, action: Authorize) -> None:
        info = await self.peers.authorize(self.messages.token(action.id_tag), action.connector_id)
        self._do(self.sessions.authorized(action.connector_id, action.id_tag, action.purpose, info,
                                          time.monotonic()))

    async def _start(self, action: Start) -> None:
        connector = action.connector_id
        self.on_owned_change(connector)  # being started: Preparing now, if it was Finishing
        # the meter is read and smart charging puts the session's limit in force while the session is written: all
        # three come before the output is energized. Until the reading is in, the row holds the last register known
        # (a recovery that finds the output energized starts from it).
        at = _now()
        known = self._register_fallback(connector, None)
        tx = Tx(session_id=uuid.uuid4().hex[:16], connector_id=connector, id_tag=action.id_tag, started_at=at,
                meter_start=known, transaction_id=None, phase=STARTING, last_meter_wh=known, last_meter_at=at,
                parent_id_tag=action.parent_id_tag, reservation_id=action.reservation_id)
        remote = action.profile if isinstance(action.profile, RemoteStart) else None
        profile = remote.profile if remote is not None and isinstance(remote.profile, LimitProfile) else None
        reading = asyncio.create_task(self._meter_start(connector), name=f"meter-start-{connector}")
        limit = asyncio.create_task(self.peers.begin_session(connector, SessionRef(
            session_id=tx.session_id, started_at=at), profile), name=f"begin-session-{connector}")
        try:
            await asyncio.sleep(0)  # both requests are on their way before the write blocks the loop
            await self._record_and_energize(action, tx, remote, limit, reading)
        finally:
            limit.cancel()  # a start given up before the answers came
            reading.cancel()

    async def _record_and_energize(self, action: Start, tx: Tx, remote: RemoteStart | None,
                             limit: asyncio.Task[ChargingLimit | None], reading: asyncio.Task[int]) -> None:
        connector = action.connector_id
        try:
            await failpoints.hit("ocpp_gateway.session_write")
            self.store.begin(tx)
        except SQLAlchemyError as exc:
            log.error("start refused: the session cannot be recorded (%s)", exc)
            self._do(self.sessions.start_failed(connector))
            self._publish(connector)  # smart charging heard of the session: it ends unrecorded
            return
        self._starting[connector] = tx
        self._publish(connector)
        if await limit is None:
            self._abandon(tx)
            return
        meter_start = await reading
        try:
            energized = await self.bus.request(power.ENERGIZE, EnergizeRequest(
                connector_id=connector, session_id=tx.session_id), timeout=ENERGIZE_TIMEOUT_S)
        except BusError as exc:
            log.warning("start refused by power id_token=%s: %s", action.id_tag, exc)
            if exc.code is ErrorCode.TIMEOUT:
                await self.peers.deenergize(connector)  # the outcome is unknown: make it safe
            self._abandon(tx)
            return
        started = _now()
        try:
            await failpoints.hit("ocpp_gateway.after_energize")
            self.store.commit_start(tx.session_id, started, meter_start, self.messages.start(StartFacts(
                tx.session_id, connector, action.id_tag, meter_start, started, energized, action.reservation_id,
                remote.remote_start_id if remote is not None else None, action.cable_last, not self.link.accepted)),
                action=self.messages.start_action)
        except SQLAlchemyError as exc:
            log.critical("session=%s cannot be recorded after energize (%s): de-energizing", tx.session_id, exc)
            await self.peers.deenergize(connector)
            self._abandon(tx)
            return
        del self._starting[connector]
        await self.sender.kick_first()
        log.info("transaction started session=%s connector=%d id_token=%s meter_start=%d", tx.session_id, connector,
                 action.id_tag, meter_start)
        self._do(self.sessions.started(connector, Running(tx.session_id, action.id_tag, action.parent_id_tag,
                                                          meter_start)))
        self._publish(connector)

    def _abandon(self, tx: Tx) -> None:
        self._starting.pop(tx.connector_id, None)
        try:
            self.store.discard(tx.session_id)
        except SQLAlchemyError as exc:  # recovery discards a `starting` row that power does not deliver for
            log.error("session=%s not discarded (%s)", tx.session_id, exc)
        self._do(self.sessions.start_failed(tx.connector_id))
        self._publish(tx.connector_id)

    async def _stop(self, action: Stop) -> None:
        connector = action.connector_id
        run = self.sessions.running(connector)
        tx = self.store.get(run.session_id) if run is not None else None
        if tx is None:
            self._do(self.sessions.stopped(connector))
            return
        # power reports the connector Finishing as soon as it de-energizes, while the meter is still read:
        # that status waits until the StopTransaction is queued ahead of it
        self._stopping.add(connector)
        try:
            await self.peers.deenergize(connector)
            measurands = self.messages.measurands(self.config, at_stop=True)
            reading = await self.peers.read(connector, Cause.SESSION_END, measurands or [Measurand.ENERGY_IMPORTED])
            meter_stop = reading.energy_wh if reading is not None else self._register_fallback(connector, tx)
            end = reading.meter_value if reading is not None and measurands else None
            self._close(tx, action.reason, max(meter_stop, tx.meter_start), _now(), action.id_tag, end)
        finally:
            self._stopping.discard(connector)
        self._do(self.sessions.stopped(connector))
        self._publish(connector)
        await self._transaction_ended(connector)

    def _close(self, tx: Tx, reason: Reason, meter_stop: int, at: datetime, id_tag: str | None,
               end: MeterValue | None) -> None:
        facts = StopFacts(tx.session_id, tx.connector_id, reason, meter_stop, at, id_tag, end,
                          self.store.transaction_data(tx.session_id), self._states.get(tx.connector_id),
                          not self.link.accepted)
        if self.store.stop(tx.session_id, reason.value, at, meter_stop, self.messages.stop(facts, self.config),
                           action=self.messages.stop_action):
            log.info("transaction stopped session=%s transaction_id=%s reason=%s meter_stop=%d", tx.session_id,
                     tx.transaction_id, reason, meter_stop)
            self.bus.publish(ocpp_gateway.TRANSACTION_STOPPED, TransactionStopped(
                connector_id=tx.connector_id, session_id=tx.session_id,
                transaction_id=self.messages.transaction_id(tx.session_id, self.store.transaction_id(tx.session_id)),
                token=self.messages.token(tx.id_tag),
                reason=reason,
                meter_stop_wh=meter_stop, stopped_at=at))
        self.sender.kick()

    async def _transaction_ended(self, connector: int) -> None:
        for listener in self._end_listeners:
            await listener(connector)

    # -- start-up ---------------------------------------------------------------------------------

    async def recover(self) -> None:
        """Resynchronise from SQLite and power before anything else runs (ports.Transactions.recover)."""
        intended = self.store.state(RESTART_REASON)
        ended: list[int] = []
        for r in self.store.reservations():  # an expired one ends at the first tick
            self.sessions.restored(Booking(r.reservation_id, r.connector_id, r.id_tag, r.parent_id_tag, r.expiry))
        fresh: dict[int, ConnectorState | None] = {}
        for tx in self.store.unfinished():
            state = fresh[tx.connector_id] = await self.peers.power_state(tx.connector_id, RECOVER_WAIT_S)
            energized = state is not None and state.energized
            if tx.phase == STARTING and not energized:
                log.info("session=%s never energized: discarded", tx.session_id)
                self.store.discard(tx.session_id)
            elif tx.phase == STARTING:
                at = _now()
                self.store.commit_start(tx.session_id, at, tx.meter_start, self.messages.start(StartFacts(
                    tx.session_id, tx.connector_id, tx.id_tag, tx.meter_start, at, state, tx.reservation_id,
                    offline=True)),
                    action=self.messages.start_action)
                self._resume(tx)
            elif energized:
                self._tell_start(tx, state)
                self._resume(tx)
            else:
                self._tell_start(tx, state)
                reason = Reason(intended) if intended in set(Reason) else Reason.POWER_LOSS
                log.warning("transaction closed at start session=%s reason=%s meter=%d at=%s", tx.session_id, reason,
                            tx.last_meter_wh, tx.last_meter_at)
                self._close(tx, reason, tx.last_meter_wh, tx.last_meter_at, None, None)
                ended.append(tx.connector_id)
        self.store.set_state(RESTART_REASON, None)
        for connector in CONNECTORS:
            self._publish_reservation(connector)
            if self.sessions.running(connector) is None:
                state = fresh[connector] if connector in fresh else await self.peers.command(
                    power.GET_STATE, ConnectorRequest(connector_id=connector))
                if state is not None and state.energized:
                    log.error("connector=%d energized without a session at start: de-energizing", connector)
                    await self.peers.deenergize(connector)
            self._publish(connector)
        for connector in ended:  # e.g. a Scheduled availability change waited for this transaction
            await self._transaction_ended(connector)

    def _tell_start(self, tx: Tx, state: ConnectorState | None) -> None:
        """A session begun under the other OCPP version (`ocpp_version` changed while it ran): the CSMS now spoken
        to has not heard of its start, which goes first, marked offline; the messages queued in the other
        version's form are set aside by the outbox (kept, logged)."""
        if self.messages.told(self.store, tx.session_id):
            return
        log.warning("session=%s began under the other OCPP version: its start is told now", tx.session_id)
        self.store.enqueue(tx.session_id, self.messages.start_action, self.messages.start(StartFacts(
            tx.session_id, tx.connector_id, tx.id_tag, tx.meter_start, tx.started_at, state, tx.reservation_id,
            offline=True)))

    def _resume(self, tx: Tx) -> None:
        log.info("transaction resumed session=%s connector=%d (power kept delivering)", tx.session_id,
                 tx.connector_id)
        self.sessions.resumed(tx.connector_id, Running(
            tx.session_id, tx.id_tag, tx.parent_id_tag, tx.meter_start, self.store.transaction_id(tx.session_id),
            tx.stop_at_wh, tx.suspended))
        if tx.suspended:  # power keeps no state of its own across a restart of either side
            self._do([Suspend(tx.connector_id, tx.session_id)])

    # -- helpers ----------------------------------------------------------------------------------

    async def _meter_start(self, connector: int) -> int:
        reading = await self.peers.read(connector, Cause.SESSION_START, [Measurand.ENERGY_IMPORTED])
        if reading is not None:
            return reading.energy_wh
        fallback = self._register_fallback(connector, None)
        log.warning("meterStart from the last register value known: %d Wh", fallback)
        return fallback

    def _register_fallback(self, connector: int, tx: Tx | None) -> int:
        """The last register value known when metering does not answer: never 0, never below what was recorded."""
        known = [int(self.registers.get(connector, 0)), self.store.last_register_wh() or 0]
        if tx is not None:
            known.append(tx.last_meter_wh)
        return max(known)

    async def _send_now(self, request: Any) -> None:
        try:
            await self.link.call(request)
        except (CsmsUnavailable, CsmsCallError) as exc:
            log.info("meter values outside a transaction not delivered: %s", exc)

    def _publish_reservation(self, connector: int) -> None:
        self.bus.publish(ocpp_gateway.RESERVATION, published.reservation_state(
            connector, self.sessions.get(connector).booking, self.messages.token), connector_id=connector)

    def _publish(self, connector: int) -> None:
        run = self.sessions.running(connector)
        self.bus.publish(ocpp_gateway.TRANSACTION, published.transaction_state(
            connector, run, self._starting.get(connector), self.store.get(run.session_id) if run else None,
            self.messages), connector_id=connector)

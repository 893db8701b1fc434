"""The transaction engine: sessions from swipe/remote start to stop, and the outbox sender.

Everything the CSMS must receive about a transaction goes through the outbox (SQLite, in order)
and is sent one message at a time while the link is Accepted. Bus handlers never wait on the
CSMS: a RemoteStartTransaction is answered first, then authorised and started in a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import call
from sqlalchemy import Engine

from services.common.bus import Bus, BusError
from services.common.contract import auth, metering, ocpp_gateway, power
from services.common.contract.auth import AuthorizationStatus, AuthorizeRequest, IdTagInfo
from services.common.contract.metering import EnergyRegister, MeterReading, MeterValue, MeterValuesTaken, ReadingContext
from services.common.contract.metering import ReadRequest as MeterReadRequest
from services.common.contract.ocpp_gateway import IdTagInfoSeen, TransactionState, TransactionStopped
from services.common.contract.power import ConnectorRequest, ConnectorState, ConnectorStatus, PrepareRequest, RfidSwiped
from services.common.settings import Settings

from .ports import ConfigReader, CsmsCallError, CsmsLink, CsmsUnavailable
from .tx_store import OutboxMessage, Tx, TxStore

log = logging.getLogger(__name__)

CONNECTORS = (1,)
RECOVER_WAIT_S = 10.0  # power restarting with us answers within a few seconds; silence after this = power loss
SEND_TIMEOUT_S = 30.0
OUTBOX_BATCH = 200  # rows read at once; each is still deleted on its own confirmation


@dataclass
class Waiting:
    """An authorised idTag waiting for the cable (ConnectionTimeOut)."""

    id_tag: str
    parent_id_tag: str | None
    timer: asyncio.Task[None] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def meter_value_payload(value: MeterValue) -> dict[str, Any]:
    """A metering MeterValue as the snake_case dict the `ocpp` payload classes take."""
    return {"timestamp": value.timestamp.isoformat(), "sampled_value": [
        {k: v for k, v in s.model_dump(mode="json").items() if v is not None} for s in value.sampled_value]}


class TransactionEngine:
    """Implements ports.Transactions."""

    def __init__(self, settings: Settings, bus: Bus, engine: Engine, config: ConfigReader, link: CsmsLink) -> None:
        self.settings = settings
        self.bus = bus
        self.store = TxStore(engine)
        self.config = config
        self.link = link
        self.sessions: dict[int, Tx] = {}
        self.parents: dict[int, str | None] = {}
        self.waiting: dict[int, Waiting] = {}
        self.starting: set[int] = set()
        self._ids: dict[str, int] = {}
        self.energy_limit: dict[int, tuple[str, int]] = {}  # connector → (session, register Wh to stop at)
        self.unsent_stops: dict[int, str] = {}  # connector → session whose StopTransaction is not sent yet
        self.connectors: dict[int, ConnectorState] = {}
        self.recovered = asyncio.Event()
        self._kick = asyncio.Event()
        self._end_listeners: list[Callable[[int], Awaitable[None]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy: dict[int, asyncio.Lock] = {c: asyncio.Lock() for c in CONNECTORS}
        bus.on(power.RFID_SWIPED, self.on_swipe)
        bus.watch(power.CONNECTOR.filter, self.on_connector)
        bus.on(metering.METER_VALUES, self.on_meter_values)
        bus.watch(metering.REGISTER.filter, self.on_register)

    # -- ports.Transactions ---------------------------------------------------------------------

    def has_transaction(self, connector_id: int) -> bool:
        return connector_id in self.sessions

    def start_unconfirmed(self, connector_id: int) -> bool:
        tx = self.sessions.get(connector_id)
        return (connector_id in self.starting or connector_id in self.unsent_stops
                or (tx is not None and tx.transaction_id is None))

    def transaction_connectors(self) -> set[int]:
        return set(self.sessions)

    def add_end_listener(self, callback: Callable[[int], Awaitable[None]]) -> None:
        self._end_listeners.append(callback)

    def outbox_pending(self) -> int:
        return self.store.pending()

    async def on_accepted(self) -> None:
        self._kick.set()

    async def remote_start(self, id_tag: str, connector_id: int | None, charging_profile: dict[str, Any] | None
                           ) -> bool:
        connector = connector_id or CONNECTORS[0]
        state = self.connectors.get(connector)
        if (not self.recovered.is_set() or connector in self.sessions or connector in self.waiting
                or (state is not None and state.status in (ConnectorStatus.FAULTED, ConnectorStatus.UNAVAILABLE))):
            return False
        self._background(self._remote_start(connector, id_tag))
        return True

    async def remote_stop(self, transaction_id: int) -> bool:
        for connector, tx in self.sessions.items():
            if tx.transaction_id == transaction_id:
                self._background(self.stop(connector, "Remote"))
                return True
        return False

    async def stop_all(self, reason: str) -> None:
        for connector in list(self.waiting):
            await self._give_up(connector)
        await asyncio.gather(*(self.stop(c, reason) for c in list(self.sessions)))

    async def recover(self) -> None:
        for tx in self.store.open_transactions():
            energized = await self._energized(tx.connector_id)
            if energized:
                log.info("transaction resumed session=%s connector=%d (power kept delivering)", tx.session_id,
                         tx.connector_id)
                self.sessions[tx.connector_id] = tx
                self._publish(tx.connector_id)
            else:
                log.warning("transaction closed after power loss session=%s meter=%d at=%s", tx.session_id,
                            tx.last_meter_wh, tx.last_meter_at)
                self._close(tx, "PowerLoss", tx.last_meter_wh, tx.last_meter_at, None, None)
        for connector in CONNECTORS:
            if connector not in self.sessions:
                self._publish(connector)
        self.recovered.set()
        self._background(self._sender())

    async def _energized(self, connector: int) -> bool:
        deadline = asyncio.get_running_loop().time() + RECOVER_WAIT_S
        while True:
            try:
                state: ConnectorState = await self.bus.request(
                    power.GET_STATE, ConnectorRequest(connector_id=connector), timeout=2)
                return state.energized
            except BusError as exc:
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("power did not answer get_state in %.0f s: %s", RECOVER_WAIT_S, exc)
                    return False
                await asyncio.sleep(0.5)

    # -- bus inputs ------------------------------------------------------------------------------

    async def on_swipe(self, swiped: RfidSwiped, _params: dict[str, str]) -> None:
        # never wait inside a bus handler: authorising may need a command answered by this very process
        self._background(self._swiped(swiped))

    async def _swiped(self, swiped: RfidSwiped) -> None:
        await self.recovered.wait()
        connector = CONNECTORS[0]
        tx = self.sessions.get(connector)
        if tx is not None:
            if tx.id_tag == swiped.id_tag or await self._same_parent(connector, swiped.id_tag):
                await self.stop(connector, "Local", id_tag=swiped.id_tag)
            else:
                log.info("swipe ignored id_tag=%s: connector busy with another tag", swiped.id_tag)
            return
        waiting = self.waiting.get(connector)
        if waiting is not None and waiting.id_tag == swiped.id_tag:
            log.info("swipe of the waiting tag cancels the session id_tag=%s", swiped.id_tag)
            await self._give_up(connector)
            return
        info = await self._authorize(swiped.id_tag, connector)
        if info is None or info.status is not AuthorizationStatus.ACCEPTED:
            return
        await self._authorized(connector, swiped.id_tag, info.parent_id_tag)

    async def on_connector(self, _topic: str, _d: Any, state: Any, params: dict[str, str]) -> None:
        if isinstance(state, ConnectorState):
            self.connectors[state.connector_id] = state
            if self.recovered.is_set():
                self._background(self._connector_changed(state))

    async def _connector_changed(self, state: ConnectorState) -> None:
        connector = state.connector_id
        if connector in self.sessions:
            ends = (not state.plugged and self.config.get_bool("StopTransactionOnEVSideDisconnect")) or (
                state.status is ConnectorStatus.FAULTED)
            if not ends:
                return
            # a retained copy may be stale (a broker that crashed restores what it last saved): before
            # ending a charge, ask power what is true now
            try:
                state = await self.bus.request(power.GET_STATE, ConnectorRequest(connector_id=connector), timeout=3)
            except BusError as exc:
                log.warning("connector state not confirmed by power (%s): the transaction goes on", exc)
                return
            if not state.plugged and self.config.get_bool("StopTransactionOnEVSideDisconnect"):
                await self.stop(connector, "EVDisconnected")
            elif state.status is ConnectorStatus.FAULTED:
                await self.stop(connector, "Other")
        elif connector in self.waiting and state.plugged:
            waiting = self.waiting[connector]
            await self._start(connector, waiting.id_tag, waiting.parent_id_tag)

    async def on_meter_values(self, taken: MeterValuesTaken, _params: dict[str, str]) -> None:
        tx = self.sessions.get(taken.connector_id)
        payload = {"connector_id": taken.connector_id, "meter_value": [meter_value_payload(taken.meter_value)]}
        if tx is not None and taken.session_id == tx.session_id:
            energy = _energy(taken.meter_value)
            self.store.meter(tx.session_id, energy if energy is not None else tx.last_meter_wh,
                             taken.meter_value.timestamp, payload)
            self._kick.set()
        elif self.link.accepted:
            self._background(self._send_now(call.MeterValues(**payload)))

    async def on_register(self, _topic: str, _d: Any, register: Any, params: dict[str, str]) -> None:
        if isinstance(register, EnergyRegister) and register.connector_id in self.sessions:
            tx = self.sessions[register.connector_id]
            self.store.meter(tx.session_id, int(register.energy_wh), register.timestamp, None)
            limit = self.energy_limit.get(register.connector_id)
            if limit is not None and limit[0] == tx.session_id and register.energy_wh >= limit[1]:
                del self.energy_limit[register.connector_id]
                log.warning("MaxEnergyOnInvalidId reached: stopping session=%s (DeAuthorized)", tx.session_id)
                self._background(self.stop(register.connector_id, "DeAuthorized"))

    # -- sessions --------------------------------------------------------------------------------

    async def _remote_start(self, connector: int, id_tag: str) -> None:
        parent = None
        if self.config.get_bool("AuthorizeRemoteTxRequests"):
            info = await self._authorize(id_tag, connector)
            if info is None or info.status is not AuthorizationStatus.ACCEPTED:
                log.info("remote start not authorised id_tag=%s", id_tag)
                return
            parent = info.parent_id_tag
        await self._authorized(connector, id_tag, parent)

    async def _authorized(self, connector: int, id_tag: str, parent: str | None) -> None:
        state = self.connectors.get(connector)
        if state is not None and state.plugged:
            await self._start(connector, id_tag, parent)
            return
        waiting = Waiting(id_tag, parent)
        self.waiting[connector] = waiting
        waiting.timer = asyncio.create_task(self._connection_timeout(connector, waiting))
        with contextlib.suppress(BusError):
            await self.bus.request(power.PREPARE, PrepareRequest(connector_id=connector, active=True), timeout=3)
        log.info("authorised, waiting for the cable id_tag=%s timeout=%ds", id_tag,
                 self.config.get_int("ConnectionTimeOut"))

    async def _connection_timeout(self, connector: int, waiting: Waiting) -> None:
        await asyncio.sleep(self.config.get_int("ConnectionTimeOut"))
        if self.waiting.get(connector) is waiting:
            log.info("connection timeout: no cable within %ds id_tag=%s", self.config.get_int("ConnectionTimeOut"),
                     waiting.id_tag)
            waiting.timer = None
            await self._give_up(connector)

    async def _give_up(self, connector: int) -> None:
        waiting = self.waiting.pop(connector, None)
        if waiting is not None and waiting.timer is not None:
            waiting.timer.cancel()
        with contextlib.suppress(BusError):
            await self.bus.request(power.PREPARE, PrepareRequest(connector_id=connector, active=False), timeout=3)

    async def _start(self, connector: int, id_tag: str, parent: str | None) -> None:
        async with self._busy[connector]:
            if connector in self.sessions:
                return
            waiting = self.waiting.pop(connector, None)
            if waiting is not None and waiting.timer is not None:
                waiting.timer.cancel()
            self.starting.add(connector)
            try:
                await self._start_charging(connector, id_tag, parent)
            finally:
                self.starting.discard(connector)

    async def _start_charging(self, connector: int, id_tag: str, parent: str | None) -> None:
        try:
            await self.bus.request(power.ENERGIZE, ConnectorRequest(connector_id=connector), timeout=3)
        except BusError as exc:
            log.warning("start refused by power id_tag=%s: %s", id_tag, exc)
            with contextlib.suppress(BusError):
                await self.bus.request(power.PREPARE, PrepareRequest(connector_id=connector, active=False))
            return
        meter_start = await self._read(connector, ReadingContext.TRANSACTION_BEGIN)
        started = _now()
        tx = Tx(session_id=uuid.uuid4().hex[:16], connector_id=connector, id_tag=id_tag, started_at=started,
                meter_start=meter_start[0] if meter_start else 0, transaction_id=None, active=True,
                last_meter_wh=meter_start[0] if meter_start else 0, last_meter_at=started)
        self.store.start(tx, {"connector_id": connector, "id_tag": id_tag, "meter_start": tx.meter_start,
                              "timestamp": started.isoformat()})
        self.sessions[connector] = tx
        self.parents[connector] = parent
        log.info("transaction started session=%s connector=%d id_tag=%s meter_start=%d", tx.session_id,
                 connector, id_tag, tx.meter_start)
        self._publish(connector)
        self._kick.set()

    async def stop(self, connector: int, reason: str, id_tag: str | None = None) -> None:
        async with self._busy[connector]:
            tx = self.sessions.get(connector)
            if tx is None:
                return
            self.unsent_stops[connector] = tx.session_id
            del self.sessions[connector]
            try:
                await self.bus.request(power.DEENERGIZE, ConnectorRequest(connector_id=connector), timeout=3)
            except BusError as exc:
                log.error("deenergize failed connector=%d: %s", connector, exc)
            reading = await self._read(connector, ReadingContext.TRANSACTION_END, self.config.get_csv(
                "StopTxnSampledData"))
            meter_stop, value = (reading if reading else (tx.last_meter_wh, None))
            self._close(tx, reason, max(meter_stop, tx.meter_start), _now(), id_tag, value)
            self.parents.pop(connector, None)
        for listener in self._end_listeners:
            await listener(connector)

    def _close(self, tx: Tx, reason: str, meter_stop: int, at: datetime, id_tag: str | None,
               value: MeterValue | None) -> None:
        payload: dict[str, Any] = {"meter_stop": meter_stop, "timestamp": at.isoformat(), "reason": reason}
        if id_tag is not None:
            payload["id_tag"] = id_tag
        if value is not None and self.config.get_int("StopTransactionMaxMeterValues") > 0:
            payload["transaction_data"] = [meter_value_payload(value)]
        if self.store.stop(tx.session_id, reason, at, meter_stop, payload):
            log.info("transaction stopped session=%s reason=%s meter_stop=%d", tx.session_id, reason, meter_stop)
            self.bus.publish(ocpp_gateway.TRANSACTION_STOPPED, TransactionStopped(
                connector_id=tx.connector_id, session_id=tx.session_id, transaction_id=tx.transaction_id,
                id_tag=tx.id_tag, reason=reason, meter_stop_wh=meter_stop, stopped_at=at))
        else:
            self.unsent_stops.pop(tx.connector_id, None)
        self._publish(tx.connector_id)
        self._kick.set()

    async def _same_parent(self, connector: int, id_tag: str) -> bool:
        parent = self.parents.get(connector)
        if parent is None:
            tx = self.sessions[connector]
            first = await self._authorize(tx.id_tag, connector)
            parent = first.parent_id_tag if first else None
        if parent is None:
            return False
        info = await self._authorize(id_tag, connector)
        return info is not None and info.parent_id_tag == parent

    async def _authorize(self, id_tag: str, connector: int) -> IdTagInfo | None:
        try:
            decision = await self.bus.request(auth.AUTHORIZE, AuthorizeRequest(id_tag=id_tag, connector_id=connector),
                                              timeout=35)
        except BusError as exc:
            log.warning("authorize failed id_tag=%s: %s", id_tag, exc)
            return None
        info: IdTagInfo = decision.info
        log.info("authorize id_tag=%s status=%s source=%s", id_tag, info.status, decision.source)
        return info

    async def _read(self, connector: int, context: ReadingContext, measurands: list[str] | None = None
                    ) -> tuple[int, MeterValue] | None:
        try:
            reading: MeterReading = await self.bus.request(metering.READ, MeterReadRequest(
                connector_id=connector, context=context, measurands=measurands or None), timeout=3)
        except BusError as exc:
            log.error("meter read failed connector=%d: %s", connector, exc)
            return None
        return reading.energy_wh, reading.meter_value

    def _publish(self, connector: int) -> None:
        tx = self.sessions.get(connector)
        if tx is None:
            state = TransactionState(connector_id=connector, active=False)
        else:
            state = TransactionState(connector_id=connector, active=True, session_id=tx.session_id,
                                     transaction_id=tx.transaction_id, id_tag=tx.id_tag, started_at=tx.started_at,
                                     meter_start_wh=tx.meter_start)
        self.bus.publish(ocpp_gateway.TRANSACTION, state, connector_id=connector)

    def _background(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    # -- outbox ----------------------------------------------------------------------------------

    async def _sender(self) -> None:
        while True:
            await self.link.wait_accepted()
            heads = self.store.head(OUTBOX_BATCH)
            if not heads:
                self._kick.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), 1.0)
                continue
            for msg in heads:  # new messages are appended behind these: the order holds
                if not self.link.accepted or not await self._send(msg):
                    break

    async def _send(self, msg: OutboxMessage) -> bool:
        """Send one message; False when it must be retried (or the link went down)."""
        payload = dict(msg.payload)
        if msg.action != "StartTransaction":
            transaction_id = self._ids.get(msg.session_id) or self.store.transaction_id(msg.session_id)
            if transaction_id is None:  # only when its StartTransaction was never confirmed: cannot happen in order
                log.error("outbox seq=%d %s without a confirmed transaction id: dropped", msg.seq, msg.action)
                self.store.done(msg.seq)
                return True
            payload["transaction_id"] = transaction_id
        try:
            conf = await self.link.call(getattr(call, msg.action)(**payload), timeout=SEND_TIMEOUT_S)
        except CsmsUnavailable as exc:
            if not self.link.accepted:
                return False  # offline: not an attempt; the sender waits for the link
            await self._failed(msg, str(exc))
            return False
        except CsmsCallError as exc:
            await self._failed(msg, f"{exc.code}: {exc.description}")
            return False
        if msg.action == "StartTransaction":
            self.store.confirm_start(msg.seq, msg.session_id, conf.transaction_id)
            self._ids = {msg.session_id: conf.transaction_id}  # the sessions the outbox works on now
            self._confirmed(msg.session_id, conf.transaction_id)
        else:
            self._sent(msg)
        info = getattr(conf, "id_tag_info", None)
        if info:
            tag = msg.payload.get("id_tag")
            if tag:
                self._seen(tag, info)
            if msg.action == "StartTransaction" and info.get("status") != AuthorizationStatus.ACCEPTED:
                self._invalid(msg.session_id, str(info.get("status")))
        return True

    def _sent(self, msg: OutboxMessage) -> None:
        self.store.done(msg.seq)
        if msg.action == "StopTransaction":
            for connector, session_id in list(self.unsent_stops.items()):
                if session_id == msg.session_id:
                    del self.unsent_stops[connector]

    def _confirmed(self, session_id: str, transaction_id: int) -> None:
        for connector, tx in self.sessions.items():
            if tx.session_id == session_id:
                self.sessions[connector] = replace(tx, transaction_id=transaction_id)
                self._publish(connector)
        log.info("transaction confirmed session=%s transaction_id=%d", session_id, transaction_id)

    def _invalid(self, session_id: str, status: str) -> None:
        for connector, tx in self.sessions.items():
            if tx.session_id != session_id:
                continue
            if self.config.get_bool("StopTransactionOnInvalidId"):
                log.warning("StartTransaction.conf %s: stopping session=%s (DeAuthorized)", status, session_id)
                self._background(self.stop(connector, "DeAuthorized"))
            else:
                # PICS C-03: the EV may still take MaxEnergyOnInvalidId Wh (0: no limit), then it stops
                allowance = self.config.get_int("MaxEnergyOnInvalidId")
                if allowance > 0:
                    self.energy_limit[connector] = (session_id, tx.meter_start + allowance)
                    log.warning("StartTransaction.conf %s: session=%s may go on for %d Wh", status, session_id,
                                allowance)

    def _seen(self, id_tag: str, info: dict[str, Any]) -> None:
        try:
            parsed = IdTagInfo(status=info["status"], parent_id_tag=info.get("parent_id_tag"),
                               expiry_date=info.get("expiry_date"))
        except (ValueError, KeyError) as exc:
            log.warning("unusable idTagInfo from the CSMS for %s: %s", id_tag, exc)
            return
        self.bus.publish(ocpp_gateway.ID_TAG_INFO, IdTagInfoSeen(id_tag=id_tag, info=parsed))

    async def _failed(self, msg: OutboxMessage, why: str) -> None:
        attempts = self.store.failed(msg.seq)
        limit = self.config.get_int("TransactionMessageAttempts")
        if attempts >= limit and msg.action != "StartTransaction":
            log.error("outbox seq=%d %s dropped after %d attempts: %s", msg.seq, msg.action, attempts, why)
            self._sent(msg)
            return
        delay = self.config.get_int("TransactionMessageRetryInterval") * attempts
        log.warning("outbox seq=%d %s attempt %d failed (%s); retry in %ds", msg.seq, msg.action, attempts, why, delay)
        await asyncio.sleep(delay)

    async def _send_now(self, request: Any) -> None:
        with contextlib.suppress(CsmsUnavailable, CsmsCallError):
            await self.link.call(request)


def _energy(value: MeterValue) -> int | None:
    for sampled in value.sampled_value:
        if sampled.measurand == "Energy.Active.Import.Register":
            with contextlib.suppress(ValueError):
                scale = 1000 if sampled.unit == "kWh" else 1
                return int(float(sampled.value) * scale)
    return None

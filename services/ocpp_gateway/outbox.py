"""The outbox sender: StartTransaction, MeterValues and StopTransaction, in order, one CALL at a time.

Rules (OCPP 1.6 §4.x, "transaction-related messages"):
- only a CSMS that *answers* with a CALLERROR (it failed to process the message) uses up an attempt:
  TransactionMessageAttempts of them, TransactionMessageRetryInterval x attempts apart, then the
  message is set aside (kept in `outbox_set_aside`, logged) and the queue moves on. A StartTransaction
  set aside takes its session's later messages with it: they could never carry a transactionId.
- no answer, a dead link or a CSMS that is not Accepted is never an attempt: the message waits and is
  sent again, for as long as it takes. Nothing is dropped for silence.
- a stored message that can never be a valid 1.6 call (an older schema, a broken row) is set aside at
  once instead of blocking the queue.
- `hold()` (a Reset): nothing more goes out; the call on the wire still gets its answer, so a restart
  never cuts off a message the CSMS then confirms (it would be sent again after the restart).
The task that runs `run()` belongs to the gateway's task group: if it dies, the service dies and is
restarted, so health never says `online` over a dead sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from services.common.contract.auth import TokenInfo

from .messages import Unsendable
from .ports import ConfigReader, CsmsCallError, CsmsLink, CsmsUnavailable
from .tx_messages import TxMessages
from .tx_store import OutboxMessage, TxStore

log = logging.getLogger(__name__)

BATCH = 200  # rows read at once; new messages are appended behind them, so the order holds
NO_ANSWER_PAUSE_S = 2.0  # after a CALL the CSMS left unanswered, before the same message goes again
ACK_FLUSH = 50  # confirmed MeterValues deleted together: a crash resends at most this many of them


class OutboxSender:
    def __init__(self, store: TxStore, link: CsmsLink, config: ConfigReader, messages: TxMessages, *,
                 on_start_confirmed: Callable[[str, int | None, TokenInfo | None], None],
                 on_id_tag_info: Callable[[str, TokenInfo, int | None], None]) -> None:
        self.store = store
        self.link = link
        self.config = config
        self.messages = messages
        self.on_start_confirmed = on_start_confirmed
        self.on_id_tag_info = on_id_tag_info
        self.sent = 0
        self._wake = asyncio.Event()
        self._acked: list[int] = []
        self._ids: dict[str, int] = {}
        self._held = False
        self._wire_free = asyncio.Event()  # no CALL waiting for its answer
        self._wire_free.set()

    def kick(self) -> None:
        """Something was queued: look at the queue now rather than at the next poll."""
        self._wake.set()

    async def kick_first(self) -> None:
        """Something was queued that should reach the CSMS before the caller goes on: the sender takes the loop's
        next turn, in which it reads the queue and writes the message to the socket (nothing on that way waits).
        The start of a transaction goes out before its new state wakes every service that follows it."""
        self.kick()
        await asyncio.sleep(0)

    async def hold(self, timeout: float) -> None:
        """Send nothing more; returns once the call on the wire, if any, has its answer (or after `timeout`)."""
        self._held = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wire_free.wait()

    def release(self) -> None:
        self._held = False
        self.kick()

    async def run(self) -> None:
        while True:
            await self.link.wait_accepted()
            self._flush()
            heads = [] if self._held else self.store.head(BATCH)
            if not heads:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                continue
            for msg in heads:
                if not self.link.accepted or self._held or not await self._send(msg):
                    break

    def _flush(self) -> None:
        if self._acked:
            self.store.done(*self._acked)
            self._acked.clear()

    async def _send(self, msg: OutboxMessage) -> bool:
        """Send one message; True to go on with the next, False to read the queue again."""
        payload, starts = msg.payload, msg.action == self.messages.start_action
        if self.messages.fills_transaction_id and not starts and payload is not None:
            transaction_id = self._ids.get(msg.session_id) or self.store.transaction_id(msg.session_id)
            if transaction_id is None:  # in order, only when its StartTransaction was set aside
                self._set_aside(msg, "its StartTransaction was never confirmed", whole_session=True)
                return False
            payload = {**payload, "transaction_id": transaction_id}
        try:
            request = self.messages.build(msg.action, payload)
        except Unsendable as exc:
            self._set_aside(msg, str(exc), whole_session=starts)
            return False
        try:
            conf = await self._on_wire(request)
        except CsmsUnavailable as exc:
            if self.link.accepted:  # connected, but no answer: not an attempt; the same message goes again
                log.warning("outbox seq=%d %s unanswered (%s); sending it again", msg.seq, msg.action, exc)
                self._flush()
                await asyncio.sleep(NO_ANSWER_PAUSE_S)
            return False
        except CsmsCallError as exc:
            self._flush()
            invalid = self.messages.schema_error(request)  # only after a failure: the library checked it before sending
            if invalid is not None:
                self._set_aside(msg, invalid, whole_session=starts)
            else:
                await self._failed(msg, f"{exc.code}: {exc.description}")
            return False
        self.sent += 1
        self._confirmed(msg, conf)
        return True

    async def _on_wire(self, request: Any) -> Any:
        self._wire_free.clear()
        try:
            return await self.link.call(request)  # the station's OCPP response timeout
        finally:
            self._wire_free.set()

    def _confirmed(self, msg: OutboxMessage, conf: Any) -> None:
        answer = self.messages.answered(msg, conf)
        if answer.info is not None and answer.id_tag is not None:
            self.on_id_tag_info(answer.id_tag, answer.info, answer.connector_id)
        if msg.action == self.messages.start_action:
            self._flush()
            self.store.confirm_start(msg.seq, msg.session_id, answer.transaction_id)
            if answer.transaction_id is not None:
                self._ids = {msg.session_id: answer.transaction_id}  # the session the queue works on now
            log.info("transaction confirmed session=%s transaction_id=%s", msg.session_id, answer.transaction_id)
            self.on_start_confirmed(msg.session_id, answer.transaction_id, answer.info)
        elif msg.action == self.messages.stop_action:
            self._flush()
            self.store.done(msg.seq)  # at once: a second StopTransaction is the classic double-billing bug
        else:
            self._acked.append(msg.seq)
            if len(self._acked) >= ACK_FLUSH:
                self._flush()

    async def _failed(self, msg: OutboxMessage, why: str) -> None:
        attempts = self.store.failed(msg.seq)
        limit = self.config.get_int(self.messages.attempts_key)
        if attempts >= limit:
            self._set_aside(msg, f"CALLERROR {attempts} times, last: {why}",
                            whole_session=msg.action == self.messages.start_action)
            return
        delay = self.config.get_int(self.messages.interval_key) * attempts
        log.warning("outbox seq=%d %s attempt %d/%d failed (%s); retry in %ds", msg.seq, msg.action, attempts, limit,
                    why, delay)
        await asyncio.sleep(delay)

    def _set_aside(self, msg: OutboxMessage, why: str, whole_session: bool) -> None:
        if whole_session:
            count = self.store.set_aside(why, session_id=msg.session_id)
        else:
            count = self.store.set_aside(why, seq=msg.seq)
        log.error("outbox set aside seq=%d %s session=%s messages=%d: %s", msg.seq, msg.action, msg.session_id,
                  count, why)



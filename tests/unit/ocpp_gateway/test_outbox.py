"""The outbox sender's rules, with a scripted link: silence never drops a message, CALLERRORs use up the
attempts, a row that can never be sent is set aside, the transaction id comes from the confirmed start."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call_result
from sqlalchemy import text

from services.common.contract.auth import TokenInfo
from services.common.db import open_engine
from services.ocpp_gateway import outbox
from services.ocpp_gateway.messages import OCPP16
from services.ocpp_gateway.outbox import OutboxSender
from services.ocpp_gateway.ports import CsmsCallError, CsmsUnavailable
from services.ocpp_gateway.tx_store import STARTING, Tx, TxStore

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "ocpp_gateway" / "migrations"
T0 = datetime(2026, 11, 25, tzinfo=UTC)
Answer = Callable[[Any], Any]  # the request → a result, or raises


def set_aside_rows(store: TxStore) -> int:
    """How many messages the store moved to `outbox_set_aside`, read from the test's database."""
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM outbox_set_aside")).scalar_one())


class ScriptedLink:
    """Implements ports.CsmsLink; answers each call with the next scripted answer (then always `default`)."""

    def __init__(self, script: list[Answer], default: Answer) -> None:
        self.script = script
        self.default = default
        self.sent: list[Any] = []
        self.up = asyncio.Event()
        self.up.set()
        self.waited = asyncio.Event()  # someone waited for the link while it was down

    @property
    def accepted(self) -> bool:
        return self.up.is_set()

    async def wait_accepted(self) -> None:
        if not self.up.is_set():
            self.waited.set()
        await self.up.wait()

    async def call(self, payload: Any, timeout: float | None = None) -> Any:
        self.sent.append(payload)
        answer = self.script.pop(0) if self.script else self.default
        await asyncio.sleep(0)
        return answer(payload)


class Config:
    def __init__(self, attempts: int = 3) -> None:
        self.values = {"TransactionMessageAttempts": attempts, "TransactionMessageRetryInterval": 0}

    def get_int(self, key: str) -> int:
        return self.values[key]


def ok(payload: Any) -> Any:
    name = type(payload).__name__
    if name == "StartTransaction":
        return call_result.StartTransaction(transaction_id=4711, id_tag_info={"status": "Accepted"})
    return getattr(call_result, name)()


def silent(_payload: Any) -> Any:
    raise CsmsUnavailable("no answer to the call")


def callerror(code: str) -> Answer:
    def answer(_payload: Any) -> Any:
        raise CsmsCallError(code, "failed to process")
    return answer


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "NO_ANSWER_PAUSE_S", 0.0)


@pytest.fixture
def store(tmp_path: Path) -> TxStore:
    return TxStore(open_engine(tmp_path / "gw.sqlite", MIGRATIONS))


def session(store: TxStore, name: str, meters: int = 1, stop: bool = True) -> None:
    store.begin(Tx(name, 1, "TAG", T0, 0, None, STARTING, 0, T0))
    store.commit_start(name, T0, 0, {"connector_id": 1, "id_tag": "TAG", "meter_start": 0, "timestamp": T0.isoformat()})
    for n in range(1, meters + 1):
        store.meter(name, n, T0, {"connector_id": 1, "meter_value": [
            {"timestamp": T0.isoformat(), "sampled_value": [{"value": str(n)}]}]})
    if stop:
        store.stop(name, "Local", T0, 99, {"meter_stop": 99, "timestamp": T0.isoformat(), "reason": "Local"})


async def drain(sender: OutboxSender, store: TxStore, timeout: float = 5.0) -> None:
    task = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(timeout):
            while store.pending():
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # confirmed MeterValues are deleted in batches
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def sender_for(store: TxStore, link: ScriptedLink, config: Config | None = None,
               confirmed: list[tuple[str, int]] | None = None) -> OutboxSender:
    def on_start(session_id: str, transaction_id: int, _info: TokenInfo | None) -> None:
        if confirmed is not None:
            confirmed.append((session_id, transaction_id))

    return OutboxSender(store, link, config or Config(), OCPP16, on_start_confirmed=on_start,
                        on_id_tag_info=lambda _tag, _info, _connector: None)


async def test_unanswered_messages_are_sent_again_and_never_dropped(store: TxStore) -> None:
    session(store, "s1")
    # the StopTransaction goes unanswered ten times: more than TransactionMessageAttempts, never an attempt
    script: list[Answer] = [ok, ok, *[silent] * 10, ok]
    link = ScriptedLink(script, ok)
    await drain(sender_for(store, link), store)
    actions = [type(p).__name__ for p in link.sent]
    assert actions == ["StartTransaction", "MeterValues", *["StopTransaction"] * 11]
    assert link.sent[-1].transaction_id == 4711 and set_aside_rows(store) == 0


async def test_callerrors_use_up_the_attempts_then_the_message_is_set_aside(store: TxStore) -> None:
    session(store, "s1", meters=0)
    link = ScriptedLink([ok, callerror("InternalError"), callerror("GenericError"), callerror("InternalError")], ok)
    await drain(sender_for(store, link, Config(attempts=3)), store)
    assert [type(p).__name__ for p in link.sent] == ["StartTransaction", *["StopTransaction"] * 3]
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT action, attempts, reason FROM outbox_set_aside")).one()
    assert row[0] == "StopTransaction" and row[1] == 3 and "InternalError" in row[2]


async def test_a_callerror_then_an_answer_delivers_it(store: TxStore) -> None:
    session(store, "s1", meters=0)
    link = ScriptedLink([ok, callerror("InternalError")], ok)
    await drain(sender_for(store, link), store)
    assert [type(p).__name__ for p in link.sent] == ["StartTransaction", "StopTransaction", "StopTransaction"]
    assert set_aside_rows(store) == 0


async def test_a_start_set_aside_takes_its_session_and_the_next_session_goes_on(store: TxStore) -> None:
    session(store, "s1", meters=2)
    session(store, "s2", meters=1)
    link = ScriptedLink([callerror("InternalError")] * 2, ok)
    confirmed: list[tuple[str, int]] = []
    await drain(sender_for(store, link, Config(attempts=2), confirmed), store)
    assert [type(p).__name__ for p in link.sent] == ["StartTransaction", "StartTransaction", "StartTransaction",
                                                      "MeterValues", "StopTransaction"]
    assert confirmed == [("s2", 4711)] and set_aside_rows(store) == 4


async def test_a_row_that_can_never_be_sent_is_set_aside_at_once(store: TxStore) -> None:
    session(store, "s1", meters=1)
    with store.engine.begin() as conn:  # a row written by an older schema, between the meter value and the stop
        conn.execute(text("UPDATE outbox SET payload = :p WHERE action = 'MeterValues'"),
                     {"p": '{"connector_id": 1, "values": [1, 2]}'})
    link = ScriptedLink([], ok)
    await drain(sender_for(store, link), store)
    assert [type(p).__name__ for p in link.sent] == ["StartTransaction", "StopTransaction"]
    with store.engine.connect() as conn:
        reason = conn.execute(text("SELECT reason FROM outbox_set_aside")).scalar_one()
    assert "MeterValues" in reason


async def test_a_link_that_goes_down_is_waited_for_not_counted(store: TxStore) -> None:
    session(store, "s1", meters=0)
    link = ScriptedLink([], ok)

    def down(_payload: Any) -> Any:
        link.up.clear()
        raise CsmsUnavailable("connection closed")

    link.script = [ok, down]
    sender = sender_for(store, link)
    task = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(5):  # the sender waits for the link: what it holds is not counted as tried
            await link.waited.wait()
        assert store.pending() == 1 and store.head()[0].attempts == 0
        link.up.set()
        for _ in range(200):
            if not store.pending():
                break
            await asyncio.sleep(0.01)
        assert store.pending() == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_row_that_fails_the_schema_is_set_aside_not_counted(store: TxStore) -> None:
    session(store, "s1", meters=1)
    with store.engine.begin() as conn:  # the right fields, a value the 1.6 schema refuses
        conn.execute(text("UPDATE outbox SET payload = :p WHERE action = 'MeterValues'"),
                     {"p": '{"connector_id": -4, "meter_value": []}'})

    def library_check(payload: Any) -> Any:  # what the library does before sending an invalid call
        if type(payload).__name__ == "MeterValues":
            raise CsmsCallError("OccurenceConstraintViolation", "meterValue: [] is too short")
        return ok(payload)

    link = ScriptedLink([], library_check)
    await drain(sender_for(store, link), store)
    assert [type(p).__name__ for p in link.sent] == ["StartTransaction", "MeterValues", "StopTransaction"]
    with store.engine.connect() as conn:
        attempts, reason = conn.execute(text("SELECT attempts, reason FROM outbox_set_aside")).one()
    assert attempts == 0 and "does not validate" in reason

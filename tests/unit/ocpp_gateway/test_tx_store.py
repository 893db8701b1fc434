"""The transaction store and outbox: phases, order, one StopTransaction per transaction, the id filled in on
confirm, what is unconfirmed derived from the outbox alone, messages set aside."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from services.common.db import open_engine
from services.ocpp_gateway.tx_store import STARTING, Tx, TxStore

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "ocpp_gateway" / "migrations"
T0 = datetime(2026, 11, 25, tzinfo=UTC)


def set_aside_rows(store: TxStore) -> int:
    """How many messages the store moved to `outbox_set_aside`, read from the test's database."""
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM outbox_set_aside")).scalar_one())


def _tx(session: str, connector: int = 1) -> Tx:
    return Tx(session_id=session, connector_id=connector, id_tag="TAG", started_at=T0, meter_start=100,
              transaction_id=None, phase=STARTING, last_meter_wh=100, last_meter_at=T0)


@pytest.fixture
def store(tmp_path: Path) -> TxStore:
    return TxStore(open_engine(tmp_path / "gw.sqlite", MIGRATIONS))


def _active(store: TxStore, session: str, connector: int = 1) -> None:
    store.begin(_tx(session, connector))
    store.commit_start(session, T0, _tx(session, connector).meter_start, {"connector_id": connector})


def test_start_meter_stop_in_order_and_one_stop_only(store: TxStore) -> None:
    _active(store, "s1")
    store.meter("s1", 150, T0, {"connector_id": 1, "meter_value": []})
    assert store.stop("s1", "Local", T0, 200, {"meter_stop": 200})
    assert not store.stop("s1", "Remote", T0, 300, {"meter_stop": 300})  # never a second StopTransaction
    assert [m.action for m in store.head(10)] == ["StartTransaction", "MeterValues", "StopTransaction"]
    assert store.transaction_id("s1") is None and store.unfinished() == []

    start = store.head()[0]
    store.confirm_start(start.seq, "s1", 4711)
    assert store.transaction_id("s1") == 4711 and store.pending() == 2
    assert store.failed(store.head()[0].seq) == 1 and store.failed(store.head()[0].seq) == 2


def test_a_start_is_recorded_before_energize_and_discarded_without_trace(store: TxStore) -> None:
    store.begin(_tx("s1"))
    assert [t.phase for t in store.unfinished()] == ["starting"] and store.pending() == 0
    assert store.unconfirmed(1)  # Charging is not reported for a session the CSMS does not know yet
    store.discard("s1")
    assert store.unfinished() == [] and store.get("s1") is None and not store.unconfirmed(1)


def test_unconfirmed_is_read_from_the_outbox_only(store: TxStore) -> None:
    _active(store, "s1")
    assert store.unconfirmed(1) and not store.unconfirmed(2)
    store.confirm_start(store.head()[0].seq, "s1", 7)
    assert not store.unconfirmed(1)
    store.stop("s1", "Local", T0, 300, {"meter_stop": 300})
    assert store.unconfirmed(1)  # its StopTransaction is queued
    store.done(store.head()[0].seq)
    assert not store.unconfirmed(1)


def test_setting_aside_a_start_takes_its_session_along(store: TxStore) -> None:
    _active(store, "s1")
    store.meter("s1", 150, T0, {"n": 1})
    _active(store, "s2")
    assert store.set_aside("CALLERROR 3 times", session_id="s1") == 2
    assert [m.session_id for m in store.head(10)] == ["s2"] and set_aside_rows(store) == 2
    assert store.set_aside("broken row", seq=store.head()[0].seq) == 1 and store.pending() == 0


def test_power_loss_reading_is_the_last_recorded_one(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite"
    store = TxStore(open_engine(path, MIGRATIONS))
    _active(store, "s1")
    later = datetime(2026, 11, 25, 0, 5, tzinfo=UTC)
    store.meter("s1", 900, later, None)
    store.meter("s1", 800, later, None)  # never backwards
    reopened = TxStore(open_engine(path, MIGRATIONS)).unfinished()
    assert [(t.session_id, t.last_meter_wh, t.last_meter_at) for t in reopened] == [("s1", 900, later)]
    assert store.last_register_wh() == 900


def test_budget_suspension_and_parent_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite"
    store = TxStore(open_engine(path, MIGRATIONS))
    _active(store, "s1")
    store.set_budget("s1", 120)
    store.set_parent("s1", "FLEET")
    again = TxStore(open_engine(path, MIGRATIONS)).unfinished()[0]
    assert (again.stop_at_wh, again.parent_id_tag, again.suspended) == (120, "FLEET", False)
    store.suspend("s1")
    again = TxStore(open_engine(path, MIGRATIONS)).unfinished()[0]
    assert again.suspended and again.stop_at_wh is None


def test_transaction_data_belongs_to_an_active_session_and_goes_with_its_stop(store: TxStore) -> None:
    store.add_transaction_data("nobody", {"timestamp": "x"})
    _active(store, "s1")
    store.add_transaction_data("s1", {"timestamp": "a"})
    store.add_transaction_data("s1", {"timestamp": "b"})
    assert [v["timestamp"] for v in store.transaction_data("s1")] == ["a", "b"]
    assert store.transaction_data("nobody") == []
    store.stop("s1", "Local", T0, 300, {"meter_stop": 300})
    assert store.transaction_data("s1") == []


def test_a_row_that_is_not_json_is_read_as_unsendable(store: TxStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO outbox (session_id, action, payload) VALUES ('old', 'MeterValues', 'v1:{')"))
    message = store.head()[0]
    assert message.payload is None and message.raw == "v1:{"


def test_migration_from_the_previous_schema_keeps_open_and_closed_transactions(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite"
    old = tmp_path / "migrations"
    old.mkdir()
    for file in sorted(MIGRATIONS.glob("00[12]_*.sql")):
        (old / file.name).write_text(file.read_text())
    engine = open_engine(path, old)
    with engine.begin() as conn:
        for session, active in (("open", 1), ("closed", 0)):
            conn.execute(text("INSERT INTO transactions (session_id, connector_id, id_tag, started_at, meter_start, "
                              "active, last_meter_wh, last_meter_at) VALUES (:s, 1, 'T', :t, 5, :a, 9, :t)"),
                         {"s": session, "t": T0.isoformat(), "a": active})
    engine.dispose()
    store = TxStore(open_engine(path, MIGRATIONS))
    unfinished = store.unfinished()
    assert [(t.session_id, t.phase, t.last_meter_wh) for t in unfinished] == [("open", "active", 9)]
    closed = store.get("closed")
    assert closed is not None and replace(closed, last_meter_at=T0).phase == "stopped"


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from(["meter", "stop"]), max_size=30))
def test_the_outbox_keeps_the_order_written(steps: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = TxStore(open_engine(Path(tmp) / "gw.sqlite", MIGRATIONS))
        store.begin(_tx("s"))
        store.commit_start("s", T0, 0, {"n": 0})
        expected = ["StartTransaction"]
        for n, step in enumerate(steps, 1):
            if step == "meter":
                if store.meter("s", n, T0, {"n": n}):
                    expected.append("MeterValues")
            elif store.stop("s", "Local", T0, n, {"n": n}):
                expected.append("StopTransaction")
        queued = store.head(100)
        assert [m.action for m in queued] == expected
        assert [m.payload["n"] for m in queued if m.payload] == sorted(m.payload["n"] for m in queued if m.payload)
        assert expected.count("StopTransaction") <= 1
        assert "StopTransaction" not in expected[:-1]  # nothing of the session queued behind its stop


def test_the_start_holds_the_reading_taken_while_it_was_recorded(store: TxStore) -> None:
    """begin() records the last register known; the meter reading, taken meanwhile, is the start's own."""
    store.begin(_tx("s1"))
    starting = store.get("s1")
    assert starting is not None and starting.meter_start == 100
    store.commit_start("s1", T0, 130, {"connector_id": 1})
    started = store.get("s1")
    assert started is not None and started.meter_start == 130 and started.last_meter_wh == 130


def _event(kind: str) -> Callable[[int], dict[str, object]]:
    """What a 2.0.1 TransactionEvent's payload is built from: its seqNo, known once it is queued."""
    return lambda seq_no: {"event_type": kind, "seq_no": seq_no}


def test_transaction_events_are_numbered_as_queued_and_the_count_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite"
    store = TxStore(open_engine(path, MIGRATIONS))
    store.begin(_tx("a", 1))
    store.begin(_tx("b", 2))
    store.commit_start("a", T0, 100, _event("Started"), action="TransactionEvent")
    store.commit_start("b", T0, 100, _event("Started"), action="TransactionEvent")
    store.meter("a", 110, T0, _event("Updated"), action="TransactionEvent")
    reopened = TxStore(open_engine(path, MIGRATIONS))  # a restart between two events of one transaction
    reopened.meter("a", 120, T0, _event("Updated"), action="TransactionEvent")
    assert reopened.stop("a", "Local", T0, 130, _event("Ended"), action="TransactionEvent")
    queued = [(m.session_id, m.action, m.payload) for m in reopened.head(10)]
    assert queued == [("a", "TransactionEvent", {"event_type": "Started", "seq_no": 0}),
                      ("b", "TransactionEvent", {"event_type": "Started", "seq_no": 0}),
                      ("a", "TransactionEvent", {"event_type": "Updated", "seq_no": 1}),
                      ("a", "TransactionEvent", {"event_type": "Updated", "seq_no": 2}),
                      ("a", "TransactionEvent", {"event_type": "Ended", "seq_no": 3})]


def test_an_event_that_cannot_be_built_is_not_queued_and_takes_no_number(store: TxStore) -> None:
    store.begin(_tx("a"))
    store.commit_start("a", T0, 100, _event("Started"), action="TransactionEvent")

    def broken(_seq_no: int) -> dict[str, object]:
        raise ValueError("no meter value")

    with pytest.raises(ValueError, match="no meter value"):
        store.meter("a", 110, T0, broken, action="TransactionEvent")
    tx = store.get("a")
    assert tx is not None and tx.last_meter_wh == 100  # the failed one changed nothing in the row either
    store.meter("a", 120, T0, _event("Updated"), action="TransactionEvent")
    assert [m.payload["seq_no"] for m in store.head(10) if m.payload] == [0, 1]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["a", "b"]), max_size=12))
def test_each_transaction_counts_its_own_events_in_any_interleaving(order: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = TxStore(open_engine(Path(tmp) / "gw.sqlite", MIGRATIONS))
        for connector, session in enumerate(("a", "b"), 1):
            store.begin(_tx(session, connector))
            store.commit_start(session, T0, 100, _event("Started"), action="TransactionEvent")
        for n, session in enumerate(order):
            store.meter(session, 100 + n, T0, _event("Updated"), action="TransactionEvent")
        for session in ("a", "b"):
            numbers = [m.payload["seq_no"] for m in store.head(100) if m.session_id == session and m.payload]
            assert numbers == list(range(1 + order.count(session)))


def _counted(store: TxStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM outbox")).scalar_one())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["start", "meter", "stop", "confirm", "done", "aside_one", "aside_session"]),
                max_size=25))
def test_the_pending_count_is_the_outbox_as_it_is(steps: list[str]) -> None:
    """Kept as messages come and go, not counted each time: after any order of what the gateway does, it is what
    the table holds, and a new store on the same file says the same."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gw.sqlite"
        store = TxStore(open_engine(path, MIGRATIONS))
        told: list[int] = []  # what the link would publish after each change
        store.on_outbox_change = lambda: told.append(store.pending())
        sessions = 0
        for step in steps:
            heads = store.head(100)
            if step == "start":
                sessions += 1
                store.begin(_tx(f"s{sessions}", sessions))
                store.commit_start(f"s{sessions}", T0, 100, {"n": sessions})
            elif step == "meter" and sessions:
                store.meter(f"s{sessions}", 110, T0, {"m": 1})
            elif step == "stop" and sessions:
                store.stop(f"s{sessions}", "Local", T0, 120, {"s": 1})
            elif step == "confirm" and heads:
                store.confirm_start(heads[0].seq, heads[0].session_id, 1000 + heads[0].seq)
            elif step == "done" and heads:
                store.done(*[m.seq for m in heads[:2]])
            elif step == "aside_one" and heads:
                store.set_aside("test", seq=heads[0].seq)
            elif step == "aside_session" and heads:
                store.set_aside("test", session_id=heads[-1].session_id)
            assert store.pending() == _counted(store), step
        assert not told or told[-1] == _counted(store)  # the last figure published is the true one
        assert TxStore(open_engine(path, MIGRATIONS)).pending() == store.pending()

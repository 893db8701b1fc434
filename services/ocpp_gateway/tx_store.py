"""Transactions and the ordered outbox of transaction messages, in the gateway's SQLite file.

A session is written in phase `starting` before the output is energized; once power confirms, the
same row turns `active` and its StartTransaction enters the outbox in one SQLite transaction. A
stop closes the row and queues its StopTransaction in one SQLite transaction. After a crash at any
point, the row and the queue agree.

The outbox is the one record of what the CSMS has not confirmed: "is this session's start (or stop)
confirmed?" is answered from it, nothing else. Payloads are stored without `transactionId`; it is
filled in when a message is sent, from the row the StartTransaction.conf updated, so no message ever
carries a made-up id. A message that can never be sent is moved to `outbox_set_aside`, kept for a
technician, and the queue moves on.

An OCPP 2.0.1 TransactionEvent is numbered (seqNo) as it is queued: its payload is built from the count of the
transaction's events kept in its row, which goes up in the same SQLite transaction, so a restart neither
reuses nor skips a number.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from services.common.db import reading, writing

STARTING, ACTIVE, STOPPED = "starting", "active", "stopped"
# a queued message's payload, or what builds it from the transaction's next event number (2.0.1 seqNo)
Payload = dict[str, Any] | Callable[[int], dict[str, Any]]


@dataclass(frozen=True)
class Tx:
    session_id: str
    connector_id: int
    id_tag: str
    started_at: datetime
    meter_start: int
    transaction_id: int | None
    phase: str
    last_meter_wh: int
    last_meter_at: datetime
    parent_id_tag: str | None = None
    suspended: bool = False
    stop_at_wh: int | None = None
    reservation_id: int | None = None

    @property
    def open(self) -> bool:
        return self.phase != STOPPED


@dataclass(frozen=True)
class OutboxMessage:
    seq: int
    session_id: str
    action: str
    payload: dict[str, Any] | None  # None: the stored text is not JSON
    attempts: int
    raw: str


_TX_COLUMNS = ("session_id, connector_id, id_tag, started_at, meter_start, transaction_id, phase, last_meter_wh, "
               "last_meter_at, parent_id_tag, suspended, stop_at_wh, reservation_id")


def _tx(row: Any) -> Tx:
    return Tx(row[0], row[1], row[2], datetime.fromisoformat(row[3]), row[4], row[5], row[6], row[7],
              datetime.fromisoformat(row[8]), row[9], bool(row[10]), row[11], row[12])


@dataclass(frozen=True)
class StoredReservation:
    reservation_id: int
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry: datetime


def _value(cursor: sqlite3.Cursor) -> Any:
    """The first column of the first row, or None when there is no row."""
    row = cursor.fetchone()
    return None if row is None else row[0]


def _message(row: Any) -> OutboxMessage:
    try:
        payload = json.loads(row[3])
    except ValueError:
        payload = None
    return OutboxMessage(row[0], row[1], row[2], payload if isinstance(payload, dict) else None, row[4], row[3])


class TxStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # told after every committed change of the outbox: its size is published with the link's state
        self.on_outbox_change: Callable[[], None] = lambda: None
        self._pending: int | None = None  # messages in the outbox; None: to be counted

    # -- sessions ---------------------------------------------------------------------------------

    def unfinished(self) -> list[Tx]:
        """Sessions not stopped: `starting` (energize asked, not confirmed) and `active`."""
        with reading(self.engine) as conn:
            rows = conn.execute(f"SELECT {_TX_COLUMNS} FROM transactions WHERE phase != 'stopped' "
                                "ORDER BY started_at").fetchall()
        return [_tx(r) for r in rows]

    def get(self, session_id: str) -> Tx | None:
        with reading(self.engine) as conn:
            row = conn.execute(f"SELECT {_TX_COLUMNS} FROM transactions WHERE session_id = :s",
                               {"s": session_id}).fetchone()
        return _tx(row) if row else None

    def open_session(self, connector_id: int) -> Tx | None:
        with reading(self.engine) as conn:
            row = conn.execute(f"SELECT {_TX_COLUMNS} FROM transactions WHERE connector_id = :c AND "
                               "phase != 'stopped'", {"c": connector_id}).fetchone()
        return _tx(row) if row else None

    def begin(self, tx: Tx) -> None:
        """The session exists (phase starting) before power is asked to energize for it."""
        with writing(self.engine) as conn:
            conn.execute(f"INSERT INTO transactions ({_TX_COLUMNS}) VALUES (:session_id, :connector_id, "
                         ":id_tag, :started_at, :meter_start, NULL, 'starting', :meter_start, :started_at, "
                         ":parent, 0, NULL, :reservation)",
                         {"session_id": tx.session_id, "connector_id": tx.connector_id, "id_tag": tx.id_tag,
                          "started_at": tx.started_at.isoformat(), "meter_start": tx.meter_start,
                          "parent": tx.parent_id_tag, "reservation": tx.reservation_id})

    def commit_start(self, session_id: str, started_at: datetime, meter_start: int, start_payload: Payload,
                     action: str = "StartTransaction") -> None:
        """Power energized: the session is active from `meter_start` and its StartTransaction is queued, together."""
        with writing(self.engine) as conn:
            conn.execute("UPDATE transactions SET phase = 'active', started_at = :t, last_meter_at = :t, "
                         "meter_start = :m, last_meter_wh = :m WHERE session_id = :s AND phase = 'starting'",
                         {"s": session_id, "t": started_at.isoformat(), "m": meter_start})
            self._enqueue(conn, session_id, action, start_payload)
        self._moved(1)

    def discard(self, session_id: str) -> None:
        """A start that never energized: no trace for the CSMS."""
        with writing(self.engine) as conn:
            conn.execute("DELETE FROM transactions WHERE session_id = :s AND phase = 'starting'",
                         {"s": session_id})

    def stop(self, session_id: str, reason: str, stopped_at: datetime, meter_stop: int, stop_payload: Payload,
             action: str = "StopTransaction") -> bool:
        """Close the session and queue its StopTransaction; False when it was closed already."""
        with writing(self.engine) as conn:
            changed = conn.execute(
                "UPDATE transactions SET phase = 'stopped', stop_reason = :r, stopped_at = :t, meter_stop = :m, "
                "last_meter_wh = :m, last_meter_at = :t WHERE session_id = :s AND phase = 'active'",
                {"r": reason, "t": stopped_at.isoformat(), "m": meter_stop, "s": session_id}).rowcount
            if changed:
                self._enqueue(conn, session_id, action, stop_payload)
                conn.execute("DELETE FROM transaction_data WHERE session_id = :s", {"s": session_id})
        if changed:
            self._moved(1)
        return bool(changed)

    def meter(self, session_id: str, energy_wh: int, at: datetime, meter_values: Payload | None,
              action: str = "MeterValues") -> bool:
        """Record the last known reading (for a PowerLoss stop) and queue transaction MeterValues.

        Only for an active session: nothing of a session is ever queued behind its StopTransaction.
        """
        with writing(self.engine) as conn:
            active = conn.execute("UPDATE transactions SET last_meter_wh = MAX(last_meter_wh, :m), "
                                  "last_meter_at = :t WHERE session_id = :s AND phase = 'active'",
                                  {"m": energy_wh, "t": at.isoformat(), "s": session_id}).rowcount
            if active and meter_values is not None:
                self._enqueue(conn, session_id, action, meter_values)
        if active and meter_values is not None:
            self._moved(1)
        return bool(active)

    def suspend(self, session_id: str) -> None:
        with writing(self.engine) as conn:
            conn.execute("UPDATE transactions SET suspended = 1, stop_at_wh = NULL WHERE session_id = :s",
                         {"s": session_id})

    def set_budget(self, session_id: str, stop_at_wh: int | None) -> None:
        with writing(self.engine) as conn:
            conn.execute("UPDATE transactions SET stop_at_wh = :w WHERE session_id = :s",
                         {"w": stop_at_wh, "s": session_id})

    def set_parent(self, session_id: str, parent_id_tag: str) -> None:
        with writing(self.engine) as conn:
            conn.execute("UPDATE transactions SET parent_id_tag = :p WHERE session_id = :s",
                         {"p": parent_id_tag, "s": session_id})

    def last_register_wh(self) -> int | None:
        """The highest meter value any session recorded: the register can only have grown since."""
        with reading(self.engine) as conn:
            value = _value(conn.execute("SELECT MAX(last_meter_wh) FROM transactions"))
        return int(value) if value is not None else None

    def add_transaction_data(self, session_id: str, meter_value: dict[str, Any]) -> None:
        with writing(self.engine) as conn:
            conn.execute("INSERT INTO transaction_data (session_id, meter_value) SELECT :s, :v WHERE EXISTS "
                         "(SELECT 1 FROM transactions WHERE session_id = :s AND phase = 'active')",
                         {"s": session_id, "v": json.dumps(meter_value)})

    def transaction_data(self, session_id: str) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            rows = conn.execute("SELECT meter_value FROM transaction_data WHERE session_id = :s ORDER BY seq",
                                {"s": session_id}).fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- the outbox -------------------------------------------------------------------------------

    def enqueue(self, session_id: str, action: str, payload: Payload) -> None:
        """Queue one message of an open session (its start, told late: `engine._tell_start`)."""
        with writing(self.engine) as conn:
            self._enqueue(conn, session_id, action, payload)
        self._moved(1)

    def events(self, session_id: str) -> int:
        """How many numbered (2.0.1) events of the session were queued."""
        with reading(self.engine) as conn:
            return int(_value(conn.execute("SELECT events FROM transactions WHERE session_id = :s",
                                           {"s": session_id})) or 0)

    def queued(self, session_id: str, action: str) -> bool:
        """Was a message of this action queued for the session (waiting, or set aside)?"""
        with reading(self.engine) as conn:
            return conn.execute(
                "SELECT 1 FROM outbox WHERE session_id = :s AND action = :a UNION ALL "
                "SELECT 1 FROM outbox_set_aside WHERE session_id = :s AND action = :a LIMIT 1",
                {"s": session_id, "a": action}).fetchone() is not None

    @staticmethod
    def _enqueue(conn: Any, session_id: str, action: str, payload: Payload) -> None:
        if callable(payload):
            seq_no = conn.execute("UPDATE transactions SET events = events + 1 WHERE session_id = :s "
                                  "RETURNING events - 1", {"s": session_id}).fetchall()[0][0]
            payload = payload(int(seq_no))
        conn.execute("INSERT INTO outbox (session_id, action, payload) VALUES (:s, :a, :p)",
                     {"s": session_id, "a": action, "p": json.dumps(payload)})

    def head(self, limit: int = 1, after: int = 0) -> list[OutboxMessage]:
        with reading(self.engine) as conn:
            rows = conn.execute("SELECT seq, session_id, action, payload, attempts FROM outbox WHERE seq > :a "
                                "ORDER BY seq LIMIT :n", {"n": limit, "a": after}).fetchall()
        return [_message(r) for r in rows]

    def confirm_start(self, seq: int, session_id: str, transaction_id: int | None) -> None:
        """The CSMS confirmed the start: its message leaves the queue (with the id a 1.6 CSMS gave it)."""
        with writing(self.engine) as conn:
            conn.execute("UPDATE transactions SET transaction_id = :t WHERE session_id = :s",
                         {"t": transaction_id, "s": session_id})
            gone = conn.execute("DELETE FROM outbox WHERE seq = :q", {"q": seq}).rowcount
        self._moved(-gone)

    def done(self, *seqs: int) -> None:
        if not seqs:
            return
        with writing(self.engine) as conn:
            conn.executemany("DELETE FROM outbox WHERE seq = :q", [{"q": q} for q in seqs])
        self._moved(None)  # a batch: counted again when next read

    def failed(self, seq: int) -> int:
        """Count one more CALLERROR for this message; returns the count."""
        with writing(self.engine) as conn:
            conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = :q", {"q": seq})
            return int(conn.execute("SELECT attempts FROM outbox WHERE seq = :q", {"q": seq}).fetchone()[0])

    def set_aside(self, reason: str, *, seq: int | None = None, session_id: str | None = None) -> int:
        """Move one message (or every queued message of a session) out of the queue; returns how many."""
        params: dict[str, object] = {"q": seq} if seq is not None else {"s": session_id}
        where = "seq = :q" if seq is not None else "session_id = :s"
        with writing(self.engine) as conn:
            conn.execute("INSERT INTO outbox_set_aside (seq, session_id, action, payload, attempts, reason, "
                         f"set_aside_at) SELECT seq, session_id, action, payload, attempts, :r, :t FROM outbox "
                         f"WHERE {where}", {**params, "r": reason[:500], "t": datetime.now(UTC).isoformat()})
            count = int(conn.execute(f"DELETE FROM outbox WHERE {where}", params).rowcount)
        self._moved(-count)
        return count

    def pending(self) -> int:
        """How many messages wait in the outbox. Kept as they come and go: counting the rows of a long queue on
        every message cost a tenth of the replay rate."""
        if self._pending is None:
            with reading(self.engine) as conn:
                self._pending = int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        return self._pending

    def _moved(self, change: int | None) -> None:
        """Messages came into the outbox or left it (None: some number, counted again when next read)."""
        if change is None or self._pending is None:
            self._pending = None
        else:
            self._pending += change
        self.on_outbox_change()

    def unconfirmed(self, connector_id: int, actions: tuple[str, str] = ("StartTransaction", "StopTransaction")
                    ) -> bool:
        """A start of this connector not yet confirmed (starting, or its start message queued), or a stop
        message still queued: the CSMS must learn of the transaction before its statuses. `actions`: the
        start and stop messages' outbox names."""
        with reading(self.engine) as conn:
            row = conn.execute(
                "SELECT 1 FROM transactions t WHERE t.connector_id = :c AND (t.phase = 'starting' OR EXISTS "
                "(SELECT 1 FROM outbox o WHERE o.session_id = t.session_id AND o.action IN (:a, :b))) LIMIT 1",
                {"c": connector_id, "a": actions[0], "b": actions[1]}).fetchone()
        return row is not None

    def transaction_id(self, session_id: str) -> int | None:
        with reading(self.engine) as conn:
            value = _value(conn.execute("SELECT transaction_id FROM transactions WHERE session_id = :s",
                                        {"s": session_id}))
        return int(value) if value is not None else None

    # -- reservations -----------------------------------------------------------------------------

    def reservations(self) -> list[StoredReservation]:
        with reading(self.engine) as conn:
            rows = conn.execute("SELECT reservation_id, connector_id, id_tag, parent_id_tag, expiry_date FROM "
                                "reservations ORDER BY connector_id").fetchall()
        return [StoredReservation(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4])) for r in rows]

    def save_reservation(self, r: StoredReservation) -> None:
        """Keep a reservation (one per connector; the same id replaces its old one wherever it was)."""
        with writing(self.engine) as conn:
            conn.execute("DELETE FROM reservations WHERE reservation_id = :i OR connector_id = :c",
                         {"i": r.reservation_id, "c": r.connector_id})
            conn.execute("INSERT INTO reservations (reservation_id, connector_id, id_tag, parent_id_tag, "
                         "expiry_date) VALUES (:i, :c, :t, :p, :e)",
                         {"i": r.reservation_id, "c": r.connector_id, "t": r.id_tag, "p": r.parent_id_tag,
                          "e": r.expiry.isoformat()})

    def delete_reservation(self, reservation_id: int) -> None:
        with writing(self.engine) as conn:
            conn.execute("DELETE FROM reservations WHERE reservation_id = :i", {"i": reservation_id})

    # -- what the gateway remembers across restarts -----------------------------------------------

    def state(self, key: str) -> str | None:
        with reading(self.engine) as conn:
            value = _value(conn.execute("SELECT value FROM gateway_state WHERE key = :k", {"k": key}))
        return str(value) if value is not None else None

    def set_state(self, key: str, value: str | None) -> None:
        with writing(self.engine) as conn:
            if value is None:
                conn.execute("DELETE FROM gateway_state WHERE key = :k", {"k": key})
            else:
                conn.execute("INSERT INTO gateway_state (key, value) VALUES (:k, :v) ON CONFLICT (key) "
                             "DO UPDATE SET value = excluded.value", {"k": key, "v": value})

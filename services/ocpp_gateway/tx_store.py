"""Transactions and the ordered outbox of transaction messages, in the gateway's SQLite file.

A transaction row and its StartTransaction (or StopTransaction) are written in one SQLite
transaction, before anything is sent: after a crash at any point either both exist or neither.
Outbox payloads are stored without `transactionId`; it is filled in when the message is sent,
from the row the StartTransaction.conf updated, so no message ever carries a made-up id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Tx:
    session_id: str
    connector_id: int
    id_tag: str
    started_at: datetime
    meter_start: int
    transaction_id: int | None
    active: bool
    last_meter_wh: int
    last_meter_at: datetime


@dataclass(frozen=True)
class OutboxMessage:
    seq: int
    session_id: str
    action: str
    payload: dict[str, Any]
    attempts: int


_TX_COLUMNS = ("session_id, connector_id, id_tag, started_at, meter_start, transaction_id, active, last_meter_wh, "
               "last_meter_at")


def _tx(row: Any) -> Tx:
    return Tx(row[0], row[1], row[2], datetime.fromisoformat(row[3]), row[4], row[5], bool(row[6]), row[7],
              datetime.fromisoformat(row[8]))


class TxStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_transactions(self) -> list[Tx]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT {_TX_COLUMNS} FROM transactions WHERE active = 1")).all()
        return [_tx(r) for r in rows]

    def get(self, session_id: str) -> Tx | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(f"SELECT {_TX_COLUMNS} FROM transactions WHERE session_id = :s"),
                               {"s": session_id}).first()
        return _tx(row) if row else None

    def by_transaction_id(self, transaction_id: int) -> Tx | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(f"SELECT {_TX_COLUMNS} FROM transactions WHERE transaction_id = :t AND active = 1"),
                               {"t": transaction_id}).first()
        return _tx(row) if row else None

    def start(self, tx: Tx, start_payload: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO transactions ({_TX_COLUMNS}) VALUES (:session_id, :connector_id, :id_tag, "
                              ":started_at, :meter_start, NULL, 1, :meter_start, :started_at)"),
                         {"session_id": tx.session_id, "connector_id": tx.connector_id, "id_tag": tx.id_tag,
                          "started_at": tx.started_at.isoformat(), "meter_start": tx.meter_start})
            self._enqueue(conn, tx.session_id, "StartTransaction", start_payload)

    def stop(self, session_id: str, reason: str, stopped_at: datetime, meter_stop: int,
             stop_payload: dict[str, Any]) -> bool:
        """Close the transaction and queue its StopTransaction; False when it was closed already."""
        with self.engine.begin() as conn:
            changed = conn.execute(text(
                "UPDATE transactions SET active = 0, stop_reason = :r, stopped_at = :t, meter_stop = :m, "
                "last_meter_wh = :m, last_meter_at = :t WHERE session_id = :s AND active = 1"),
                {"r": reason, "t": stopped_at.isoformat(), "m": meter_stop, "s": session_id}).rowcount
            if changed:
                self._enqueue(conn, session_id, "StopTransaction", stop_payload)
        return bool(changed)

    def meter(self, session_id: str, energy_wh: int, at: datetime, meter_values: dict[str, Any] | None) -> None:
        """Record the last known reading (for a PowerLoss stop) and queue transaction MeterValues."""
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE transactions SET last_meter_wh = MAX(last_meter_wh, :m), last_meter_at = :t "
                              "WHERE session_id = :s AND active = 1"),
                         {"m": energy_wh, "t": at.isoformat(), "s": session_id})
            if meter_values is not None:
                self._enqueue(conn, session_id, "MeterValues", meter_values)

    def confirm_start(self, seq: int, session_id: str, transaction_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE transactions SET transaction_id = :t WHERE session_id = :s"),
                         {"t": transaction_id, "s": session_id})
            conn.execute(text("DELETE FROM outbox WHERE seq = :q"), {"q": seq})

    @staticmethod
    def _enqueue(conn: Any, session_id: str, action: str, payload: dict[str, Any]) -> None:
        conn.execute(text("INSERT INTO outbox (session_id, action, payload) VALUES (:s, :a, :p)"),
                     {"s": session_id, "a": action, "p": json.dumps(payload)})

    def head(self, limit: int = 1) -> list[OutboxMessage]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, session_id, action, payload, attempts FROM outbox ORDER BY seq "
                                     "LIMIT :n"), {"n": limit}).all()
        return [OutboxMessage(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def done(self, seq: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox WHERE seq = :q"), {"q": seq})

    def failed(self, seq: int) -> int:
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE outbox SET attempts = attempts + 1 WHERE seq = :q"), {"q": seq})
            return int(conn.execute(text("SELECT attempts FROM outbox WHERE seq = :q"), {"q": seq}).scalar_one())

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM outbox")).scalar_one())

    def transaction_id(self, session_id: str) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(text("SELECT transaction_id FROM transactions WHERE session_id = :s"),
                                 {"s": session_id}).scalar()
        return int(value) if value is not None else None

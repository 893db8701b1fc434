"""A gateway database holding a long offline period: one transaction and `count` queued messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from services.common.db import open_engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "ocpp_gateway" / "migrations"


def fill_outbox(db: Path, count: int) -> None:
    """StartTransaction, count-2 MeterValues (value i Wh at second i), StopTransaction; the session is closed."""
    engine = open_engine(db, MIGRATIONS)
    t0 = datetime(2026, 11, 25, tzinfo=UTC)
    rows = [{"a": "StartTransaction", "p": json.dumps({"connector_id": 1, "id_tag": "OFFLINE1", "meter_start": 0,
                                                        "timestamp": t0.isoformat()})}]
    for i in range(1, count - 1):
        at = (t0 + timedelta(seconds=i)).isoformat()
        rows.append({"a": "MeterValues", "p": json.dumps({"connector_id": 1, "meter_value": [{"timestamp": at,
                     "sampled_value": [{"value": str(i), "measurand": "Energy.Active.Import.Register",
                                        "unit": "Wh", "context": "Sample.Periodic"}]}]})})
    end = (t0 + timedelta(seconds=count)).isoformat()
    rows.append({"a": "StopTransaction", "p": json.dumps({"meter_stop": count, "timestamp": end, "reason": "Local",
                                                          "id_tag": "OFFLINE1"})})
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO transactions (session_id, connector_id, id_tag, started_at, meter_start, transaction_id, "
            "phase, last_meter_wh, last_meter_at, stop_reason, stopped_at, meter_stop) VALUES ('offline', 1, "
            "'OFFLINE1', :t, 0, NULL, 'stopped', :n, :e, 'Local', :e, :n)"),
            {"t": t0.isoformat(), "e": end, "n": count})
        conn.execute(text("INSERT INTO outbox (session_id, action, payload) VALUES ('offline', :a, :p)"), rows)
    engine.dispose()

"""The transaction store and outbox: order, one StopTransaction per transaction, the id filled in on confirm."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.db import open_engine
from services.ocpp_gateway.tx_store import Tx, TxStore

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "ocpp_gateway" / "migrations"
T0 = datetime(2026, 11, 25, tzinfo=UTC)


def _tx(session: str) -> Tx:
    return Tx(session_id=session, connector_id=1, id_tag="TAG", started_at=T0, meter_start=100, transaction_id=None,
              active=True, last_meter_wh=100, last_meter_at=T0)


def test_start_meter_stop_in_order_and_one_stop_only(tmp_path: Path) -> None:
    store = TxStore(open_engine(tmp_path / "gw.sqlite", MIGRATIONS))
    store.start(_tx("s1"), {"connector_id": 1})
    store.meter("s1", 150, T0, {"connector_id": 1, "meter_value": []})
    assert store.stop("s1", "Local", T0, 200, {"meter_stop": 200})
    assert not store.stop("s1", "Remote", T0, 300, {"meter_stop": 300})  # never a second StopTransaction
    assert [m.action for m in store.head(10)] == ["StartTransaction", "MeterValues", "StopTransaction"]
    assert store.transaction_id("s1") is None and store.open_transactions() == []

    start = store.head()[0]
    store.confirm_start(start.seq, "s1", 4711)
    assert store.transaction_id("s1") == 4711 and store.pending() == 2
    assert store.failed(store.head()[0].seq) == 1 and store.failed(store.head()[0].seq) == 2


def test_power_loss_reading_is_the_last_recorded_one(tmp_path: Path) -> None:
    path = tmp_path / "gw.sqlite"
    store = TxStore(open_engine(path, MIGRATIONS))
    store.start(_tx("s1"), {"connector_id": 1})
    later = datetime(2026, 11, 25, 0, 5, tzinfo=UTC)
    store.meter("s1", 900, later, None)
    store.meter("s1", 800, later, None)  # never backwards
    reopened = TxStore(open_engine(path, MIGRATIONS)).open_transactions()
    assert [(t.session_id, t.last_meter_wh, t.last_meter_at) for t in reopened] == [("s1", 900, later)]


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from(["meter", "stop"]), max_size=30))
def test_the_outbox_keeps_the_order_written(steps: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = TxStore(open_engine(Path(tmp) / "gw.sqlite", MIGRATIONS))
        store.start(_tx("s"), {"n": 0})
        expected = ["StartTransaction"]
        for n, step in enumerate(steps, 1):
            if step == "meter":
                store.meter("s", n, T0, {"n": n})
                expected.append("MeterValues")
            elif store.stop("s", "Local", T0, n, {"n": n}):
                expected.append("StopTransaction")
        queued = store.head(100)
        assert [m.action for m in queued] == expected
        assert [m.payload["n"] for m in queued] == sorted(m.payload["n"] for m in queued)
        assert expected.count("StopTransaction") <= 1

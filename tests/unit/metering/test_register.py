"""The energy register: monotonic across meter restarts and process restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from services.common.db import open_engine
from services.metering.register import Register, advance
from services.metering.sampling import next_aligned

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "metering" / "migrations"


def test_advance() -> None:
    assert advance(0.0, None, 500.0) == 0.0  # the first reading only sets the baseline
    assert advance(100.0, 500.0, 700.0) == 300.0
    assert advance(300.0, 700.0, 40.0) == 340.0  # the meter restarted from 0


@given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=1, max_size=50))
def test_register_never_goes_down(counters: list[float]) -> None:
    energy, last = 0.0, None
    for counter in counters:
        new = advance(energy, last, counter)
        assert new >= energy
        energy, last = new, counter


def test_register_survives_a_restart(tmp_path: Path) -> None:
    at = datetime.now(UTC)
    register = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    register.update(1, 1000.0, at)
    register.update(1, 1500.0, at + timedelta(seconds=1))
    again = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    assert again.energy[1] == 500.0
    assert again.update(1, 1600.0, at + timedelta(seconds=2)) == 600.0


def test_clock_alignment() -> None:
    assert next_aligned(899.0, 900) == 900
    assert next_aligned(900.0, 900) == 1800


def test_an_older_reading_is_not_a_meter_restart(tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    register = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    register.update(1, 1000.0, t0)
    register.update(1, 1500.0, t0 + timedelta(seconds=2))
    # a stale retained copy restored by a crashed broker: older and lower
    assert register.update(1, 1200.0, t0 + timedelta(seconds=1)) == 500.0
    again = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    assert again.update(1, 1200.0, t0 + timedelta(seconds=1)) == 500.0
    assert again.update(1, 1600.0, t0 + timedelta(seconds=3)) == 600.0

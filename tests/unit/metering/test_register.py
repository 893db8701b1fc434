"""The energy register: monotonic across meter restarts and process restarts."""

from __future__ import annotations

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
    register = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    register.update(1, 1000.0, "b1", 0)
    register.update(1, 1500.0, "b1", 1)
    again = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    assert again.energy[1] == 500.0
    assert again.update(1, 1600.0, "b1", 2) == 600.0


def test_clock_alignment() -> None:
    assert next_aligned(899.0, 900) == 900
    assert next_aligned(900.0, 900) == 1800


def test_an_older_reading_is_not_a_meter_restart(tmp_path: Path) -> None:
    register = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    register.update(1, 1000.0, "b1", 10)
    register.update(1, 1500.0, "b1", 12)
    # a stale retained copy restored by a crashed broker: taken before, lower
    assert register.update(1, 1200.0, "b1", 11) == 500.0
    again = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    assert again.update(1, 1200.0, "b1", 11) == 500.0
    assert again.update(1, 1600.0, "b1", 13) == 600.0


def test_a_reading_of_an_earlier_power_boot_is_stale(tmp_path: Path) -> None:
    register = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    register.update(1, 1000.0, "b1", 500)
    register.update(1, 1400.0, "b2", 0)  # power restarted; the meter went on counting
    assert register.update(1, 1100.0, "b1", 501) == 400.0  # a copy from the earlier boot, restored late
    again = Register(open_engine(tmp_path / "m.sqlite", MIGRATIONS))
    assert not again.newer(1, "b1", 9999) and again.newer(1, "b2", 1) and again.newer(1, "b3", 0)
    assert again.update(1, 100.0, "b3", 0) == 500.0  # a new boot with the meter restarted from 0


@given(st.lists(st.tuples(st.sampled_from(["b1", "b2", "b3"]), st.integers(0, 20),
                          st.floats(min_value=0, max_value=1e6, allow_nan=False)), max_size=40))
def test_the_register_never_goes_down_whatever_arrives(readings: list[tuple[str, int, float]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        register = Register(open_engine(Path(tmp) / "m.sqlite", MIGRATIONS))
        last = 0.0
        for boot, seq, counter in readings:
            value = register.update(1, counter, boot, seq)
            assert value >= last
            last = value

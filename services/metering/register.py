"""The energy register: monotonic Wh per connector, built from the DC meter's counter deltas.

The meter's own counter starts again from 0 when the meter powers up (a power cut, a module
reset). A counter lower than the last one seen therefore means a restart, and the whole new
counter is energy delivered since then. The register never goes down.

Readings are taken in the order power read them: each carries power's boot id and a sequence that
grows within that boot. A reading not newer than the last one counted (same boot, lower or equal
sequence), or from an earlier boot of power (a stale retained copy a crashed broker restores), is
ignored: it must not look like a meter restart. The wall clock plays no part, so readings stamped
2030 followed by readings stamped 2026 (an RTC before NTP) keep counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from services.common.db import writing

PAST_BOOTS_KEPT = 20


def advance(energy_wh: float, last_counter_wh: float | None, counter_wh: float) -> float:
    """The register after the meter reported `counter_wh`."""
    if last_counter_wh is None:
        return energy_wh  # the first reading ever only sets the baseline
    delta = counter_wh - last_counter_wh
    return energy_wh + (delta if delta >= 0 else counter_wh)


@dataclass
class Position:
    """Where the register stands for one connector."""

    energy_wh: float = 0.0
    last_counter_wh: float | None = None
    boot_id: str | None = None
    last_sequence: int = -1


class Register:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT connector_id, energy_wh, last_counter_wh, boot_id, last_sequence "
                                     "FROM register")).tuples().all()
            boots = conn.execute(text("SELECT connector_id, boot_id FROM past_boots")).tuples().all()
        self.positions = {c: Position(e, last, boot, seq if seq is not None else -1) for c, e, last, boot, seq in rows}
        self.past_boots: dict[int, set[str]] = {}
        for connector, boot in boots:
            self.past_boots.setdefault(connector, set()).add(boot)

    @property
    def energy(self) -> dict[int, float]:
        return {c: p.energy_wh for c, p in self.positions.items()}

    def newer(self, connector_id: int, boot_id: str, sequence: int) -> bool:
        """Is this reading after the last one counted?"""
        pos = self.positions.get(connector_id, Position())
        if boot_id == pos.boot_id:
            return sequence > pos.last_sequence
        return boot_id not in self.past_boots.get(connector_id, set())

    def update(self, connector_id: int, counter_wh: float, boot_id: str, sequence: int) -> float:
        """Advance and persist (before anyone is told); returns the register."""
        pos = self.positions.setdefault(connector_id, Position())
        if not self.newer(connector_id, boot_id, sequence):
            return pos.energy_wh
        energy = advance(pos.energy_wh, pos.last_counter_wh, counter_wh)
        new_boot = pos.boot_id is not None and boot_id != pos.boot_id
        if new_boot or energy != pos.energy_wh or counter_wh != pos.last_counter_wh or pos.boot_id is None:
            # once a second while charging: straight through the DBAPI (SQLAlchemy's machinery would double it)
            with writing(self.engine) as conn:
                if new_boot:
                    conn.execute("INSERT OR IGNORE INTO past_boots (connector_id, boot_id, seen_at) VALUES "
                                 "(:c, :b, :t)", {"c": connector_id, "b": pos.boot_id,
                                                  "t": datetime.now(UTC).isoformat()})
                    conn.execute("DELETE FROM past_boots WHERE connector_id = :c AND boot_id NOT IN (SELECT boot_id "
                                 "FROM past_boots WHERE connector_id = :c ORDER BY seen_at DESC LIMIT :n)",
                                 {"c": connector_id, "n": PAST_BOOTS_KEPT})
                conn.execute(
                    "INSERT INTO register (connector_id, energy_wh, last_counter_wh, updated_at, boot_id, "
                    "last_sequence) VALUES (:c, :e, :l, :t, :b, :s) ON CONFLICT (connector_id) DO UPDATE SET "
                    "energy_wh = excluded.energy_wh, last_counter_wh = excluded.last_counter_wh, "
                    "updated_at = excluded.updated_at, boot_id = excluded.boot_id, "
                    "last_sequence = excluded.last_sequence",
                    {"c": connector_id, "e": energy, "l": counter_wh, "t": datetime.now(UTC).isoformat(),
                     "b": boot_id, "s": sequence})
        if new_boot and pos.boot_id is not None:
            self.past_boots.setdefault(connector_id, set()).add(pos.boot_id)
        pos.energy_wh, pos.last_counter_wh, pos.boot_id, pos.last_sequence = energy, counter_wh, boot_id, sequence
        return energy

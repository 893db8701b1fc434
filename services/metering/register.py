"""The energy register: monotonic Wh per connector, built from the DC meter's counter deltas.

The meter's own counter starts again from 0 when the meter powers up (a power cut, a module
reset). A counter lower than the last one seen therefore means a restart, and the whole new
counter is energy delivered since then. The register never goes down.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text


def advance(energy_wh: float, last_counter_wh: float | None, counter_wh: float) -> float:
    """The register after the meter reported `counter_wh`."""
    if last_counter_wh is None:
        return energy_wh  # the first reading ever only sets the baseline
    delta = counter_wh - last_counter_wh
    return energy_wh + (delta if delta >= 0 else counter_wh)


class Register:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT connector_id, energy_wh, last_counter_wh, updated_at FROM register")).tuples().all()
        self.energy = {c: e for c, e, _, _ in rows}
        self.last_counter: dict[int, float | None] = {c: last for c, _, last, _ in rows}
        self.last_at = {c: datetime.fromisoformat(at) for c, _, _, at in rows}

    def update(self, connector_id: int, counter_wh: float, at: datetime) -> float:
        """Advance and persist (before anyone is told); returns the register.

        A reading not newer than the last one counted is ignored: after a broker crash the retained
        measurement it restores can be older than what we counted, and must not look like a meter restart.
        """
        last_at = self.last_at.get(connector_id)
        if last_at is not None and at <= last_at:
            return self.energy.get(connector_id, 0.0)
        energy = advance(self.energy.get(connector_id, 0.0), self.last_counter.get(connector_id), counter_wh)
        if energy == self.energy.get(connector_id) and counter_wh == self.last_counter.get(connector_id):
            self.last_at[connector_id] = at
            return energy
        with self.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO register (connector_id, energy_wh, last_counter_wh, updated_at) VALUES (:c, :e, :l, :t) "
                "ON CONFLICT (connector_id) DO UPDATE SET energy_wh = excluded.energy_wh, "
                "last_counter_wh = excluded.last_counter_wh, updated_at = excluded.updated_at"),
                {"c": connector_id, "e": energy, "l": counter_wh, "t": at.isoformat()})
        self.energy[connector_id] = energy
        self.last_counter[connector_id] = counter_wh
        self.last_at[connector_id] = at
        return energy

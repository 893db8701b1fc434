"""The maintenance caps (cmd/set_limit) on disk, so a cap a technician set holds across restarts until cleared.

A small JSON file, `<data_dir>/power_caps.json`, replaced atomically (written aside, fsynced, renamed): a
power cut leaves the old file or the new one.

A file that cannot be read (corrupt, not a map of connector to amperes, a negative or non-finite value) fails
closed: the cap it held is unknown and could have been there for a reason (a derated cable, a hot module), so
every connector gets `SAFE_CAP_A` instead of no cap. The file is left as it is, so every start of power fails
closed again, until a technician sets or clears a cap (which replaces it). The connector state says so
(`cap_fail_closed`), and so do `chargebus status` and the status page.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from services.common.durable import write_text

log = logging.getLogger(__name__)

# The lowest current a DC charge still makes sense at: the module regulates it stably and an EV takes it
# (EVs themselves ask for this little at the end of a charge); a few kW, so a charge goes on, slowly.
SAFE_CAP_A = 10.0


@dataclass(frozen=True)
class Caps:
    by_connector: dict[int, float] = field(default_factory=dict)
    unreadable: str | None = None  # why the file could not be read: every connector is at SAFE_CAP_A

    def cap(self, connector_id: int) -> float | None:
        return SAFE_CAP_A if self.unreadable is not None else self.by_connector.get(connector_id)


def _amperes(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{value!r} is not a current in amperes")
    return float(value)


def load(path: Path) -> Caps:
    try:
        raw = json.loads(path.read_text())
        return Caps({int(k): _amperes(v) for k, v in raw.items()})
    except FileNotFoundError:
        return Caps()
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        why = f"{path.name} unreadable: {exc}"[:200]
        log.error("maintenance caps: %s; every connector capped at %.1f A (fail closed) until a cap is set or "
                  "cleared", why, SAFE_CAP_A)
        return Caps(unreadable=why)


def save(path: Path, caps: dict[int, float]) -> None:
    write_text(path, json.dumps({str(k): v for k, v in sorted(caps.items())}))

"""Which installed version the station starts from: `<data_dir>/firmware/boot.json`, the supervisor's.

A version is a slot: a directory holding a complete virtual environment (the firmware service builds it
from a verified image). The station that `chargebus run` was first started from is the factory slot.
Installing switches `active` to the new slot and keeps the old one as `previous`; the new version is on
trial until every service has come online under it. A trial that fails, or a version that cannot even
start its supervisor (counted at each start: a crash before the check never comes back to clear it),
goes back to `previous`. The decisions are pure (`at_start`, `installed`, `rolled_back`); the file is
replaced atomically, so a power cut leaves the old state or the new one.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from services.common.contract.supervisor import SLOT_MARKER
from services.common.durable import write_text

# launches of a version on trial (each hop counts: the start that execs into it and its own start): two hops
# allow one power cut during the trial; one more means it never reached the check
MAX_TRIAL_STARTS = 4


@dataclass(frozen=True)
class Outcome:
    version: str
    installed: bool
    reason: str | None
    at: str  # ISO UTC


@dataclass(frozen=True)
class BootState:
    active: str
    factory: str
    previous: str | None = None
    trial_version: str | None = None
    trial_starts: int = 0
    outcome: Outcome | None = None


def state_path(data_dir: Path) -> Path:
    return data_dir / "firmware" / "boot.json"


def running_slot() -> str:
    """The slot this process runs from: its virtual environment."""
    return str(Path(sys.prefix).resolve())


def load(path: Path, running: str) -> BootState:
    """The boot state; the first start (no file) makes the running installation the factory slot.

    An unreadable file is kept aside and the running slot taken as the only one: starting is better than not.
    """
    try:
        raw = json.loads(path.read_text())
        outcome = Outcome(**raw["outcome"]) if raw.get("outcome") else None
        return BootState(active=raw["active"], factory=raw["factory"], previous=raw.get("previous"),
                         trial_version=raw.get("trial_version"), trial_starts=int(raw.get("trial_starts", 0)),
                         outcome=outcome)
    except FileNotFoundError:
        return BootState(active=running, factory=running)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        aside = path.with_name(f"{path.name}.unreadable-{int(datetime.now(UTC).timestamp())}")
        path.rename(aside)
        print(f"chargebus: {path} not readable ({exc}): kept as {aside.name}, starting from {running}",
              file=sys.stderr)
        return BootState(active=running, factory=running)


def save(path: Path, state: BootState) -> None:
    write_text(path, json.dumps(asdict(state), indent=2))


def usable(slot: str) -> bool:
    return (Path(slot) / "bin" / "chargebus").is_file()


def slots_dir(data_dir: Path) -> Path:
    return data_dir / "firmware" / "slots"


def not_installable(slot: str, version: str, data_dir: Path) -> str | None:
    """Why `slot` may not be installed, None when it may: only a slot the firmware service built from a verified
    image, a directory right under `slots_dir` with the builder's marker naming `version` (a directory that merely
    holds a bin/chargebus could be anything)."""
    try:
        path = Path(slot).resolve(strict=True)
    except OSError:
        return f"{slot} does not exist"
    if path.parent != slots_dir(data_dir).resolve():
        return f"{slot} is not a slot under {slots_dir(data_dir)}"
    try:
        marked = json.loads((path / SLOT_MARKER).read_text()).get("version")
    except (OSError, ValueError, AttributeError):
        return f"{slot} has no {SLOT_MARKER}: not built from a verified image"
    if marked != version:
        return f"{slot} holds version {marked!r}, not {version!r}"
    if not usable(str(path)):
        return f"{slot} is not a complete installation"
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def at_start(state: BootState) -> BootState:
    """The state to start with: a trial counts one more launch, and goes back when it has had its chances;
    an active slot that is gone (deleted by hand) falls back to previous, then factory."""
    if state.trial_version is not None:
        starts = state.trial_starts + 1
        if starts > MAX_TRIAL_STARTS:
            return rolled_back(state, f"version {state.trial_version} did not start ({state.trial_starts} tries)")
        state = replace(state, trial_starts=starts)
    if not usable(state.active):
        fallback = next((s for s in (state.previous, state.factory) if s and usable(s)), state.factory)
        return replace(state, active=fallback, trial_version=None, trial_starts=0)
    return state


def switching(state: BootState, slot: str, version: str) -> BootState:
    """Install: the slot becomes active, on trial; the one running now is what a failure goes back to."""
    return BootState(active=slot, factory=state.factory, previous=state.active, trial_version=version,
                     trial_starts=0, outcome=state.outcome)


def installed(state: BootState) -> BootState:
    assert state.trial_version is not None
    return replace(state, trial_version=None, trial_starts=0,
                   outcome=Outcome(state.trial_version, True, None, _now()))


def rolled_back(state: BootState, reason: str) -> BootState:
    back = state.previous if state.previous and usable(state.previous) else state.factory
    return BootState(active=back, factory=state.factory, previous=None, trial_version=None, trial_starts=0,
                     outcome=Outcome(state.trial_version or "?", False, reason, _now()))


def exec_argv(slot: str) -> list[str]:
    """How the supervisor restarts itself from a slot (same environment, same settings)."""
    return [str(Path(slot) / "bin" / "chargebus"), "run"]

"""Build a slot: a complete virtual environment of one version, installed offline from a verified image.

`<data_dir>/firmware/slots/<version>-<n>/`: a new directory for every install (a virtual environment
cannot be moved once built, so it is built where it will run). It is complete once `slot.json` exists,
written last; a directory without it (a power cut mid-build) is removed at the next build. Before it is
handed to the supervisor, the slot's own `chargebus` must start and import every service: a package
that cannot even load never gets to stop the running station.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.common.contract.supervisor import SLOT_MARKER

log = logging.getLogger(__name__)

BUILD_TIMEOUT_S = 600.0
KEEP = 3  # complete slots kept (the running one, the previous one and one more); older ones are removed


class SlotError(Exception):
    """The image's packages cannot be installed or do not start (a line of why)."""


def _run(argv: list[str], what: str, timeout: float = BUILD_TIMEOUT_S) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlotError(f"{what}: {exc}") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise SlotError(f"{what} failed ({done.returncode}): {tail}"[:500])


def build(parts: Path, version: str, slots_dir: Path, keep: tuple[str, ...] = ()) -> Path:
    """Install `chargebus==version` and its dependencies from the wheels in `parts` into a new slot.

    `keep`: slots never removed here (the running one and the previous one).
    """
    slots_dir.mkdir(parents=True, exist_ok=True)
    _tidy(slots_dir, keep)
    n = 1 + max((int(p.name.rsplit("-", 1)[1]) for p in slots_dir.glob(f"{version}-*")
                 if p.name.rsplit("-", 1)[1].isdigit()), default=0)
    dest = slots_dir / f"{version}-{n}"
    python = dest / "bin" / "python"
    # with pip: a later update runs from this slot and builds the next one with it
    _run([sys.executable, "-m", "venv", str(dest)], "creating the virtual environment")
    _run([str(python), "-m", "pip", "install", "--no-index", "--no-cache-dir", "--disable-pip-version-check",
          "--find-links", str(parts), f"chargebus=={version}"], f"installing chargebus {version} from the image")
    _run([str(python), "-c", "import services.cli.main, services.supervisor.main, services.ocpp_gateway.service, "
          "services.power.service, services.auth.service, services.metering.service, "
          "services.smart_charging.service, services.firmware.service, services.api.service; "
          "from services.common.can_dbc import find_dbc; find_dbc()"],
         "self-check of the new version (import every service)", timeout=120)
    (dest / SLOT_MARKER).write_text(json.dumps({"version": version, "built_at": datetime.now(UTC).isoformat()}))
    log.info("slot built version=%s path=%s", version, dest)
    return dest


def _tidy(slots_dir: Path, keep: tuple[str, ...]) -> None:
    """Remove unfinished slots and all but the newest complete ones (never one in `keep`)."""
    kept = {str(Path(k).resolve()) for k in keep}
    complete = sorted((p for p in slots_dir.iterdir() if (p / SLOT_MARKER).is_file()), key=lambda p: p.stat().st_mtime)
    for path in slots_dir.iterdir():
        if str(path.resolve()) in kept or not path.is_dir():
            continue
        if not (path / SLOT_MARKER).is_file() or path in complete[:-KEEP]:
            log.info("removing slot %s", path)
            shutil.rmtree(path, ignore_errors=True)

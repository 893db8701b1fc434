"""Which boot of the station this is: a new one after every restart of all the services, not of one."""

from __future__ import annotations

import os
from pathlib import Path

KERNEL_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
BOOT_GENERATION = "boot-generation"  # in the data directory: bumped by a restart of every service under compose


def current_boot_id(data_dir: Path) -> str:
    """The supervisor's boot id (`chargebus run`), else the machine's and the count of restarts of every
    service under compose (a CSMS Reset there is a new boot too)."""
    named = os.environ.get("CHARGEBUS_BOOT_ID")
    if named:
        return named
    try:
        kernel = "kernel-" + KERNEL_BOOT_ID.read_text().strip()
    except OSError:
        kernel = "unknown"
    try:
        return f"{kernel}-{(data_dir / BOOT_GENERATION).read_text().strip()}"
    except OSError:
        return kernel


def next_boot(data_dir: Path) -> None:
    """Under compose: the services started from now on belong to a new boot."""
    path = data_dir / BOOT_GENERATION
    try:
        generation = int(path.read_text().strip())
    except (OSError, ValueError):
        generation = 0
    path.write_text(f"{generation + 1}\n")

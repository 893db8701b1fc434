"""What the gateway remembers of its registration: Accepted, and under which boot of the station.

A boot of the station is one run of `chargebus run` (the supervisor hands every child the same
`CHARGEBUS_BOOT_ID`, and a new one when it restarts them all, e.g. for a Reset or a firmware
update); without a supervisor, one boot of the machine (the kernel's boot id). A gateway that
restarts alone, or a WebSocket that reconnects, stays in the same boot and sends no new
BootNotification.
"""

from __future__ import annotations

import os
from pathlib import Path

from .tx_store import TxStore

KEY = "registration_accepted_boot"
KERNEL_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def current_boot_id() -> str:
    named = os.environ.get("CHARGEBUS_BOOT_ID")
    if named:
        return named
    try:
        return "kernel-" + KERNEL_BOOT_ID.read_text().strip()
    except OSError:
        return "unknown"


class RegistrationMemory:
    def __init__(self, store: TxStore, boot_id: str) -> None:
        self._store = store
        self.boot_id = boot_id

    def accepted_this_boot(self) -> bool:
        return self._store.state(KEY) == self.boot_id

    def remember_accepted(self) -> None:
        self._store.set_state(KEY, self.boot_id)

    def forget(self) -> None:
        self._store.set_state(KEY, None)

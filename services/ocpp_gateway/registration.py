"""What the gateway remembers of its registration: Accepted, and under which boot of the station.

A boot of the station is one run of `chargebus run` (the supervisor hands every child the same
`CHARGEBUS_BOOT_ID`, and a new one when it restarts them all, e.g. for a Reset or a firmware
update); without a supervisor, one boot of the machine (the kernel's boot id). A gateway that
restarts alone, or a WebSocket that reconnects, stays in the same boot and sends no new
BootNotification.
"""

from __future__ import annotations

from .tx_store import TxStore

KEY = "registration_accepted_boot"




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

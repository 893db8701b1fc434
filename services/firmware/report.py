"""What the firmware service shows: the jobs' progress and the numbered status notifications (retained).

Both jobs write here; every change is published at once, so `chargebus status` and the gateway see it.
A notification is written to SQLite before it is published: the gateway sends each one once, in order,
even across a restart of either side or a switch to another version.
"""

from __future__ import annotations

from services.common.bus import Bus
from services.common.contract import firmware
from services.common.contract.firmware import (
    FirmwarePhase,
    JobsState,
    JobsStatus,
    Notification,
    UpdateProgress,
    UploadPhase,
)

from .store import JobStore


class Report:
    def __init__(self, bus: Bus, store: JobStore) -> None:
        self.bus = bus
        self.store = store
        self.firmware = FirmwarePhase.IDLE
        self.diagnostics = UploadPhase.IDLE
        self.update: UpdateProgress | None = None
        self.diagnostics_file: str | None = None

    def now(self) -> JobsStatus:
        return JobsStatus(firmware=self.firmware, diagnostics=self.diagnostics)

    def notify_firmware(self, status: FirmwarePhase, now: FirmwarePhase | None = None) -> None:
        """A notification for the CSMS; `now` is what it is told when it asks, from then on."""
        self.store.notify("firmware", status.value)
        self.firmware = now if now is not None else status
        self.publish()

    def notify_diagnostics(self, status: UploadPhase, now: UploadPhase | None = None) -> None:
        self.store.notify("diagnostics", status.value)
        self.diagnostics = now if now is not None else status
        self.publish()

    def progress(self, **changes: object) -> None:
        if self.update is not None:
            self.update = self.update.model_copy(update=changes)
        self.publish()

    def publish(self) -> None:
        self.bus.publish(firmware.JOBS, JobsState(
            now=self.now(), update=self.update, diagnostics_file=self.diagnostics_file,
            notifications=[Notification(seq=seq, kind=kind, status=status)
                           for seq, kind, status in self.store.notifications()]))

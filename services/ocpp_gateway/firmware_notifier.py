"""The firmware service's job notifications (1.6 FirmwareStatusNotification and DiagnosticsStatusNotification,
2.0.1 FirmwareStatusNotification and LogStatusNotification): the firmware service numbers them; the gateway
sends each one it has not sent yet, in order, once the CSMS link is Accepted.

The last number sent is kept in SQLite (`gateway_state`), so a restart of the gateway, or of the whole
station into a new firmware version, sends neither twice nor never: after a firmware switch the CSMS
sees the new version's BootNotification first, then Installed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ocpp.v16 import call

from services.common.contract.firmware import FirmwarePhase, JobsState, Notification, UploadPhase

from .ports import CsmsCallError, CsmsLink, CsmsUnavailable
from .tx_store import TxStore

log = logging.getLogger(__name__)

FIRMWARE_STATUSES = {FirmwarePhase.IDLE: "Idle", FirmwarePhase.DOWNLOADING: "Downloading",
                     FirmwarePhase.DOWNLOADED: "Downloaded", FirmwarePhase.DOWNLOAD_FAILED: "DownloadFailed",
                     FirmwarePhase.INSTALLING: "Installing", FirmwarePhase.INSTALLED: "Installed",
                     FirmwarePhase.INSTALL_FAILED: "InstallationFailed",
                     # a 1.6 request carries no signature: these are 2.0.1's, said in 1.6 words for completeness
                     FirmwarePhase.SIGNATURE_VERIFIED: "Downloaded",
                     FirmwarePhase.INVALID_SIGNATURE: "InstallationFailed"}
DIAGNOSTICS_STATUSES = {UploadPhase.IDLE: "Idle", UploadPhase.UPLOADING: "Uploading", UploadPhase.UPLOADED: "Uploaded",
                        UploadPhase.UPLOAD_FAILED: "UploadFailed"}
SENT = "firmware_notifications_sent"  # gateway_state key: the seq of the last notification the CSMS confirmed
RETRY_S = 5.0


async def deliver(link: CsmsLink, request: Any, what: str, tries: int | None = None) -> bool:
    """Send `request` once the link is Accepted, and again every RETRY_S while the CSMS is unreachable or refuses
    it; at most `tries` times (None: until it is taken). True once the CSMS took it."""
    attempt = 0
    while True:
        attempt += 1
        await link.wait_accepted()
        try:
            await link.call(request)
            return True
        except (CsmsUnavailable, CsmsCallError) as exc:
            if tries is not None and attempt >= tries:
                log.warning("%s not delivered, given up after %d tries: %s", what, attempt, exc)
                return False
            log.info("%s not delivered (%s): again in %.0f s", what, exc, RETRY_S)
        await asyncio.sleep(RETRY_S)


def request_16(note: Notification) -> Any:
    if note.kind == "diagnostics":
        return call.DiagnosticsStatusNotification(status=DIAGNOSTICS_STATUSES[UploadPhase(note.status)])
    return call.FirmwareStatusNotification(status=FIRMWARE_STATUSES[FirmwarePhase(note.status)])


class FirmwareNotifier:
    def __init__(self, store: TxStore, link: CsmsLink, request: Callable[[Notification], Any] = request_16) -> None:
        """`request`: the notification as the OCPP version in use tells it."""
        self.store = store
        self.link = link
        self._request = request
        self.pending: list[Notification] = []
        self.changed = asyncio.Event()

    async def on_jobs(self, state: JobsState | None, _p: dict[str, str]) -> None:
        if state is not None:
            self.pending = list(state.notifications)
            self.changed.set()

    def _sent(self) -> int:
        value = self.store.state(SENT)
        return int(value) if value is not None and value.isdigit() else 0

    async def run(self) -> None:
        while True:
            await self.changed.wait()
            self.changed.clear()
            for note in [n for n in self.pending if n.seq > self._sent()]:
                await deliver(self.link, self._request(note), f"{note.kind} status notification {note.status}")
                self.store.set_state(SENT, str(note.seq))
                log.info("%s status notification sent status=%s seq=%d", note.kind, note.status, note.seq)

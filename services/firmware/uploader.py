"""A diagnostics upload, carried out: one archive (logs within the window, configuration without secrets,
version, health), uploaded to the location with retries.

The file name is chosen when the request arrives (the CSMS is told it in the answer); the archive is
collected then uploaded in the background. Notifications: uploading → uploaded, or upload_failed after
the last retry. A restart collects and uploads again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from services.common.bus import Bus
from services.common.contract.common import CONFIG, ConfigValue
from services.common.contract.firmware import DiagnosticsRequest, UploadPhase
from services.common.lifecycle import cancel_and_wait
from services.common.redact import is_secret_name
from services.common.settings import Settings
from services.common.version import VERSION

from . import diagnostics, transfer
from .report import Report
from .store import DiagnosticsJob, JobStore

log = logging.getLogger(__name__)


class Uploader:
    def __init__(self, bus: Bus, store: JobStore, report: Report, settings: Settings) -> None:
        self.bus = bus
        self.store = store
        self.report = report
        self.settings = settings
        self.folder = settings.data_dir / "firmware" / "diagnostics"
        self.wake = asyncio.Event()

    async def station_picture(self) -> tuple[dict[str, str], dict[str, Any]]:
        """The configuration keys, and every retained state and health message, as the broker keeps them now."""
        kept = await self.bus.retained(CONFIG.filter, "chargebus/+/health", "chargebus/+/state/#")
        config = {value.key: value.value for value in kept.values() if isinstance(value, ConfigValue)}
        health = {topic: value.model_dump(mode="json") for topic, value in kept.items()
                  if not isinstance(value, ConfigValue)}
        return config, health

    def request(self, request: DiagnosticsRequest) -> str:
        name = diagnostics.archive_name(self.settings.charge_point_id, datetime.now(UTC),
                                        "securitylog" if request.security_only else "diagnostics")
        self.store.new_diagnostics(request.location, request.start, request.stop, request.retries,
                                   request.retry_interval_s, name, request.security_only)
        log.info("diagnostics requested file=%s location=%s", name, transfer.redact(request.location))
        self.wake.set()
        return name

    async def run(self) -> None:
        while True:
            job = self.store.diagnostics()
            if job is None or job.phase == "done":
                self.wake.clear()
                await self.wake.wait()
                continue
            self.wake.clear()
            task = asyncio.create_task(self._carry_out(job))
            waiter = asyncio.create_task(self.wake.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if not task.done():  # a newer request replaces this one
                await cancel_and_wait(task)
            elif task.exception() is not None:
                log.error("diagnostics failed: %r", task.exception())
                self._finish(UploadPhase.UPLOAD_FAILED)

    async def _carry_out(self, job: DiagnosticsJob) -> None:
        self.report.diagnostics_file = job.file_name
        self.report.publish()
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.tar.gz"):
            if old.name != job.file_name:
                old.unlink(missing_ok=True)
        window = diagnostics.Window(job.start, job.stop)
        config, health = await self.station_picture()
        archive = await asyncio.to_thread(
            diagnostics.collect, self.settings.data_dir, self.folder, charge_point_id=self.settings.charge_point_id,
            version=VERSION, config=config, secrets=[key for key in config if is_secret_name(key)], health=health,
            window=window, now=job.requested_at, security_only=job.security_only)
        self.store.set_diagnostics(phase="uploading")
        self.report.notify_diagnostics(UploadPhase.UPLOADING)
        attempts = 1 + job.retries
        for attempt in range(job.attempt + 1, attempts + 1):
            self.store.set_diagnostics(attempt=attempt)
            try:
                where = await asyncio.to_thread(transfer.upload, job.location, archive)
            except transfer.TransferError as exc:
                log.warning("diagnostics upload attempt %d/%d failed: %s", attempt, attempts, exc.message)
                if not exc.retryable or attempt == attempts:
                    break
                await asyncio.sleep(job.retry_interval_s)
                continue
            log.info("diagnostics uploaded to %s", where)
            self._finish(UploadPhase.UPLOADED)
            return
        self._finish(UploadPhase.UPLOAD_FAILED)

    def _finish(self, status: UploadPhase) -> None:
        self.store.set_diagnostics(phase="done")
        self.report.notify_diagnostics(status, now=UploadPhase.IDLE)

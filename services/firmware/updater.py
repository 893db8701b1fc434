"""A firmware update, carried out: wait for retrieve_at and for no session, download with retries, verify,
build the slot, hand it to the supervisor, and report the outcome after the restart.

Every step writes its phase first (`store.py`), so whatever stops the station in between, the next start
goes on from there. Downloading and installing both wait while a session runs (PICS AQ-4 No).
Notifications: downloading → downloaded (or download_failed after the last retry, at once for a full disk or
an image over firmware_max_image_bytes) → installing → the restart → installed, or install_failed for an
image that is not ours, a bad signature or checksum, a version older than the running one, packages that do
not install or start, or a version the supervisor rolled back. Asked now, the phase of the job is told,
installing until the new version's outcome is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from services.common.bus import Bus, BusError
from services.common.contract.firmware import FirmwarePhase, UpdateProgress, UpdateRequest
from services.common.contract.supervisor import INSTALL, InstallReply, InstallRequest, SlotState
from services.common.lifecycle import cancel_and_wait
from services.common.settings import Settings
from services.common.version import VERSION

from . import slot_builder, transfer
from .report import Report
from .store import JobStore, UpdateJob

log = logging.getLogger(__name__)

PROGRESS_S = 1.0  # progress on the bus at most this often
SWITCH_WAIT_S = 30.0  # the supervisor stops us within this once it accepted a slot
# an install begun this often without an end (the process killed each time): install_failed, not a loop
MAX_INSTALL_STARTS = 3
# what is told of a job resumed after a restart in this phase
RESUMED = {"downloading": FirmwarePhase.DOWNLOADING, "downloaded": FirmwarePhase.DOWNLOADED,
           "installing": FirmwarePhase.INSTALLING, "switching": FirmwarePhase.INSTALLING}


class Refused(ValueError):
    """A request the station cannot take: a signing certificate or a signature it cannot check."""


class Updater:
    def __init__(self, bus: Bus, store: JobStore, report: Report, settings: Settings,
                 busy: Callable[[], bool]) -> None:
        self.bus = bus
        self.store = store
        self.report = report
        self.settings = settings
        self.busy = busy  # a transaction runs
        self.folder = settings.data_dir / "firmware"
        self.wake = asyncio.Event()  # a new request, a transaction that ended, a slot state that arrived
        self.requested = asyncio.Event()  # a new request: the job under way (not yet installing) is replaced
        self.slots: SlotState | None = None
        self._busy_logged = False
        job = store.update()
        if job is not None:  # before any request is answered: a trigger after a restart says where the job is
            report.firmware = RESUMED.get(job.phase, report.firmware)

    # -- inputs ------------------------------------------------------------------------------------

    def request(self, request: UpdateRequest) -> bool:
        """A new update; False when an install is under way (it is not interrupted). Raises Refused for a signing
        certificate or a signature the station cannot take: nothing of the request is kept."""
        self._check_signing(request)
        job = self.store.update()
        if job is not None and job.phase in ("installing", "switching"):
            log.warning("firmware update ignored: version %s is being installed", job.version)
            return False
        self.store.new_update(request.location, request.retrieve_at, request.retries, request.retry_interval_s,
                              request.signature)
        log.info("firmware update requested location=%s retrieve_at=%s retries=%d interval=%ds",
                 transfer.redact(request.location), request.retrieve_at.isoformat(), request.retries,
                 request.retry_interval_s)
        self.wake.set()
        self.requested.set()
        return True

    def _check_signing(self, request: UpdateRequest) -> None:
        if request.signing_certificate is None and request.signature is None:
            return
        from . import detached, keys  # the signature library only when signatures come (see `_install`)

        if request.signature is None:
            raise Refused("a signing certificate without a signature")
        why = detached.signature_refusal(request.signature)
        if why is None and self.settings.firmware_public_key is None:
            why = "no trusted key to check it with: set firmware_public_key"
        if why is None and request.signing_certificate is not None:
            assert self.settings.firmware_public_key is not None  # checked above
            try:
                trusted = keys.load_public(self.settings.firmware_public_key)
            except keys.KeyFileError as exc:
                raise Refused(f"the trusted key cannot be read: {exc}") from None
            why = detached.certificate_refusal(request.signing_certificate, trusted)
        if why is not None:
            log.warning("firmware update refused: %s", why)
            raise Refused(why)

    async def on_slots(self, state: SlotState | None, _p: dict[str, str]) -> None:
        if state is not None:
            self.slots = state
            self.wake.set()

    # -- the job -----------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            job = self.store.update()
            if job is None or job.phase == "done":
                if job is not None and self.report.update is None:  # after a restart: how the last one ended
                    self.report.update = UpdateProgress(phase="done", location=transfer.redact(job.location),
                                                        retrieve_at=job.retrieve_at, version=job.version,
                                                        attempt=job.attempt)
                self.report.publish()
                await self._sleep(None)
                continue
            self.requested.clear()
            task = asyncio.create_task(self._carry_out(job))
            while not task.done():
                replaced = asyncio.create_task(self.requested.wait())
                await asyncio.wait({task, replaced}, return_when=asyncio.FIRST_COMPLETED)
                replaced.cancel()
                if self.requested.is_set() and not task.done():
                    # replaced by a newer request (never while installing: `request` refuses)
                    await cancel_and_wait(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("firmware update failed: %r", task.exception())
                self._finish(FirmwarePhase.INSTALL_FAILED, f"internal error: {task.exception()!r}")

    async def _sleep(self, seconds: float | None) -> None:
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.wake.wait()

    async def _carry_out(self, job: UpdateJob) -> None:
        self.report.update = UpdateProgress(phase=job.phase, location=transfer.redact(job.location),
                                            retrieve_at=job.retrieve_at, version=job.version, attempt=job.attempt)
        self.report.publish()
        if job.phase == "switching":
            await self._outcome(job)
            return
        image_path = self.folder / "download" / "image.cbfw"
        if job.phase in ("scheduled", "waiting", "downloading"):
            await self._wait_until(job.retrieve_at)
            await self._no_transaction("downloading")
            if not await self._download(job, image_path):
                return
        await self._no_transaction("installing")
        await self._install(job, image_path)

    async def _wait_until(self, at: datetime) -> None:
        while (left := (at - datetime.now(UTC)).total_seconds()) > 0:
            self.report.progress(phase="scheduled")
            await self._sleep(min(left, 60.0))

    async def _no_transaction(self, next_phase: str) -> None:
        while self.busy():
            if not self._busy_logged:
                log.info("firmware update waits: a transaction runs (it goes on after the transaction ends)")
                self._busy_logged = True
            self.store.set_update(phase="waiting" if next_phase == "downloading" else "downloaded")
            self.report.progress(phase="waiting")
            await self._sleep(5.0)
        self._busy_logged = False

    async def _download(self, job: UpdateJob, dest: Path) -> bool:
        self.store.set_update(phase="downloading")
        self.report.notify_firmware(FirmwarePhase.DOWNLOADING)
        attempts = 1 + job.retries
        loop = asyncio.get_running_loop()
        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_S or (total is not None and done >= total):
                last[0] = now
                percent = round(100.0 * done / total, 1) if total else None
                loop.call_soon_threadsafe(lambda: self.report.progress(
                    phase="downloading", bytes_done=done, bytes_total=total, percent=percent))

        dest.parent.mkdir(parents=True, exist_ok=True)
        last_error = "no attempt left"
        for attempt in range(job.attempt + 1, attempts + 1):
            self.store.set_update(attempt=attempt)
            self.report.progress(attempt=attempt, error=None)
            try:
                size = await asyncio.to_thread(transfer.download, job.location, dest, progress,
                                               max_bytes=self.settings.firmware_max_image_bytes,
                                               reserve_bytes=self.settings.firmware_disk_reserve_bytes)
            except transfer.TransferError as exc:
                log.warning("firmware download attempt %d/%d failed: %s", attempt, attempts, exc.message)
                last_error = exc.message
                self.report.progress(error=exc.message)
                if not exc.retryable or attempt == attempts:
                    break
                await asyncio.sleep(job.retry_interval_s)
                continue
            log.info("firmware downloaded bytes=%d from %s", size, transfer.redact(job.location))
            self.store.set_update(phase="downloaded")
            self.report.notify_firmware(FirmwarePhase.DOWNLOADED)
            self.report.progress(phase="downloaded")
            return True
        self._finish(FirmwarePhase.DOWNLOAD_FAILED, f"download failed after {attempts} attempt(s): {last_error}")
        return False

    async def _install(self, job: UpdateJob, image_path: Path) -> None:
        if job.signature is not None and not await self._signature_checks_out(job, image_path):
            return
        starts = job.install_starts + 1
        if starts > MAX_INSTALL_STARTS:
            self._finish(FirmwarePhase.INSTALL_FAILED,
                         f"the install was interrupted {job.install_starts} times: the image is given up")
            return
        self.store.set_update(phase="installing", install_starts=starts)
        log.info("firmware install begins (start %d of %d)", starts, MAX_INSTALL_STARTS)
        if job.phase != "installing":  # not again after a restart: the CSMS has had it
            self.report.notify_firmware(FirmwarePhase.INSTALLING)
        self.report.progress(phase="installing")
        parts = self.folder / "download" / "parts"
        shutil.rmtree(parts, ignore_errors=True)
        # the signature library is imported for an install only: its native module, initialised on import, would
        # otherwise keep ~5 MB of pages in the station for an update that may never come
        from . import image, keys

        try:
            key_path = self.settings.firmware_public_key
            if key_path is None:
                self._finish(FirmwarePhase.INSTALL_FAILED, "no trusted key: set firmware_public_key")
                return
            key = keys.load_public(key_path)
            manifest = await asyncio.to_thread(image.verify, image_path, key, parts, VERSION)
        except image.ImageError as exc:
            self._finish(FirmwarePhase.INSTALL_FAILED, f"{exc.kind}: {exc.reason}")
            return
        except (keys.KeyFileError, OSError) as exc:
            self._finish(FirmwarePhase.INSTALL_FAILED, f"image not verified: {exc}")
            return
        self.store.set_update(version=manifest.version)
        self.report.progress(version=manifest.version)
        keep = tuple(s for s in (self.slots.active, self.slots.previous) if s) if self.slots else ()
        try:
            slot = await asyncio.to_thread(slot_builder.build, parts, manifest.version, self.folder / "slots", keep)
        except slot_builder.SlotError as exc:
            self._finish(FirmwarePhase.INSTALL_FAILED, str(exc))
            return
        finally:
            shutil.rmtree(parts, ignore_errors=True)
        await self._no_transaction("installing")  # the build takes a while: nothing may have started meanwhile
        self.store.set_update(phase="switching", switched_at=datetime.now(UTC))
        self.report.progress(phase="switching")
        try:
            reply: InstallReply = await self.bus.request(INSTALL, InstallRequest(slot=str(slot),
                                                                                 version=manifest.version), timeout=10)
        except BusError as exc:
            self._finish(FirmwarePhase.INSTALL_FAILED, f"the supervisor did not switch: {exc}")
            return
        if not reply.switching:
            self._finish(FirmwarePhase.INSTALL_FAILED, f"the supervisor refused: {reply.reason}")
            return
        log.warning("firmware %s: the station restarts into it", manifest.version)
        await asyncio.sleep(SWITCH_WAIT_S)  # stopped by the supervisor long before
        self._finish(FirmwarePhase.INSTALL_FAILED, "the supervisor accepted the slot but did not restart")

    async def _signature_checks_out(self, job: UpdateJob, image_path: Path) -> bool:
        """The signature sent with the request, over the downloaded file, before anything of it is installed (and
        again when an interrupted install resumes: the file on disk is what will be installed)."""
        from . import detached, keys  # see `_install`

        assert job.signature is not None and self.settings.firmware_public_key is not None  # checked at the request
        try:
            key = keys.load_public(self.settings.firmware_public_key)
            valid = await asyncio.to_thread(detached.verify_file, image_path, job.signature, key)
        except (keys.KeyFileError, OSError) as exc:
            self._finish(FirmwarePhase.INVALID_SIGNATURE, f"the signature could not be checked: {exc}")
            return False
        if not valid:
            self._finish(FirmwarePhase.INVALID_SIGNATURE, "the signature sent with the request does not check out "
                         "over the downloaded file: nothing installed")
            return False
        if job.phase != "installing":
            self.report.notify_firmware(FirmwarePhase.SIGNATURE_VERIFIED)
        return True

    async def _outcome(self, job: UpdateJob) -> None:
        """After the switch (in whichever version runs now): what the supervisor decided."""
        deadline = time.monotonic() + 2 * self.settings.firmware_trial_s + 60
        while time.monotonic() < deadline:
            state = self.slots
            outcome = state.outcome if state is not None else None
            if (outcome is not None and outcome.version == job.version and job.switched_at is not None
                    and outcome.at >= job.switched_at):
                if outcome.installed:
                    self._finish(FirmwarePhase.INSTALLED, None)
                else:
                    self._finish(FirmwarePhase.INSTALL_FAILED, f"rolled back: {outcome.reason}")
                return
            await self._sleep(5.0)
        self._finish(FirmwarePhase.INSTALL_FAILED, "no outcome from the supervisor")

    def _finish(self, status: FirmwarePhase, why: str | None) -> None:
        self.store.set_update(phase="done")
        if why is None:
            log.info("firmware update ends: %s", status.value)
        else:
            log.error("firmware update ends: %s (%s)", status.value, why)
        self.report.notify_firmware(status, now=FirmwarePhase.IDLE)
        self.report.progress(phase="done", error=why)

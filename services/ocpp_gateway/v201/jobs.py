"""OCPP 2.0.1 L01-L03 and N01: UpdateFirmware and GetLog, handed to the firmware service's jobs as under 1.6
(`actions/firmware.py`), and the FirmwareStatusNotification and LogStatusNotification that report them
(`firmware_notifier.py` sends each of the firmware service's numbered notifications once, in order).

- A signed update (signingCertificate and signature) is the firmware service's to check: a certificate that does
  not carry the station's trusted firmware key is answered InvalidCertificate, and a signature that does not check
  out over the downloaded file ends the job InvalidSignature, before anything is installed.
- An update replacing one that has not begun installing is AcceptedCanceled; one that comes while an install is
  under way is Rejected (an install is never interrupted), and so is one whose installDateTime lies ahead: the
  station installs as soon as the image is downloaded and no transaction runs (retrieveDateTime schedules it).
- GetLog DiagnosticsLog uploads the same archive as 1.6 GetDiagnostics; SecurityLog an archive of the security
  events alone (the log records `security_events.py` writes), within the same time window.
- The notifications carry the requestId of the request they report (kept in the gateway's SQLite file across a
  restart); an Idle one carries none.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import FirmwareStatusEnumType as Firmware
from ocpp.v201.enums import LogEnumType as LogType
from ocpp.v201.enums import LogStatusEnumType as LogStatus
from ocpp.v201.enums import UpdateFirmwareStatusEnumType as UpdateStatus
from ocpp.v201.enums import UploadLogStatusEnumType as Upload
from pydantic import ValidationError

from services.common.bus import Bus, BusError
from services.common.contract import firmware as jobs
from services.common.contract.base import Empty, ErrorCode
from services.common.contract.firmware import (
    DiagnosticsRequest,
    FirmwarePhase,
    JobsStatus,
    Notification,
    UpdateRequest,
    UploadPhase,
)

from .. import request_values as values
from ..tx_store import TxStore
from .security_events import SecurityEvents

log = logging.getLogger(__name__)

HANDOVER_TIMEOUT_S = 5.0
INSTALL_SLACK = timedelta(minutes=1)  # an installDateTime of "now" from a CSMS whose clock runs a little ahead
FIRMWARE_REQUEST, LOG_REQUEST = "firmware_request_id", "log_request_id"  # gateway_state keys
INSTALLING = "firmware_installing"  # gateway_state key: Installing was the last firmware status told
FIRMWARE = {FirmwarePhase.IDLE: Firmware.idle, FirmwarePhase.DOWNLOADING: Firmware.downloading,
            FirmwarePhase.DOWNLOADED: Firmware.downloaded, FirmwarePhase.DOWNLOAD_FAILED: Firmware.download_failed,
            FirmwarePhase.INSTALLING: Firmware.installing, FirmwarePhase.INSTALLED: Firmware.installed,
            FirmwarePhase.INSTALL_FAILED: Firmware.installation_failed,
            FirmwarePhase.SIGNATURE_VERIFIED: Firmware.signature_verified,
            FirmwarePhase.INVALID_SIGNATURE: Firmware.invalid_signature}
LOGS = {UploadPhase.IDLE: Upload.idle, UploadPhase.UPLOADING: Upload.uploading, UploadPhase.UPLOADED: Upload.uploaded,
        UploadPhase.UPLOAD_FAILED: Upload.upload_failure}


def notification(store: TxStore, note: Notification) -> Any:
    """One of the firmware service's notifications as a 2.0.1 call, with the requestId of what it reports."""
    if note.kind == "diagnostics":
        return status_call(store, "diagnostics", note.status)
    return status_call(store, "firmware", note.status)


def status_call(store: TxStore, kind: str, phase: str) -> Any:
    if kind == "diagnostics":
        status: Any = LOGS[UploadPhase(phase)]
        return call.LogStatusNotification(status=status, request_id=_request_id(store, LOG_REQUEST, status))
    status = FIRMWARE[FirmwarePhase(phase)]
    return call.FirmwareStatusNotification(status=status, request_id=_request_id(store, FIRMWARE_REQUEST, status))


def _request_id(store: TxStore, key: str, status: str) -> int | None:
    value = store.state(key)
    return int(value) if value is not None and status != "Idle" else None


async def jobs_now(bus: Bus) -> JobsStatus:
    """Where the firmware update and the log upload stand now (raises BusError)."""
    status: JobsStatus = await bus.request(jobs.STATUS, Empty(), timeout=HANDOVER_TIMEOUT_S)
    return status


def _later_than_now(moment: str) -> bool:
    """An installDateTime the station would have to wait for (one that is no date is the schema's to refuse)."""
    try:
        return values.utc(moment) > datetime.now(UTC) + INSTALL_SLACK
    except ValueError:
        return False


def _info(reason: str, why: str) -> dict[str, str]:
    return {"reason_code": reason, "additional_info": why[:512]}


class JobActions(ChargePoint):
    """Needs `bus`, `store` and `security` from the class it is mixed into."""

    bus: Bus
    store: TxStore
    security: SecurityEvents

    @on(Action.update_firmware)
    async def on_update_firmware(self, request_id: int, firmware: dict[str, Any], retries: int | None = None,
                                 retry_interval: int | None = None, **_custom: Any) -> call_result.UpdateFirmware:
        install_at = firmware.get("install_date_time")
        if install_at is not None and _later_than_now(install_at):
            return call_result.UpdateFirmware(status=UpdateStatus.rejected, status_info=_info(
                "UnsupportedParam", "the station installs once the image is downloaded and no transaction "
                "runs: set retrieveDateTime instead"))
        try:
            before = await jobs_now(self.bus)
        except BusError as exc:
            return call_result.UpdateFirmware(status=UpdateStatus.rejected,
                                              status_info=_info("InternalError", f"firmware service: {exc}"))
        if before.firmware in (FirmwarePhase.INSTALLING, FirmwarePhase.SIGNATURE_VERIFIED):
            return call_result.UpdateFirmware(status=UpdateStatus.rejected,
                                              status_info=_info("InstallUnderWay", "an install is never interrupted"))
        try:
            request = UpdateRequest(location=firmware["location"],
                                    retrieve_at=values.utc(firmware["retrieve_date_time"]),
                                    retries=values.retries(retries),
                                    retry_interval_s=values.retry_interval(retry_interval),
                                    signing_certificate=firmware.get("signing_certificate"),
                                    signature=firmware.get("signature"))
            await self.bus.request(jobs.UPDATE, request, timeout=HANDOVER_TIMEOUT_S)
        except (ValueError, ValidationError) as exc:
            return call_result.UpdateFirmware(status=UpdateStatus.rejected, status_info=_info("InvalidValue",
                                                                                              str(exc)))
        except BusError as exc:
            if exc.code is ErrorCode.REJECTED:
                log.warning("firmware update request=%d refused: %s", request_id, exc)
                self.security.record("InvalidFirmwareSigningCertificate", exc.message)
                return call_result.UpdateFirmware(status=UpdateStatus.invalid_certificate,
                                                  status_info=_info("InvalidCertificate", str(exc)))
            return call_result.UpdateFirmware(status=UpdateStatus.rejected,
                                              status_info=_info("InternalError", f"firmware service: {exc}"))
        self.store.set_state(FIRMWARE_REQUEST, str(request_id))
        replaced = before.firmware not in (FirmwarePhase.IDLE, FirmwarePhase.INSTALLED, FirmwarePhase.INSTALL_FAILED,
                                           FirmwarePhase.DOWNLOAD_FAILED, FirmwarePhase.INVALID_SIGNATURE)
        return call_result.UpdateFirmware(status=UpdateStatus.accepted_canceled if replaced else UpdateStatus.accepted)

    @on(Action.get_log)
    async def on_get_log(self, log_type: str, request_id: int, log: dict[str, Any], retries: int | None = None,
                         retry_interval: int | None = None, **_custom: Any) -> call_result.GetLog:
        try:
            before = await jobs_now(self.bus)
            oldest, latest = log.get("oldest_timestamp"), log.get("latest_timestamp")
            reply = await self.bus.request(jobs.GET_DIAGNOSTICS, DiagnosticsRequest(
                location=log["remote_location"], retries=values.retries(retries),
                retry_interval_s=values.retry_interval(retry_interval),
                start=values.utc(oldest) if oldest else None, stop=values.utc(latest) if latest else None,
                security_only=log_type == LogType.security_log), timeout=HANDOVER_TIMEOUT_S)
        except (ValueError, ValidationError) as exc:
            return call_result.GetLog(status=LogStatus.rejected, status_info=_info("InvalidValue", str(exc)))
        except BusError as exc:
            return call_result.GetLog(status=LogStatus.rejected,
                                      status_info=_info("InternalError", f"firmware service: {exc}"))
        self.store.set_state(LOG_REQUEST, str(request_id))
        replaced = before.diagnostics is UploadPhase.UPLOADING
        return call_result.GetLog(status=LogStatus.accepted_canceled if replaced else LogStatus.accepted,
                                  filename=reply.file_name)


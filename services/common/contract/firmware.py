"""Firmware service topics: the state of firmware updates and diagnostics uploads."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Never

from pydantic import Field

from .base import Empty, Kind, Model, Topic


class FirmwareStatus(StrEnum):
    """OCPP 1.6 FirmwareStatus."""

    DOWNLOADED = "Downloaded"
    DOWNLOAD_FAILED = "DownloadFailed"
    DOWNLOADING = "Downloading"
    IDLE = "Idle"
    INSTALLATION_FAILED = "InstallationFailed"
    INSTALLING = "Installing"
    INSTALLED = "Installed"


class DiagnosticsStatus(StrEnum):
    """OCPP 1.6 DiagnosticsStatus."""

    IDLE = "Idle"
    UPLOADED = "Uploaded"
    UPLOAD_FAILED = "UploadFailed"
    UPLOADING = "Uploading"


class JobsStatus(Model):
    firmware: FirmwareStatus = Field(description="What a FirmwareStatusNotification would say now (Idle: nothing "
                                     "runs).")
    diagnostics: DiagnosticsStatus = Field(description="What a DiagnosticsStatusNotification would say now.")


class UpdateRequest(Model):
    """UpdateFirmware.req."""

    location: str = Field(min_length=1, max_length=512, description="ftp://, http:// or https:// URL of the image.")
    retrieve_at: datetime = Field(description="Not before this; a time in the past means now.")
    retries: int = Field(0, ge=0, le=100, description="Download attempts after the first.")
    retry_interval_s: int = Field(60, ge=0, le=86400)


class DiagnosticsRequest(Model):
    """GetDiagnostics.req."""

    location: str = Field(min_length=1, max_length=512, description="ftp://, http:// or https:// directory URL.")
    start: datetime | None = Field(None, description="Only log records from then on.")
    stop: datetime | None = Field(None, description="Only log records until then.")
    retries: int = Field(0, ge=0, le=100)
    retry_interval_s: int = Field(60, ge=0, le=86400)


class DiagnosticsReply(Model):
    file_name: str = Field(description="The archive that will be uploaded (GetDiagnostics.conf fileName).")


class Notification(Model):
    seq: int = Field(ge=1, description="Grows by one per notification, across restarts and versions.")
    kind: str = Field(description="firmware or diagnostics")
    status: str = Field(description="FirmwareStatus or DiagnosticsStatus.")


class UpdateProgress(Model):
    phase: str = Field(description="scheduled, waiting (a transaction runs), downloading, downloaded, installing, "
                       "switching, done")
    location: str = Field(description="Without its password.")
    retrieve_at: datetime
    version: str | None = Field(None, description="From the image, once verified.")
    bytes_done: int = Field(0, ge=0)
    bytes_total: int | None = Field(None, ge=0)
    percent: float | None = Field(None, ge=0, le=100)
    attempt: int = Field(0, ge=0)
    error: str | None = None


class JobsState(Model):
    now: JobsStatus
    notifications: list[Notification] = Field(default_factory=list, max_length=20,
                                              description="The latest status notifications, oldest first: the "
                                              "gateway sends each one it has not sent yet, in order.")
    update: UpdateProgress | None = None
    diagnostics_file: str | None = None


STATUS = Topic(
    "chargebus/firmware/cmd/status", Kind.CMD, Empty, reply=JobsStatus, owner="firmware",
    subscribers=("ocpp_gateway",),
    doc="Where the firmware update and the diagnostics upload stand now (TriggerMessage asks it): Idle when "
    "nothing runs.",
    example={},
)

JOBS: Topic[JobsState, Never] = Topic(
    "chargebus/firmware/state/jobs", Kind.STATE, JobsState, owner="firmware", retain=True,
    subscribers=("ocpp_gateway", "api", "cli"),
    doc="The firmware update and diagnostics jobs: where they stand (download progress in bytes and percent), and "
    "the status notifications for the CSMS, numbered; the gateway sends each new one once, in order.",
    example={"now": {"firmware": "Downloading", "diagnostics": "Idle"},
             "notifications": [{"seq": 7, "kind": "firmware", "status": "Downloading"}],
             "update": {"phase": "downloading", "location": "ftp://cs:***@fw.example.com/chargebus-0.2.0.cbfw",
                        "retrieve_at": "2026-11-26T18:00:00Z", "version": None, "bytes_done": 5242880,
                        "bytes_total": 15728640, "percent": 33.3, "attempt": 1, "error": None},
             "diagnostics_file": None},
)
UPDATE = Topic(
    "chargebus/firmware/cmd/update", Kind.CMD, UpdateRequest, reply=JobsStatus, owner="firmware",
    subscribers=("ocpp_gateway",),
    doc="UpdateFirmware.req: kept on disk and carried out at retrieve_at, never while a transaction runs (PICS "
    "AQ-4 No); replaces an update not yet installing.",
    example={"location": "ftp://cs:secret@fw.example.com/chargebus-0.2.0.cbfw", "retrieve_at": "2026-11-26T18:00:00Z",
             "retries": 3, "retry_interval_s": 60},
)
GET_DIAGNOSTICS = Topic(
    "chargebus/firmware/cmd/get_diagnostics", Kind.CMD, DiagnosticsRequest, reply=DiagnosticsReply,
    owner="firmware", subscribers=("ocpp_gateway",),
    doc="GetDiagnostics.req: logs (within start..stop), configuration keys without secrets, version and health in "
    "one archive, uploaded to the location with retries.",
    example={"location": "ftp://cs:secret@diag.example.com/uploads/", "start": None, "stop": None, "retries": 2,
             "retry_interval_s": 30},
)

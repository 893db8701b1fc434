"""Firmware service topics: the state of firmware updates and diagnostics uploads."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Never

from pydantic import Field, model_validator

from .base import Empty, Kind, Model, Topic


class FirmwarePhase(StrEnum):
    """Where the firmware update stands, as the CSMS is told."""

    IDLE = "idle"  # nothing runs
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    DOWNLOAD_FAILED = "download_failed"
    INSTALLING = "installing"
    INSTALLED = "installed"
    INSTALL_FAILED = "install_failed"
    SIGNATURE_VERIFIED = "signature_verified"  # the signature sent with the request checked out over the file
    INVALID_SIGNATURE = "invalid_signature"  # it did not: nothing was installed


class UploadPhase(StrEnum):
    """Where the diagnostics upload stands, as the CSMS is told."""

    IDLE = "idle"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    UPLOAD_FAILED = "upload_failed"


class JobsStatus(Model):
    firmware: FirmwarePhase = Field(description="What the CSMS would be told now (idle: nothing runs).")
    diagnostics: UploadPhase = Field(description="What the CSMS would be told now of the diagnostics upload.")


class UpdateRequest(Model):
    """Install the image at `location`."""

    location: str = Field(min_length=1, max_length=512, description="ftp://, http:// or https:// URL of the image.")
    retrieve_at: datetime = Field(description="Not before this; a time in the past means now.")
    retries: int = Field(0, ge=0, le=100, description="Download attempts after the first.")
    retry_interval_s: int = Field(60, ge=0, le=86400)
    signing_certificate: str | None = Field(
        None, max_length=5500, description="PEM X.509 certificate of the key that made `signature`: it must carry "
        "the station's trusted firmware key (Ed25519), else the request is rejected.")
    signature: str | None = Field(
        None, max_length=800, description="Base64 Ed25519 signature of the whole image file by the trusted key, "
        "checked after the download, before anything is installed (invalid_signature if it does not check out).")


class DiagnosticsRequest(Model):
    """Upload a diagnostics archive to `location`."""

    location: str = Field(min_length=1, max_length=512, description="ftp://, http:// or https:// directory URL.")
    start: datetime | None = Field(None, description="Only log records from then on.")
    stop: datetime | None = Field(None, description="Only log records until then.")
    retries: int = Field(0, ge=0, le=100)
    retry_interval_s: int = Field(60, ge=0, le=86400)
    security_only: bool = Field(False, description="Only the security log: the log records that are security "
                                "events (no configuration, health or other records).")


class DiagnosticsReply(Model):
    file_name: str = Field(description="The name of the archive that will be uploaded.")


class Notification(Model):
    seq: int = Field(ge=1, description="Grows by one per notification, across restarts and versions.")
    kind: Literal["firmware", "diagnostics"]
    status: str = Field(description="A FirmwarePhase for firmware, an UploadPhase for diagnostics.")

    @model_validator(mode="after")
    def _phase_of_its_kind(self) -> Notification:
        phases = FirmwarePhase if self.kind == "firmware" else UploadPhase
        if self.status not in set(phases):
            raise ValueError(f"{self.status!r} is no {phases.__name__}")
        return self


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
    doc="Where the firmware update and the diagnostics upload stand now (a CSMS may ask): idle when nothing runs.",
    example={},
)

JOBS: Topic[JobsState, Never] = Topic(
    "chargebus/firmware/state/jobs", Kind.STATE, JobsState, owner="firmware", retain=True,
    subscribers=("ocpp_gateway", "api", "cli"),
    doc="The firmware update and diagnostics jobs: where they stand (download progress in bytes and percent), and "
    "the status notifications for the CSMS, numbered; the gateway sends each new one once, in order.",
    example={"now": {"firmware": "downloading", "diagnostics": "idle"},
             "notifications": [{"seq": 7, "kind": "firmware", "status": "downloading"}],
             "update": {"phase": "downloading", "location": "ftp://cs:***@fw.example.com/chargebus-0.2.0.cbfw",
                        "retrieve_at": "2026-11-26T18:00:00Z", "version": None, "bytes_done": 5242880,
                        "bytes_total": 15728640, "percent": 33.3, "attempt": 1, "error": None},
             "diagnostics_file": None},
)
UPDATE = Topic(
    "chargebus/firmware/cmd/update", Kind.CMD, UpdateRequest, reply=JobsStatus, owner="firmware",
    subscribers=("ocpp_gateway",),
    doc="Install a firmware image: kept on disk and carried out at retrieve_at, never while a session runs (PICS "
    "AQ-4 No); replaces an update not yet installing. Rejected (`rejected`) for a signing certificate or signature "
    "the station cannot take.",
    example={"location": "ftp://cs:secret@fw.example.com/chargebus-0.2.0.cbfw", "retrieve_at": "2026-11-26T18:00:00Z",
             "retries": 3, "retry_interval_s": 60},
)
GET_DIAGNOSTICS = Topic(
    "chargebus/firmware/cmd/get_diagnostics", Kind.CMD, DiagnosticsRequest, reply=DiagnosticsReply,
    owner="firmware", subscribers=("ocpp_gateway",),
    doc="Logs (within start..stop), the configuration without secrets, version and health in one archive, "
    "uploaded to the location with retries.",
    example={"location": "ftp://cs:secret@diag.example.com/uploads/", "start": None, "stop": None, "retries": 2,
             "retry_interval_s": 30},
)

"""Firmware service topics: the state of firmware updates and diagnostics uploads."""

from __future__ import annotations

from enum import StrEnum

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


STATUS = Topic(
    "chargebus/firmware/cmd/status", Kind.CMD, Empty, reply=JobsStatus, owner="firmware",
    subscribers=("ocpp_gateway",),
    doc="Where the firmware update and the diagnostics upload stand now (TriggerMessage asks it): Idle when "
    "nothing runs.",
    example={},
)

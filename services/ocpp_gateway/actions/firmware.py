"""Firmware Management: UpdateFirmware and GetDiagnostics are the firmware service's jobs; the gateway
hands them over and answers (the notifications go out through `firmware_notifier.py`).

Neither answer can say no, so every request the 1.6 schema allows is taken: retries and retryInterval
beyond the firmware service's limits are capped to them (below 0: 0; a missing retryInterval is 60 s, 0 stays 0); a
location longer than the service takes is answered, then reported DownloadFailed (UpdateFirmware) or
answered without a file name (GetDiagnostics: nothing will be uploaded). A date-time that is no time is
refused before these handlers (protocol.FORMAT_CHECKED).
"""

from __future__ import annotations

import logging

from ocpp.exceptions import InternalError
from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, FirmwareStatus
from pydantic import ValidationError

from services.common.bus import BusError
from services.common.contract import firmware
from services.common.contract.firmware import DiagnosticsRequest, UpdateRequest

from .. import request_values as values
from ..firmware_notifier import deliver
from .base import Actions

log = logging.getLogger(__name__)

HANDOVER_TIMEOUT_S = 5.0
# the firmware service's limits (contract.firmware UpdateRequest, DiagnosticsRequest)
MAX_LOCATION = 512
DOWNLOAD_FAILED_TRIES = 5  # a CSMS that still refuses it after that will not take it


class FirmwareActions(Actions):
    @on(Action.update_firmware)
    async def on_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None,
                                 retry_interval: int | None = None) -> call_result.UpdateFirmware:
        if len(location) > MAX_LOCATION:
            log.warning("UpdateFirmware location of %d characters (at most %d): reported DownloadFailed",
                        len(location), MAX_LOCATION)
            return call_result.UpdateFirmware()
        try:
            request = UpdateRequest(location=location, retrieve_at=values.utc(retrieve_date),
                                    retries=values.retries(retries),
                                    retry_interval_s=values.retry_interval(retry_interval))
            await self.station.bus.request(firmware.UPDATE, request, timeout=HANDOVER_TIMEOUT_S)
        except (ValueError, ValidationError) as exc:
            raise InternalError(description=f"the update cannot be taken: {exc}"[:255]) from None
        except BusError as exc:
            raise InternalError(description=f"the firmware service is not reachable: {exc.code}") from None
        return call_result.UpdateFirmware()

    @after(Action.update_firmware)
    def after_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None,
                              retry_interval: int | None = None) -> None:
        if len(location) > MAX_LOCATION:  # sync on purpose: the library never awaits an async after-hook
            self.station.spawn(self._download_failed(), "firmware-location-too-long")

    async def _download_failed(self) -> None:
        # the CSMS may send UpdateFirmware as soon as it answered our BootNotification, before the link has
        # taken that answer: the notification waits for Accepted, and a link that drops is tried again
        await deliver(self.station.link, call.FirmwareStatusNotification(status=FirmwareStatus.download_failed),
                      "DownloadFailed", tries=DOWNLOAD_FAILED_TRIES)

    @on(Action.get_diagnostics)
    async def on_get_diagnostics(self, location: str, retries: int | None = None, retry_interval: int | None = None,
                                 start_time: str | None = None, stop_time: str | None = None
                                 ) -> call_result.GetDiagnostics:
        if len(location) > MAX_LOCATION:
            log.warning("GetDiagnostics location of %d characters (at most %d): nothing will be uploaded",
                        len(location), MAX_LOCATION)
            return call_result.GetDiagnostics()
        try:
            request = DiagnosticsRequest(
                location=location, retries=values.retries(retries),
                retry_interval_s=values.retry_interval(retry_interval),
                start=values.utc(start_time) if start_time else None,
                stop=values.utc(stop_time) if stop_time else None)
            reply = await self.station.bus.request(firmware.GET_DIAGNOSTICS, request, timeout=HANDOVER_TIMEOUT_S)
        except (ValueError, ValidationError) as exc:
            raise InternalError(description=f"the request cannot be taken: {exc}"[:255]) from None
        except BusError as exc:
            raise InternalError(description=f"the firmware service is not reachable: {exc.code}") from None
        return call_result.GetDiagnostics(file_name=reply.file_name)

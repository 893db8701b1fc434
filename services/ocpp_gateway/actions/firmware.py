"""Firmware Management: UpdateFirmware and GetDiagnostics are the firmware service's jobs; the gateway
hands them over and answers (the notifications go out through `firmware_notifier.py`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action
from pydantic import ValidationError

from services.common.bus import BusError
from services.common.contract import firmware
from services.common.contract.firmware import DiagnosticsRequest, UpdateRequest

from .base import Actions

log = logging.getLogger(__name__)

HANDOVER_TIMEOUT_S = 5.0


class FirmwareActions(Actions):
    @on(Action.update_firmware)
    async def on_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None,
                                 retry_interval: int | None = None) -> call_result.UpdateFirmware:
        try:
            request = UpdateRequest(location=location, retrieve_at=_utc(retrieve_date),
                                    retries=retries or 0, retry_interval_s=retry_interval or 60)
            await self.station.bus.request(firmware.UPDATE, request, timeout=HANDOVER_TIMEOUT_S)
        except (ValueError, ValidationError) as exc:
            raise InternalError(description=f"the update cannot be taken: {exc}"[:255]) from None
        except BusError as exc:
            raise InternalError(description=f"the firmware service is not reachable: {exc.code}") from None
        return call_result.UpdateFirmware()

    @on(Action.get_diagnostics)
    async def on_get_diagnostics(self, location: str, retries: int | None = None, retry_interval: int | None = None,
                                 start_time: str | None = None, stop_time: str | None = None
                                 ) -> call_result.GetDiagnostics:
        try:
            request = DiagnosticsRequest(
                location=location, retries=retries or 0, retry_interval_s=retry_interval or 60,
                start=_utc(start_time) if start_time else None,
                stop=_utc(stop_time) if stop_time else None)
            reply = await self.station.bus.request(firmware.GET_DIAGNOSTICS, request, timeout=HANDOVER_TIMEOUT_S)
        except (ValueError, ValidationError) as exc:
            raise InternalError(description=f"the request cannot be taken: {exc}"[:255]) from None
        except BusError as exc:
            raise InternalError(description=f"the firmware service is not reachable: {exc.code}") from None
        return call_result.GetDiagnostics(file_name=reply.file_name)


def _utc(text: str) -> datetime:
    """An OCPP dateTime; one without a time zone is UTC (as everywhere in this station)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

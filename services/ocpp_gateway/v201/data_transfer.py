"""OCPP 2.0.1 P01: DataTransfer. The station has no vendor extension: another vendor's id is UnknownVendorId,
its own (`chargebus`, compared without case) UnknownMessageId, as under 1.6."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import DataTransferStatusEnumType as Status

from ..keys import VENDOR_ID


class DataTransferActions(ChargePoint):
    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: Any = None,
                               **_custom: Any) -> call_result.DataTransfer:
        if vendor_id.casefold() != VENDOR_ID.casefold():
            return call_result.DataTransfer(status=Status.unknown_vendor_id)
        return call_result.DataTransfer(status=Status.unknown_message_id)

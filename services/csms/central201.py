"""The dev CSMS's side of an OCPP 2.0.1 charge point's link: the same permissive Central System as for 1.6.

Every token is Accepted (in Authorize, and in the TransactionEvent that carries one), every frame is logged
both ways as one line, and after each BootNotification has been answered SampledDataCtrlr.TxUpdatedInterval
is set to a few seconds, so that a short bench session shows its TransactionEvent Updated meter values.
The library checks every message both ways against the 2.0.1 JSON schemas.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.datatypes import ComponentType, IdTokenInfoType, SetVariableDataType, VariableType
from ocpp.v201.enums import (
    Action,
    AuthorizationStatusEnumType,
    SetVariableStatusEnumType,
)

from .central import DevLink

log = logging.getLogger(__name__)

METER_INTERVAL = ("SampledDataCtrlr", "TxUpdatedInterval")


class DevChargePoint201(DevLink, ChargePoint):
    """One connected OCPP 2.0.1 station, seen from the dev CSMS."""

    calls = call
    results = call_result
    version = "2.0.1"

    async def configure(self) -> None:
        component, variable = METER_INTERVAL
        result = await self.call(call.SetVariables(set_variable_data=[SetVariableDataType(
            attribute_value=str(self.meter_interval_s), component=ComponentType(name=component),
            variable=VariableType(name=variable))]))
        statuses = [r.get("attribute_status") for r in (result.set_variable_result if result is not None else [])]
        if statuses != [SetVariableStatusEnumType.accepted]:
            log.warning("cp=%s %s.%s=%d not accepted: %s", self.id, component, variable, self.meter_interval_s,
                        statuses or result)

    @on(Action.authorize)
    def on_authorize(self, **_payload: Any) -> call_result.Authorize:
        return call_result.Authorize(id_token_info=_accepted())

    @on(Action.transaction_event)
    def on_transaction_event(self, **payload: Any) -> call_result.TransactionEvent:
        # the token's status is given where the station sent one (E01-E03); the transaction id is the station's
        return call_result.TransactionEvent(id_token_info=_accepted() if payload.get("id_token") else None)

    @on(Action.notify_report)
    def on_notify_report(self, **_payload: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on(Action.notify_event)
    def on_notify_event(self, **_payload: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **_payload: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    def on_log_status(self, **_payload: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event(self, **_payload: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on(Action.reservation_status_update)
    def on_reservation_status_update(self, **_payload: Any) -> call_result.ReservationStatusUpdate:
        return call_result.ReservationStatusUpdate()

    @on(Action.report_charging_profiles)
    def on_report_charging_profiles(self, **_payload: Any) -> call_result.ReportChargingProfiles:
        return call_result.ReportChargingProfiles()


def _accepted() -> IdTokenInfoType:
    return IdTokenInfoType(status=AuthorizationStatusEnumType.accepted)

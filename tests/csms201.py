"""The test Central System's side of an OCPP 2.0.1 station (`tests.csms.CentralSystem(version="2.0.1")`).

The library's v201 ChargePoint checks every message both ways against the 2.0.1 JSON schemas. Every call is
recorded under its action, as for 1.6; tokens are answered from the same `tags`, `parents` and `infos` a 1.6
test scripts (by the token's value), so a scenario scripts its CSMS once for both versions.
"""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action

from tests.csms import _now, _Scripted


class StationSide201(_Scripted, ChargePoint):
    """The CSMS's view of one connected OCPP 2.0.1 charging station."""

    def _token_info(self, id_token: dict[str, Any]) -> dict[str, Any]:
        info = self.csms.id_tag_info(id_token["id_token"])
        answer: dict[str, Any] = {"status": info["status"]}
        if info.get("expiry_date"):
            answer["cache_expiry_date_time"] = info["expiry_date"]
        if info.get("parent_id_tag"):
            answer["group_id_token"] = {"id_token": info["parent_id_tag"], "type": "Central"}
        return answer

    @on(Action.boot_notification)
    async def on_boot(self, **payload: Any) -> call_result.BootNotification:
        self.csms.record("BootNotification", payload)
        return call_result.BootNotification(current_time=_now(), interval=self.csms.boot_interval,
                                            status=self.csms.boot_status.value)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **payload: Any) -> call_result.Heartbeat:
        self.csms.record("Heartbeat", payload)
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    async def on_status(self, **payload: Any) -> call_result.StatusNotification:
        self.csms.record("StatusNotification", payload)
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, **payload: Any) -> call_result.Authorize:
        self.csms.record("Authorize", payload)
        return call_result.Authorize(id_token_info=self._token_info(payload["id_token"]))

    @on(Action.transaction_event)
    async def on_transaction_event(self, **payload: Any) -> call_result.TransactionEvent:
        self.csms.record("TransactionEvent", payload)
        token = payload.get("id_token")
        return call_result.TransactionEvent(id_token_info=self._token_info(token) if token else None)

    @on(Action.meter_values)
    async def on_meter_values(self, **payload: Any) -> call_result.MeterValues:
        self.csms.record("MeterValues", payload)
        return call_result.MeterValues()

    @on(Action.notify_report)
    async def on_notify_report(self, **payload: Any) -> call_result.NotifyReport:
        self.csms.record("NotifyReport", payload)
        return call_result.NotifyReport()

    @on(Action.notify_event)
    async def on_notify_event(self, **payload: Any) -> call_result.NotifyEvent:
        self.csms.record("NotifyEvent", payload)
        return call_result.NotifyEvent()

    @on(Action.security_event_notification)
    async def on_security_event(self, **payload: Any) -> call_result.SecurityEventNotification:
        self.csms.record("SecurityEventNotification", payload)
        return call_result.SecurityEventNotification()

    @on(Action.report_charging_profiles)
    async def on_report_profiles(self, **payload: Any) -> call_result.ReportChargingProfiles:
        self.csms.record("ReportChargingProfiles", payload)
        return call_result.ReportChargingProfiles()

    @on(Action.reservation_status_update)
    async def on_reservation_status(self, **payload: Any) -> call_result.ReservationStatusUpdate:
        self.csms.record("ReservationStatusUpdate", payload)
        return call_result.ReservationStatusUpdate()

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, **payload: Any) -> call_result.FirmwareStatusNotification:
        self.csms.record("FirmwareStatusNotification", payload)
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    async def on_log_status(self, **payload: Any) -> call_result.LogStatusNotification:
        self.csms.record("LogStatusNotification", payload)
        return call_result.LogStatusNotification()

"""OCPP 2.0.1 B: GetVariables, SetVariables and GetBaseReport answered from the device model's store, on the
`ocpp` library's v201 ChargePoint (which checks every message both ways against the 2.0.1 schemas).

A request with more entries than DeviceDataCtrlr.ItemsPerMessage of its message is refused with
OccurrenceConstraintViolation, as B05/B06 allow. Accepted values are announced on the bus once the answer is
out; a base report is answered first and sent after, as NotifyReport parts in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from ocpp.exceptions import OccurrenceConstraintViolationError
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import GenericDeviceModelStatusEnumType as ReportStatus
from ocpp.v201.enums import ReportBaseEnumType as ReportBase

from .device_model import parts
from .variable_store import VariableStore
from .variables import DEVICE_DATA, VARIABLES, Var

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None], str], None]


def _items_per_message(instance: str) -> Var:
    return next(v for v in VARIABLES if v.component == DEVICE_DATA and v.name == "ItemsPerMessage"
                and v.instance == instance)


class ProvisioningActions(ChargePoint):
    """The device model's calls; `spawn` runs what goes on after an answer (a report's parts)."""

    def __init__(self, cp_id: str, connection: Any, variables: VariableStore, spawn: Spawn,
                 response_timeout: float = 30.0) -> None:
        super().__init__(cp_id, connection, response_timeout=response_timeout)
        self.variables = variables
        self.spawn = spawn
        self._reports: dict[int, list[dict[str, Any]]] = {}

    async def close(self) -> None:
        """The connection is gone. Nothing to cancel: the library answers each call as it reads it."""

    def _within(self, count: int, instance: str) -> None:
        limit = int(self.variables.value(_items_per_message(instance)))
        if count > limit:
            raise OccurrenceConstraintViolationError(
                description=f"{count} entries; DeviceDataCtrlr.ItemsPerMessage of {instance} is {limit}")

    @on(Action.get_variables)
    async def on_get_variables(self, get_variable_data: list[dict[str, Any]]) -> call_result.GetVariables:
        self._within(len(get_variable_data), "GetVariables")
        await self.variables.refresh_live(get_variable_data)
        return call_result.GetVariables(get_variable_result=self.variables.get_variables(get_variable_data))

    @on(Action.set_variables)
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]]) -> call_result.SetVariables:
        self._within(len(set_variable_data), "SetVariables")
        return call_result.SetVariables(set_variable_result=self.variables.set_variables(set_variable_data))

    @after(Action.set_variables)
    def after_set_variables(self, **_payload: Any) -> None:
        self.spawn(self.variables.announce(), "announce-variables")

    @on(Action.get_base_report)
    async def on_get_base_report(self, request_id: int, report_base: str) -> call_result.GetBaseReport:
        await self.variables.refresh_live(None)
        report = self.variables.report(ReportBase(report_base))
        if not report:
            return call_result.GetBaseReport(status=ReportStatus.empty_result_set)
        self._reports[request_id] = report
        return call_result.GetBaseReport(status=ReportStatus.accepted)

    @after(Action.get_base_report)
    def after_get_base_report(self, request_id: int, report_base: str) -> None:
        report = self._reports.pop(request_id, None)
        if report is not None:
            self.spawn(self._notify_report(request_id, report), f"notify-report-{request_id}")

    async def _notify_report(self, request_id: int, report: list[dict[str, Any]]) -> None:
        per_part = int(self.variables.value(_items_per_message("GetReport")))
        generated_at = datetime.now(UTC).isoformat()
        for seq_no, tbc, data in parts(report, per_part):
            await self.call(call.NotifyReport(request_id=request_id, generated_at=generated_at, seq_no=seq_no,
                                              tbc=tbc, report_data=data))
        log.info("report request_id=%d sent: %d variables", request_id, len(report))

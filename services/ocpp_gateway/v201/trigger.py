"""OCPP 2.0.1 F06: TriggerMessage. The requested message goes out after the answer, never before it, and
whatever holds its kind back otherwise (the boot loop's wait while Pending, MinimumStatusDuration).

BootNotification (reason Triggered), Heartbeat, StatusNotification (of one EVSE's connector, or all of them),
MeterValues (a reading now), TransactionEvent (an Updated event, triggerReason Trigger, queued in order behind
the transaction's others; Rejected when no transaction runs there), FirmwareStatusNotification and
LogStatusNotification (where the jobs stand now) can be asked for. The certificate messages are NotImplemented:
never Accepted and then not sent.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import MessageTriggerEnumType as Trigger
from ocpp.v201.enums import TriggerMessageStatusEnumType as Status

from services.common.bus import Bus, BusError
from services.common.contract.hardware import CONNECTORS

from ..engine import TransactionEngine
from ..link import Link
from ..ports import CsmsCallError, CsmsUnavailable
from ..status import StatusReporter
from ..tx_store import TxStore
from . import jobs
from .connector_status import connector_of
from .provisioning import Spawn

log = logging.getLogger(__name__)

SUPPORTED = (Trigger.boot_notification, Trigger.heartbeat, Trigger.status_notification, Trigger.meter_values,
             Trigger.transaction_event, Trigger.firmware_status_notification, Trigger.log_status_notification)
PER_EVSE = (Trigger.status_notification, Trigger.meter_values, Trigger.transaction_event)


class TriggerActions(ChargePoint):
    """Needs `link`, `status`, `transactions` and `spawn` from the class it is mixed into."""

    link: Link
    bus: Bus
    store: TxStore
    status: StatusReporter
    transactions: TransactionEngine
    spawn: Spawn

    def _answer(self, requested_message: str, evse: dict[str, Any] | None) -> Status:
        if requested_message not in SUPPORTED:
            return Status.not_implemented
        connector = connector_of(evse) if requested_message in PER_EVSE else 0
        if connector is None or (evse is not None and connector == 0):
            return Status.rejected
        if requested_message == Trigger.transaction_event and not any(
                self.transactions.sessions.running(c) for c in ([connector] if connector else CONNECTORS)):
            return Status.rejected
        return Status.accepted

    @on(Action.trigger_message)
    async def on_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None,
                                 **_custom: Any) -> call_result.TriggerMessage:
        return call_result.TriggerMessage(status=self._answer(requested_message, evse))

    @after(Action.trigger_message)
    def after_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None,
                              **_custom: Any) -> None:
        # sync on purpose: the library does not keep a task it makes of an async after-hook
        if self._answer(requested_message, evse) is Status.accepted:
            self.spawn(self._send_triggered(Trigger(requested_message), evse), f"trigger-{requested_message}")

    async def _send_triggered(self, message: Trigger, evse: dict[str, Any] | None) -> None:
        try:
            if message is Trigger.boot_notification:
                await self.link.trigger_boot()
            elif message is Trigger.heartbeat:
                await self.link.call_triggered(call.Heartbeat())
            elif message is Trigger.meter_values:
                await self.transactions.trigger_meter_values(evse["id"] if evse is not None else None)
            elif message is Trigger.transaction_event:
                await self.transactions.trigger_transaction_event(evse["id"] if evse is not None else None)
            elif message in (Trigger.firmware_status_notification, Trigger.log_status_notification):
                now = await jobs.jobs_now(self.bus)
                kind, phase = ("firmware", now.firmware) if message is Trigger.firmware_status_notification else (
                    "diagnostics", now.diagnostics)
                await self.link.call_triggered(jobs.status_call(self.store, kind, phase))
            else:
                await self.status.trigger(evse["id"] if evse is not None else None)
        except (CsmsUnavailable, CsmsCallError, BusError) as exc:
            log.warning("triggered %s not delivered: %s", message, exc)

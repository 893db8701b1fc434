"""Remote Trigger: the requested message goes out after the TriggerMessage.conf, never before it.

The answer is given by the handler; the message itself is sent from the library's after-hook (called
once the answer is on the wire) in a task of the gateway. A triggered message is sent whatever holds
its kind back otherwise: MinimumStatusDuration for a StatusNotification, the boot loop's wait while
Pending for a BootNotification.
"""

from __future__ import annotations

import logging

from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, MessageTrigger, TriggerMessageStatus

from services.common.bus import BusError
from services.common.contract import firmware
from services.common.contract.base import Empty
from services.common.contract.firmware import FirmwarePhase, JobsStatus, UploadPhase
from services.common.contract.hardware import CONNECTORS

from ..firmware_notifier import DIAGNOSTICS_STATUSES, FIRMWARE_STATUSES
from ..ports import CsmsCallError, CsmsUnavailable
from .base import Actions

log = logging.getLogger(__name__)

STATION_WIDE = (MessageTrigger.boot_notification, MessageTrigger.heartbeat, MessageTrigger.firmware_status_notification,
                MessageTrigger.diagnostics_status_notification)


def answer(requested_message: str, connector_id: int | None) -> TriggerMessageStatus:
    if requested_message not in {m.value for m in MessageTrigger}:
        return TriggerMessageStatus.not_implemented
    if connector_id is None or requested_message in STATION_WIDE:
        return TriggerMessageStatus.accepted
    if connector_id in CONNECTORS or (connector_id == 0 and requested_message == MessageTrigger.status_notification):
        return TriggerMessageStatus.accepted
    return TriggerMessageStatus.rejected  # a connector that does not exist (0 has no meter of its own)


class TriggerActions(Actions):
    @on(Action.trigger_message)
    async def on_trigger_message(self, requested_message: str, connector_id: int | None = None
                                 ) -> call_result.TriggerMessage:
        return call_result.TriggerMessage(status=answer(requested_message, connector_id))

    @after(Action.trigger_message)
    def after_trigger_message(self, requested_message: str, connector_id: int | None = None) -> None:
        # sync on purpose: the library never awaits an async after-hook
        if answer(requested_message, connector_id) is TriggerMessageStatus.accepted:
            self.station.spawn(self._send_triggered(MessageTrigger(requested_message), connector_id),
                               f"trigger-{requested_message}")

    async def _send_triggered(self, message: MessageTrigger, connector_id: int | None) -> None:
        link = self.station.link
        try:
            if message is MessageTrigger.boot_notification:
                await link.trigger_boot()
            elif message is MessageTrigger.heartbeat:
                await link.call_triggered(call.Heartbeat())
            elif message is MessageTrigger.status_notification:
                await self.station.status.trigger(connector_id)
            elif message is MessageTrigger.meter_values:
                await self.station.transactions.trigger_meter_values(connector_id)
            elif message is MessageTrigger.firmware_status_notification:
                jobs = await self._jobs()
                await link.call_triggered(call.FirmwareStatusNotification(status=FIRMWARE_STATUSES[jobs.firmware]))
            else:
                jobs = await self._jobs()
                status = DIAGNOSTICS_STATUSES[jobs.diagnostics]
                await link.call_triggered(call.DiagnosticsStatusNotification(status=status))
        except (CsmsUnavailable, CsmsCallError) as exc:
            log.warning("triggered %s not delivered: %s", message, exc)

    async def _jobs(self) -> JobsStatus:
        try:
            jobs: JobsStatus = await self.station.bus.request(firmware.STATUS, Empty(), timeout=3)
            return jobs
        except BusError as exc:  # the firmware service is down: nothing of it runs
            log.warning("firmware status unknown (%s): reporting Idle", exc)
            return JobsStatus(firmware=FirmwarePhase.IDLE, diagnostics=UploadPhase.IDLE)

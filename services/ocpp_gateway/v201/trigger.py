"""OCPP 2.0.1 F06: TriggerMessage. The requested message goes out after the answer, never before it, and
whatever holds its kind back otherwise (the boot loop's wait while Pending, MinimumStatusDuration).

BootNotification (reason Triggered), Heartbeat and StatusNotification (of one EVSE's connector, or all of
them) can be asked for now. The others need parts of the 2.0.1 gateway that are not there yet (transactions,
firmware, logs, certificates): NotImplemented, not Accepted and then never sent.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import MessageTriggerEnumType as Trigger
from ocpp.v201.enums import TriggerMessageStatusEnumType as Status

from ..link import Link
from ..ports import CsmsCallError, CsmsUnavailable
from ..status import StatusReporter
from .connector_status import connector_of
from .provisioning import Spawn

log = logging.getLogger(__name__)

SUPPORTED = (Trigger.boot_notification, Trigger.heartbeat, Trigger.status_notification)


def answer(requested_message: str, evse: dict[str, Any] | None) -> Status:
    if requested_message not in SUPPORTED:
        return Status.not_implemented
    if evse is None or requested_message != Trigger.status_notification:
        return Status.accepted
    return Status.accepted if connector_of(evse) else Status.rejected


class TriggerActions(ChargePoint):
    """Needs `link`, `status` and `spawn` from the class it is mixed into."""

    link: Link
    status: StatusReporter
    spawn: Spawn

    @on(Action.trigger_message)
    async def on_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None,
                                 **_custom: Any) -> call_result.TriggerMessage:
        return call_result.TriggerMessage(status=answer(requested_message, evse))

    @after(Action.trigger_message)
    def after_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None,
                              **_custom: Any) -> None:
        # sync on purpose: the library does not keep a task it makes of an async after-hook
        if answer(requested_message, evse) is Status.accepted:
            self.spawn(self._send_triggered(Trigger(requested_message), evse), f"trigger-{requested_message}")

    async def _send_triggered(self, message: Trigger, evse: dict[str, Any] | None) -> None:
        try:
            if message is Trigger.boot_notification:
                await self.link.trigger_boot()
            elif message is Trigger.heartbeat:
                await self.link.call_triggered(call.Heartbeat())
            else:
                await self.status.trigger(evse["id"] if evse is not None else None)
        except (CsmsUnavailable, CsmsCallError) as exc:
            log.warning("triggered %s not delivered: %s", message, exc)

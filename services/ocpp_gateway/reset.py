"""Reset (OCPP 1.6 §5.14): stop the transactions, let the CSMS hear of it, then restart every service.

- Soft: each StopTransaction is answered and the status that follows it (Finishing) delivered before
  anything restarts, bounded by the OCPP response timeout: a slow CSMS gets each message once, and a
  station that is offline does not wait for what it cannot send.
- Hard: the stops stay in the outbox and follow the new BootNotification (§5.14 allows it); the message
  already on the wire gets its answer first, so a stop the CSMS confirmed is never sent again.
- Either way the outbox sends nothing more once the restart is near: a message cut off by the restart
  would go out twice.
- ResetRetries: a restart the supervisor did not take is asked for again that many times; after that the
  station goes on without restarting, and says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ocpp.v16.enums import ResetType

from services.common.bus import Bus, BusError
from services.common.contract import supervisor
from services.common.contract.supervisor import RestartRequest

from .link import Link
from .ports import Transactions
from .status import StatusReporter

log = logging.getLogger(__name__)

STOP_S = 30.0  # for the transactions to stop (power and metering answer within seconds)
RETRY_S = 5.0  # between two restart requests the supervisor did not take
SETTLE_POLL_S = 0.1


@dataclass(frozen=True)
class Reset:
    bus: Bus
    retries: Callable[[], int]  # restart requests to repeat when the supervisor does not take one (ResetRetries)
    transactions: Transactions
    link: Link
    status: StatusReporter
    record_restart_reason: Callable[[str | None], None]  # read by the next start (None: no restart)
    response_timeout_s: float

    async def run(self, kind: str) -> None:
        reason = "HardReset" if kind == ResetType.hard else "SoftReset"
        log.warning("reset type=%s: stopping transactions, then restarting every service", kind)
        connectors = self.transactions.transaction_connectors()
        # a restart the station decided itself: a session found open afterwards is not a power loss,
        # and the station boots again (BootNotification) on its next connection
        self.record_restart_reason(reason)
        self.link.forget_registration()
        deadline = time.monotonic() + self.response_timeout_s
        if kind == ResetType.hard:
            await self.transactions.hold_outbox(self.response_timeout_s)
        try:
            async with asyncio.timeout(STOP_S):
                await self.transactions.stop_all(reason)
        except TimeoutError:
            log.error("reset: transactions did not stop within %.0f s; restarting anyway", STOP_S)
        if kind == ResetType.soft:
            await self._delivered(connectors, deadline)
        await self.transactions.hold_outbox(max(0.0, deadline - time.monotonic()))
        if await self._restart(kind):
            return
        self.record_restart_reason(None)
        self.transactions.release_outbox()

    async def _delivered(self, connectors: set[int], deadline: float) -> None:
        """Until each stop is confirmed and its connector's new status delivered, while the CSMS can hear us."""
        while time.monotonic() < deadline and self.link.accepted:
            if all(not self.transactions.unconfirmed(c) and self.status.settled(c) for c in connectors):
                return
            await asyncio.sleep(SETTLE_POLL_S)
        log.warning("reset: restarting before the CSMS confirmed every stop and status (link accepted=%s)",
                    self.link.accepted)

    async def _restart(self, kind: str) -> bool:
        attempts = 1 + self.retries()
        for attempt in range(1, attempts + 1):
            try:
                await self.bus.request(supervisor.RESTART, RestartRequest(service=None, reason=f"OCPP Reset {kind}"))
                return True
            except BusError as exc:
                log.error("reset: the supervisor did not take the restart (attempt %d of %d): %s", attempt, attempts,
                          exc)
            if attempt < attempts:
                await asyncio.sleep(RETRY_S)
        log.error("reset failed after %d attempts (ResetRetries): the station goes on without restarting", attempts)
        return False

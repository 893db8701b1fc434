"""StatusNotification: connector 0 (the station) and 1, after every boot and on every change.

Only the latest status per connector matters: while offline or not yet Accepted changes are
collapsed, and the newest is sent once the link is Accepted (OCPP 1.6 §4.9).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import call

from services.common.bus import Bus
from services.common.contract import power
from services.common.contract.power import ConnectorErrorCode, ConnectorState, ConnectorStatus

from .availability import Availability
from .ports import CsmsCallError, CsmsLink, CsmsUnavailable

log = logging.getLogger(__name__)


class StatusReporter:
    def __init__(self, bus: Bus, link: CsmsLink, availability: Availability) -> None:
        self.link = link
        self.availability = availability
        self.current: dict[int, tuple[str, str, str | None]] = {}
        self.sent: dict[int, tuple[str, str, str | None]] = {}
        self._changed = asyncio.Event()
        # a connector's status waits while its StartTransaction is unconfirmed: the CSMS must learn of
        # the transaction before it sees the connector Charging
        self.hold: Callable[[int], bool] = lambda _connector: False
        # MinimumStatusDuration (PICS C-05): a status is reported once it has been stable this long
        self.minimum_s: Callable[[], int] = lambda: 0
        self.changed_at: dict[int, float] = {}
        bus.watch(power.CONNECTOR.filter, self.on_connector)

    async def on_connector(self, _topic: str, _d: Any, state: Any, _p: dict[str, str]) -> None:
        if isinstance(state, ConnectorState):
            value = (state.status.value, state.error_code.value, state.vendor_error_code)
            if self.current.get(state.connector_id) != value:
                self.changed_at[state.connector_id] = time.monotonic()
            self.current[state.connector_id] = value
            self.station_changed()

    def station_changed(self) -> None:
        status = ConnectorStatus.AVAILABLE if self.availability.operative[0] else ConnectorStatus.UNAVAILABLE
        self.current[0] = (status.value, ConnectorErrorCode.NO_ERROR.value, None)
        self._changed.set()

    async def on_accepted(self) -> None:
        self.sent.clear()  # a new boot: the CSMS gets every connector again
        self.station_changed()

    async def run(self) -> None:
        self.station_changed()
        while True:
            await self.link.wait_accepted()
            pending = [c for c in sorted(self.current) if self.sent.get(c) != self.current[c]]
            stable_since = time.monotonic() - self.minimum_s()
            ready = [c for c in pending if not self.hold(c) and self.changed_at.get(c, 0.0) <= stable_since]
            if not ready:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05 if pending else 5)
                continue
            pending = ready
            for connector in pending:
                await self._send(connector, self.current[connector])

    async def _send(self, connector: int, value: tuple[str, str, str | None]) -> None:
        status, error_code, vendor = value
        try:
            await self.link.call(call.StatusNotification(
                connector_id=connector, error_code=error_code, status=status,
                timestamp=datetime.now(UTC).isoformat(), vendor_error_code=vendor))
        except (CsmsUnavailable, CsmsCallError) as exc:
            log.warning("status notification connector=%d not delivered: %s", connector, exc)
            await asyncio.sleep(1)
            return
        self.sent[connector] = value

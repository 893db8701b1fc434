"""StatusNotification: connector 0 (the station) and each connector, after a boot and on every change.

- The status is worked out here (`connector_status.py`), from power's hardware facts and what the gateway
  owns (availability, a session being prepared, the reservation), and published as the retained
  `chargebus/ocpp_gateway/state/connector/<n>` for the status page and `chargebus status`.

- Only the latest status per connector matters: while offline or not yet Accepted changes are
  collapsed, and the newest is sent once the link is Accepted (OCPP 1.6 §4.9). What was last
  delivered is kept in SQLite, so a reconnect (or a gateway restart) reports only what changed.
- The timestamp is the time of the change, not the time of sending.
- MinimumStatusDuration (PICS C-05): a status is reported once it has held that long, on every
  connector including 0.
- A connector's status waits while its session is unconfirmed (see `hold`): the CSMS learns of a
  transaction before it sees the connector Charging, and of its end before Finishing.
- A status the CSMS answers with a CALLERROR is sent again after a back-off (2 s doubling to 5 min),
  not every second for ever.
- The CSMS contradicting a valid local list entry is reported at once: the connector's status with
  errorCode LocalListConflict, then its status as it is.
- How the CSMS is told is the protocol's (`Notifier`): 1.6 tells every status with its error code, 2.0.1 tells
  five statuses per EVSE connector (the session's are one, Occupied) and nothing for the station as a whole; a
  change the protocol does not tell is not sent.
- A new session on a Finishing connector (a RemoteStartTransaction before the cable was unplugged) is
  reported Preparing first: the 1.6 status table leads from Finishing to Preparing, never to Charging. It is
  Preparing as soon as the gateway starts the session, and the report goes out at once, not held for the
  StartTransaction: its round trip to the CSMS runs while the output is energized.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import call
from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus
from sqlalchemy import Engine, text

from services.common.bus import Bus
from services.common.contract import auth, ocpp_gateway, power
from services.common.contract.auth import ListConflict
from services.common.contract.ocpp_gateway import ConnectorReport
from services.common.contract.power import ConnectorState
from services.common.db import write_now

from .connector_status import SESSION_STATUSES, Owned, Value, work_out
from .link import Link
from .ports import CsmsCallError, CsmsUnavailable

log = logging.getLogger(__name__)

# a new session on a Finishing connector: Preparing when the gateway starts it, or a session status if power's
# report came first
_FROM_FINISHING = SESSION_STATUSES | {ChargePointStatus.preparing.value}
FIRST_BACKOFF_S = 2.0
MAX_BACKOFF_S = 300.0


@dataclass
class Reported:
    value: Value
    at: datetime  # when this value began (the timestamp sent)
    changed_mono: float  # the same instant on the monotonic clock, for MinimumStatusDuration


@dataclass(frozen=True)
class Notifier:
    """How a protocol tells the CSMS a connector's status."""

    project: Callable[[Value], Value]  # the value as the protocol tells it: two that project alike are one
    request: Callable[[int, Value, datetime], Any | None]  # the call; None: the protocol tells nothing of it
    conflicts: bool  # a local list conflict is told as the status's error code


def _request_16(connector: int, value: Value, at: datetime) -> Any:
    status, error_code, vendor = value
    return call.StatusNotification(connector_id=connector, error_code=error_code, status=status,
                                   timestamp=at.isoformat(), vendor_error_code=vendor)


OCPP16 = Notifier(project=lambda value: value, request=_request_16, conflicts=True)


class StatusReporter:
    def __init__(self, bus: Bus, engine: Engine, link: Link, *, station_operative: Callable[[], bool],
                 owned: Callable[[int], Owned], hold: Callable[[int], bool], minimum_s: Callable[[], int],
                 notifier: Notifier = OCPP16) -> None:
        self.link = link
        self.notifier = notifier
        self._bus = bus
        self._owned = owned
        self._states: dict[int, ConnectorState] = {}
        self._engine = engine
        self._station_operative = station_operative
        self._hold = hold
        self._minimum_s = minimum_s
        self.current: dict[int, Reported] = {}
        self.sent: dict[int, Value] = self._load_sent()
        self._retry_at: dict[int, float] = {}
        self._backoff: dict[int, float] = {}
        self._changed = asyncio.Event()
        self._conflicts: set[int] = set()
        self._preparing: dict[int, Reported] = {}  # Preparing, to report before a session left Finishing
        bus.follow(power.CONNECTOR, self.on_connector)
        bus.on(auth.LOCAL_LIST_CONFLICT, self.on_conflict)

    async def on_conflict(self, conflict: ListConflict, _p: dict[str, str]) -> None:
        if not self.notifier.conflicts:
            return
        self._conflicts.add(conflict.connector_id if conflict.connector_id in self.current else 0)
        self._changed.set()

    def _load_sent(self) -> dict[int, Value]:
        with self._engine.connect() as conn:
            rows = conn.execute(text("SELECT connector_id, status, error_code, vendor_error_code FROM status_sent"))
            return {c: (s, e, v) for c, s, e, v in rows.tuples()}

    def _save_sent(self, connector: int, value: Value) -> None:
        write_now(self._engine, "INSERT INTO status_sent (connector_id, status, error_code, vendor_error_code) "
                  "VALUES (?, ?, ?, ?) ON CONFLICT (connector_id) DO UPDATE SET status = excluded.status, "
                  "error_code = excluded.error_code, vendor_error_code = excluded.vendor_error_code",
                  (connector, value[0], value[1], value[2]))

    def _set(self, connector: int, value: Value, at: datetime) -> None:
        old = self.current.get(connector)
        if old is not None and old.value == value:
            return
        # the monotonic instant of `at`: a status that began before we heard of it has already held a while
        age = max(0.0, (datetime.now(UTC) - at).total_seconds())
        self.current[connector] = Reported(value, at, time.monotonic() - age)
        error = None if value[1] == ChargePointErrorCode.no_error else value[1]
        self._bus.publish(ocpp_gateway.CONNECTOR_STATUS, ConnectorReport(
            connector_id=connector, status=value[0], error=error, detail=value[2], since=at), connector_id=connector)
        self._retry_at.pop(connector, None)
        self._backoff.pop(connector, None)
        self._changed.set()

    async def on_connector(self, state: ConnectorState | None, _p: dict[str, str]) -> None:
        if state is not None:
            self._states[state.connector_id] = state
            # power stamps `since` when its facts moved: a status they change began then
            self._work_out(state.connector_id, state.since)

    def refresh(self, connector: int) -> None:
        """What the gateway owns of the connector changed (availability, preparation, reservation): now."""
        if connector in self._states:
            self._work_out(connector, datetime.now(UTC))

    def _work_out(self, connector: int, since: datetime) -> None:
        value = work_out(self._states[connector], self._owned(connector))
        old = self.current.get(connector)
        at = since if old is None or old.value[0] != value[0] else datetime.now(UTC)  # an error code alone: now
        if old is not None and old.value[0] == ChargePointStatus.finishing and value[0] in _FROM_FINISHING:
            # goes out at once, ahead of the StartTransaction that the new session's statuses wait for
            self._preparing[connector] = Reported(
                (ChargePointStatus.preparing.value, ChargePointErrorCode.no_error.value, None), at, time.monotonic())
        self._set(connector, value, at)

    def station_changed(self) -> None:
        status = ChargePointStatus.available if self._station_operative() else ChargePointStatus.unavailable
        self._set(0, (status.value, ChargePointErrorCode.no_error.value, None), datetime.now(UTC))

    async def on_boot_accepted(self) -> None:
        """A new boot: the CSMS gets every connector again."""
        self.resend_all()

    def resend_all(self) -> None:
        """The CSMS gets every connector's status again, as if it had none."""
        self.sent.clear()
        self._changed.set()

    async def on_reconnected(self) -> None:
        """Back online without a new boot: what changed while offline goes out (only that)."""
        self._changed.set()

    def settled(self, connector: int) -> bool:
        """The connector left its charging states and the CSMS has its status (a Reset waits for this)."""
        reported = self.current.get(connector)
        return (reported is not None and reported.value[0] not in SESSION_STATUSES
                and self.sent.get(connector) == self.notifier.project(reported.value))

    def due(self, now: float) -> tuple[list[int], list[int]]:
        """(ready to send now, pending but held back)."""
        minimum = self._minimum_s()
        pending = [c for c in sorted(self.current) if self.sent.get(c) != self.notifier.project(self.current[c].value)]
        ready = [c for c in pending if not self._hold(c) and now - self.current[c].changed_mono >= minimum
                 and now >= self._retry_at.get(c, 0.0) and c not in self._preparing]
        return ready, pending

    async def run(self) -> None:
        self.station_changed()
        while True:
            await self.link.wait_accepted()
            for connector in sorted(self._conflicts):
                await self._report_conflict(connector)
            for connector, preparing in list(self._preparing.items()):
                if self.notifier.project(preparing.value) == self.sent.get(connector):
                    del self._preparing[connector]  # the protocol tells Finishing and Preparing alike
                elif time.monotonic() >= self._retry_at.get(connector, 0.0) and await self._send(connector, preparing):
                    del self._preparing[connector]
            ready, pending = self.due(time.monotonic())
            if not ready:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05 if pending else 5):
                        await self._changed.wait()
                continue
            for connector in ready:
                await self._send(connector, self.current[connector])

    async def trigger(self, connector_id: int | None) -> None:
        """TriggerMessage StatusNotification: now, whatever MinimumStatusDuration holds back."""
        targets = [connector_id] if connector_id is not None else sorted(self.current)
        for connector in targets:
            reported = self.current.get(connector)
            if reported is not None:
                await self._send(connector, reported, triggered=True)

    async def _report_conflict(self, connector: int) -> None:
        reported = self.current.get(connector)
        if reported is None:
            self._conflicts.discard(connector)
            return
        value = (reported.value[0], ChargePointErrorCode.local_list_conflict.value, None)
        if await self._send(connector, Reported(value, datetime.now(UTC), time.monotonic())):
            self._conflicts.discard(connector)

    async def _send(self, connector: int, reported: Reported, triggered: bool = False) -> bool:
        request = self.notifier.request(connector, reported.value, reported.at)
        try:
            if request is not None:
                await (self.link.call_triggered(request) if triggered else self.link.call(request))
        except CsmsCallError as exc:
            delay = min(MAX_BACKOFF_S, self._backoff.get(connector, FIRST_BACKOFF_S / 2) * 2)
            self._backoff[connector] = delay
            self._retry_at[connector] = time.monotonic() + delay
            log.warning("status notification connector=%d refused by the CSMS (%s): again in %.0f s", connector, exc,
                        delay)
            return False
        except CsmsUnavailable as exc:
            log.info("status notification connector=%d not delivered: %s", connector, exc)
            await asyncio.sleep(0.5)
            return False
        self._backoff.pop(connector, None)
        told = self.notifier.project(reported.value)
        self.sent[connector] = told
        self._save_sent(connector, told)
        return True

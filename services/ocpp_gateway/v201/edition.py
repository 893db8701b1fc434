"""The gateway's OCPP 2.0.1 parts, assembled: what `service.py` builds instead of the 1.6 ones when
`ocpp_version` is 2.0.1. The link, the transaction engine, the availability and the status reporter are the
same objects under both versions; this module gives them the device model for a configuration, the 2.0.1
dialect, transaction messages and status notifications, and makes the charge point of each connection.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ocpp.messages import MessageType, get_validator
from ocpp.v201.enums import Action
from sqlalchemy import Engine

from services.common.boot import current_boot_id
from services.common.bus import Bus, BusError
from services.common.contract import supervisor
from services.common.contract.auth import IdToken, TokenInfo
from services.common.contract.firmware import FirmwarePhase, Notification
from services.common.contract.hardware import CONNECTORS
from services.common.contract.ocpp_gateway import KeyChange
from services.common.contract.supervisor import RestartRequest
from services.common.settings import Settings
from services.common.version import VERSION

from .. import list_frames
from ..availability import Availability
from ..engine import RESTART_REASON, TransactionEngine
from ..link import Link
from ..status import StatusReporter
from ..tx_store import TxStore
from . import jobs, reservation, tokens
from .charge_point import ChargePoint201
from .connector_status import OCPP201 as NOTIFIER
from .dialect import OCPP201
from .live import LiveValues
from .provisioning import Spawn
from .security_events import SecurityEvents
from .tx_messages import OCPP201 as MESSAGES
from .variable_store import VariableStore
from .variables import OCPP_COMM, SECURITY

log = logging.getLogger(__name__)

__all__ = ["MESSAGES", "NOTIFIER", "OCPP201", "Edition", "boot_reason"]

OFFLINE_THRESHOLD = f"{OCPP_COMM}.OfflineThreshold"
RESETS_WAITING = "resets_on_idle"  # gateway_state key: the targets of a Reset OnIdle answered Scheduled (0: all)
# why the station restarted (the gateway's restart reason, `engine.RESTART_REASON`), as a 2.0.1 BootReason
BOOT_REASONS = {"SoftReset": "RemoteReset", "HardReset": "RemoteReset", "Reboot": "LocalReset"}


# firmware notifications that are security events too
FIRMWARE_EVENTS = {FirmwarePhase.INSTALLED.value: "FirmwareUpdated",
                   FirmwarePhase.INVALID_SIGNATURE.value: "InvalidFirmwareSignature"}


def warm_up() -> None:
    """Build the library's 2.0.1 validators and the local list's schemas once, in the launcher before it forks
    (a 2.0.1 station's launcher preloads this module)."""
    for action in Action:
        for kind in (MessageType.Call, MessageType.CallResult):
            with contextlib.suppress(OSError, ValueError):  # an action without a schema of this kind
                get_validator(kind, action.value, "2.0.1")
    list_frames.compiled_schema(list_frames.ACTION, result=False, version="v201")


def boot_reason(restart_reason: str | None, firmware_installing: bool = False) -> str:
    """Why this boot: a restart the station was asked for, the switch into a new firmware, else a power-up."""
    if restart_reason in BOOT_REASONS:
        return BOOT_REASONS[restart_reason]
    return "FirmwareUpdate" if firmware_installing else "PowerUp"


class Edition:
    def __init__(self, engine: Engine, bus: Bus, settings: Settings, operative: Callable[[int], bool],
                 store: TxStore) -> None:
        self.settings = settings
        self.bus = bus
        self.engine = engine
        self.store = store
        self.restart_reason = store.state(RESTART_REASON)
        self.live = LiveValues(bus, settings, operative)
        self.variables = VariableStore(engine, bus, self.live, refresh=self.live.refresh)
        self.boot_reason = boot_reason(self.restart_reason, store.state(jobs.INSTALLING) is not None)
        self._parts: dict[str, Any] = {}
        self._reset_waits: set[int] = set()  # Reset OnIdle scheduled: the station (0) or EVSEs

    def assemble(self, *, link: Link, status: StatusReporter, availability: Availability, store: TxStore,
                 transactions: TransactionEngine, reset: Callable[[str], Coroutine[Any, Any, None]], spawn: Spawn,
                 response_timeout_s: float) -> None:
        """The parts a connection's charge point works on: they outlive every connection."""
        self.live.status = status
        self.status = status
        self.security = SecurityEvents(self.engine, link)
        link.security_event = lambda kind, info: self.security.record(kind, info)
        self.variables.on_change(f"{SECURITY}.BasicAuthPassword", self._password_changed)
        self._boot_events()
        self.link = link
        self.transactions = transactions
        self.reset = reset
        self.spawn = spawn
        self._parts = {"variables": self.variables, "bus": self.bus, "link": link, "status": status,
                       "availability": availability, "store": store, "spawn": spawn, "transactions": transactions,
                       "reset": reset, "reset_evse": self.reset_evse, "reset_pending": lambda: bool(self._reset_waits),
                       "schedule_reset": self._schedule_reset, "security": self.security,
                       "response_timeout": response_timeout_s}
        transactions.add_end_listener(self._transaction_ended)
        link.when_reconnected(self._reconnected)
        # a Reset OnIdle the CSMS was answered Scheduled for survives a restart of the gateway
        kept = store.state(RESETS_WAITING) or ""
        self._reset_waits.update(int(t) for t in kept.split(",") if t.isdigit())
        link.when_accepted(self._resets_now_idle)
        transactions.on_reservation_end = lambda reservation_id, why: reservation.tell_expired(link, reservation_id,
                                                                                              why)

    def charge_point(self, connection: Any) -> ChargePoint201:
        return ChargePoint201(self.settings.charge_point_id, connection, **self._parts)

    async def change(self, path: str, value: str) -> KeyChange:
        """A change made on the station (the API, `chargebus config set`): as a SetVariables of it would be."""
        if not self.variables.has(path):
            return KeyChange.NOT_SUPPORTED
        return KeyChange.ACCEPTED if await self.variables.change(path, value) else KeyChange.REJECTED

    def notification(self, note: Notification) -> Any:
        """A firmware or log status notification as 2.0.1 tells it (and the security event it may be)."""
        if note.kind == "firmware":  # an install the station restarts from: its next boot is a FirmwareUpdate one
            self.store.set_state(jobs.INSTALLING, "1" if note.status == FirmwarePhase.INSTALLING else None)
        event = FIRMWARE_EVENTS.get(note.status) if note.kind == "firmware" else None
        if event is not None:
            self.security.record(event, f"firmware notification {note.seq}: {note.status}", key=f"firmware-{note.seq}")
        return jobs.notification(self.store, note)

    def _boot_events(self) -> None:
        """StartupOfTheDevice at a station boot, ResetOrReboot at one the station was asked for: once a boot."""
        boot = current_boot_id(self.settings.data_dir)
        if self.boot_reason == "PowerUp":
            self.security.record("StartupOfTheDevice", f"chargebus {VERSION}", key=f"boot-{boot}")
        else:
            self.security.record("ResetOrReboot", f"{self.boot_reason} ({self.restart_reason})", key=f"boot-{boot}")

    async def _reconnected(self) -> None:
        """Back after longer offline than OCPPCommCtrlr.OfflineThreshold: every connector's status goes out again,
        not only those that changed (as the spec recommends; a shorter outage sends the changes alone)."""
        down_at = self.link.down_at
        if down_at is not None and time.monotonic() - down_at > self.variables.get_int(OFFLINE_THRESHOLD):
            self.status.resend_all()

    async def _password_changed(self, _value: str) -> None:
        self.security.record("ReconfigurationOfSecurityParameters", "BasicAuthPassword set")

    async def authorize(self, token: IdToken) -> TokenInfo:
        return await tokens.authorize(self.link, token)

    async def reset_evse(self, connector: int) -> None:
        """Reset of one EVSE (B11, B12): its transaction ends (ImmediateReset), then `power`, which drives the EVSE's
        hardware, restarts alone; the station does not boot again."""
        await self.transactions.stop_all("SoftReset", connector)
        try:
            await self.bus.request(supervisor.RESTART, RestartRequest(service="power",
                                                                      reason=f"OCPP Reset of EVSE {connector}"))
        except BusError as exc:
            log.error("reset of EVSE %d: the supervisor did not restart power: %s", connector, exc)

    def _schedule_reset(self, target: int) -> None:
        self._reset_waits.add(target)
        self._keep_resets()

    def _keep_resets(self) -> None:
        self.store.set_state(RESETS_WAITING, ",".join(str(t) for t in sorted(self._reset_waits)) or None)

    async def _transaction_ended(self, connector: int) -> None:
        self._reset_if_idle((connector,))

    async def _resets_now_idle(self) -> None:
        """After a restart of the gateway: a reset it had scheduled whose transaction has ended meanwhile."""
        self._reset_if_idle(CONNECTORS)

    def _reset_if_idle(self, connectors: tuple[int, ...]) -> None:
        busy = self.transactions.sessions.busy
        if 0 in self._reset_waits and not any(busy(c) for c in CONNECTORS):
            self._reset_waits.clear()
            self._keep_resets()
            self.spawn(self.reset("Soft"), "reset-on-idle")
            return
        for connector in connectors:
            if connector in self._reset_waits and not busy(connector):
                self._reset_waits.discard(connector)
                self._keep_resets()
                self.spawn(self.reset_evse(connector), f"reset-evse-{connector}-on-idle")

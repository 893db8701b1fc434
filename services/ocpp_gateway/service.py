"""Wiring of the gateway: configuration store, transactions, availability, status, the CSMS link."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ocpp.v16 import call
from sqlalchemy.exc import SQLAlchemyError

from services.common.boot import current_boot_id
from services.common.bus import BusError
from services.common.contract import firmware, ocpp_gateway
from services.common.contract.auth import TokenInfo
from services.common.contract.base import ErrorCode
from services.common.contract.common import HEALTH, Health, HealthState
from services.common.contract.hardware import CONNECTORS
from services.common.contract.ocpp_gateway import (
    ChangeAvailabilityRequest,
    ChangeConfigurationReply,
    ChangeConfigurationRequest,
    CsmsAuthorizeRequest,
    KeyChange,
    Outcome,
    Report,
    SessionRequest,
    SessionView,
    StatusReply,
    TriggerRequest,
)
from services.common.db import open_engine
from services.common.lifecycle import Service

from . import tokens
from .actions.base import Station
from .availability import Availability
from .charge_point import ChargePoint
from .config_store import Change, ConfigStore
from .engine import RESTART_REASON, TransactionEngine
from .firmware_notifier import FirmwareNotifier
from .link import Link, server_keys
from .messages import OCPP16 as OCPP16_MESSAGES
from .ports import CsmsCallError, CsmsUnavailable
from .protocol import warm_up as warm_up  # the launcher builds the 1.6 validators once, before it forks
from .registration import RegistrationMemory
from .reset import Reset
from .status import OCPP16 as OCPP16_STATUS
from .status import StatusReporter
from .tx_messages import TxMessages
from .tx_store import TxStore

log = logging.getLogger(__name__)
KEY_CHANGES = {Change.ACCEPTED: KeyChange.ACCEPTED, Change.REJECTED: KeyChange.REJECTED,
               Change.NOT_SUPPORTED: KeyChange.NOT_SUPPORTED}

MIGRATIONS = Path(__file__).parent / "migrations"
POWER_WAIT_S = 3.0  # at start, for power to be online before it is told the availability in force


class OcppGatewayService(Service):
    name = "ocpp_gateway"

    async def setup(self) -> None:
        # the library logs every frame at INFO: the OCPP trace is there with CHARGEBUS_LOG_LEVEL=DEBUG
        logging.getLogger("ocpp").setLevel(logging.INFO if self.settings.log_level == "DEBUG" else logging.WARNING)
        self.v201 = self.settings.ocpp_version == "2.0.1"
        self.engine = open_engine(self.settings.db_path(self.name), MIGRATIONS)
        self.store = TxStore(self.engine)
        registration = RegistrationMemory(self.store, current_boot_id(self.settings.data_dir))
        if self.v201:
            # imported only here: a 1.6 station's processes have no use for the 2.0.1 message classes
            from .v201 import edition as v201

            self.edition = v201.Edition(self.engine, self.bus, self.settings,
                                        operative=lambda c: self.availability.effective(c), store=self.store)
            self.config: Any = self.edition.variables
            self.link = Link(self.settings, self.bus, self.config, registration, self.edition.charge_point,
                             outbox_pending=self.store.pending, dialect=v201.OCPP201,
                             boot_reason=lambda: self.edition.boot_reason)
            messages: TxMessages = v201.MESSAGES
        else:
            self.config = ConfigStore(self.engine, self.bus, in_force=server_keys(self.settings))
            self.link = Link(self.settings, self.bus, self.config, registration, self._protocol,
                             outbox_pending=self.store.pending)
            messages = OCPP16_MESSAGES
        self.store.on_outbox_change = self.link.outbox_changed
        self.transactions = TransactionEngine(self.bus, self.store, self.config, self.link, messages)
        self.availability = Availability(self.engine, self.bus, CONNECTORS,
                                         busy=lambda c: self.store.open_session(c) is not None,
                                         on_change=self._availability_changed)
        self.transactions.operative = self.availability.effective
        self.status = StatusReporter(self.bus, self.engine, self.link,
                                     station_operative=lambda: self.availability.operative[0],
                                     owned=self.transactions.owned,
                                     hold=self.transactions.unconfirmed,
                                     minimum_s=(lambda: 0) if self.v201 else
                                     (lambda: self.config.get_int("MinimumStatusDuration")),
                                     notifier=v201.NOTIFIER if self.v201 else OCPP16_STATUS)
        self.transactions.on_owned_change = self.status.refresh
        self.transactions.add_end_listener(self.availability.transaction_ended)
        self.link.when_accepted(self.transactions.on_accepted)
        self.link.when_booted(self.status.on_boot_accepted)
        self.link.when_reconnected(self.status.on_reconnected)
        self.notifier = FirmwareNotifier(self.store, self.link, **(
            {"request": self.edition.notification} if self.v201 else {}))
        self.bus.follow(firmware.JOBS, self.notifier.on_jobs)
        self.bus.handle(ocpp_gateway.CSMS_AUTHORIZE, self.on_authorize)
        self.bus.handle(ocpp_gateway.GET_SESSION, self.on_get_session)
        self.bus.handle(ocpp_gateway.CHANGE_CONFIGURATION, self.on_change_configuration)
        self.bus.handle(ocpp_gateway.CHANGE_AVAILABILITY, self.on_change_availability)
        self.bus.handle(ocpp_gateway.TRIGGER, self.on_trigger)
        self.bus.when_connected(self.republish)
        self._power_online = asyncio.Event()
        self.bus.follow(HEALTH, self._power_seen, service="power")
        self._tg: asyncio.TaskGroup | None = None
        retries_key = "OCPPCommCtrlr.ResetRetries" if self.v201 else "ResetRetries"
        reset = Reset(self.bus, lambda: self.config.get_int(retries_key), self.transactions, self.link, self.status,
                      lambda reason: self.store.set_state(RESTART_REASON, reason),
                      self.settings.ocpp_response_timeout_s).run
        if self.v201:
            self.edition.assemble(link=self.link, status=self.status, availability=self.availability,
                                  store=self.store, transactions=self.transactions, reset=reset, spawn=self._spawn,
                                  response_timeout_s=self.settings.ocpp_response_timeout_s)
        else:  # what the 1.6 actions work on
            self.station = Station(bus=self.bus, config=self.config, transactions=self.transactions,
                                   availability=self.availability, registration=lambda: self.link.registration,
                                   reset=reset, spawn=self._spawn, link=self.link, status=self.status,
                                   response_timeout_s=self.settings.ocpp_response_timeout_s)

    def _protocol(self, connection: Any) -> ChargePoint:
        return ChargePoint(self.settings.charge_point_id, connection, self.station)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        assert self._tg is not None, "CSMS calls are answered only while the gateway runs"
        self._tg.create_task(_logged(work, name), name=name)

    async def _availability_changed(self, connector: int) -> None:
        self.status.station_changed()
        for target in CONNECTORS if connector == 0 else (connector,):
            self.transactions.refresh(target)

    async def on_get_session(self, request: SessionRequest, _p: dict[str, str]) -> SessionView:
        if not self.transactions.recovered.is_set():
            raise BusError(ErrorCode.UNAVAILABLE, "the gateway is still recovering its sessions")
        return self.transactions.session(request.connector_id)

    async def on_change_configuration(self, request: ChangeConfigurationRequest, _p: dict[str, str]
                                      ) -> ChangeConfigurationReply:
        if self.v201:
            return ChangeConfigurationReply(status=await self.edition.change(request.key, request.value))
        status = await self.config.change(request.key, request.value)
        log.info("local configuration change key=%s status=%s", request.key, status.value)
        return ChangeConfigurationReply(status=KEY_CHANGES[status])

    async def on_change_availability(self, request: ChangeAvailabilityRequest, _p: dict[str, str]) -> StatusReply:
        if request.connector_id not in (0, *CONNECTORS):
            raise BusError(ErrorCode.NOT_FOUND, f"no connector {request.connector_id}")
        status = await self.availability.change(request.connector_id, request.operative)
        log.info("local availability change connector=%d operative=%s status=%s", request.connector_id,
                 request.operative, status)
        return StatusReply(status=Outcome(str(status).lower()))

    async def on_trigger(self, request: TriggerRequest, _p: dict[str, str]) -> StatusReply:
        if not self.link.connected or self._tg is None:
            return StatusReply(status=Outcome.REJECTED)
        if request.message is Report.BOOT:
            self._spawn(self.link.trigger_boot(), "local-trigger-boot")
        else:
            if request.connector_id not in (None, 0, *CONNECTORS):
                raise BusError(ErrorCode.NOT_FOUND, f"no connector {request.connector_id}")
            self._spawn(self.status.trigger(request.connector_id), "local-trigger-status")
        log.info("local trigger message=%s connector=%s", request.message, request.connector_id)
        return StatusReply(status=Outcome.ACCEPTED)

    async def on_authorize(self, request: CsmsAuthorizeRequest, _p: dict[str, str]) -> TokenInfo:
        """auth asks the CSMS about a token: the answer goes back to it alone (it caches it or compares it with its
        list)."""
        try:
            if self.v201:
                return await self.edition.authorize(request.token)
            id_tag = tokens.id_tag(request.token)
            if id_tag is None:
                raise BusError(ErrorCode.NOT_SUPPORTED, f"a {request.token.type} token has no 1.6 idTag")
            conf = await self.link.call(call.Authorize(id_tag=id_tag), timeout=30)
            return tokens.info(conf.id_tag_info)
        except CsmsUnavailable as exc:
            raise BusError(ErrorCode.UNAVAILABLE, f"CSMS unavailable: {exc}") from exc
        except CsmsCallError as exc:
            raise BusError(ErrorCode.UNAVAILABLE, f"CSMS answered {exc.code}") from exc
        except ValueError as exc:
            raise BusError(ErrorCode.UNAVAILABLE, f"the CSMS answered no usable token information: {exc}") from exc

    def republish(self) -> None:
        """After every (re)connection: keys, sessions and the link as SQLite and memory hold them."""
        self.config.publish_all()
        self.transactions.republish()
        self.availability.apply()
        self.link.publish_state()

    async def _power_seen(self, health: Health | None, _p: dict[str, str]) -> None:
        if health is not None and health.state is HealthState.ONLINE:
            self._power_online.set()

    async def run(self) -> None:
        await self.bus.wait_connected()
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            tg.create_task(self.link.run(), name="csms-link")  # it boots meanwhile; the rest waits (`Link.ready`)
            # online means subscribed: a command sent (recovering a session) before power subscribed would be lost
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POWER_WAIT_S):
                    await self._power_online.wait()
            tg.create_task(self.transactions.run(), name="transactions")
            await self.transactions.recovered.wait()
            self.link.ready.set()
            tg.create_task(self.status.run(), name="status")
            tg.create_task(self.notifier.run(), name="firmware-notifications")
            if self.v201:
                tg.create_task(self.edition.security.run(), name="security-events")

    def stopping(self) -> None:
        # an orderly stop: a session found open at the next start was ended by this stop, not by a power cut.
        # Recorded first: closing the CSMS link may wait for a CSMS that does not answer its close.
        try:
            if self.store.state(RESTART_REASON) is None and self.store.unfinished():
                self.store.set_state(RESTART_REASON, "Reboot")
        except SQLAlchemyError as exc:
            log.error("restart reason not recorded: %s", exc)

    async def shutdown(self) -> None:
        self.engine.dispose()


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:  # the answer went out already; the failure is logged with its trace
        log.exception("background work failed: %s", name)

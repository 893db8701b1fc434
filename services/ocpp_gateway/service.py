"""Wiring of the gateway: configuration store, availability, transactions, status, the CSMS link."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from ocpp.v16 import call

from services.common.bus import BusError
from services.common.contract import ocpp_gateway
from services.common.contract.auth import IdTagInfo
from services.common.contract.base import ErrorCode
from services.common.contract.ocpp_gateway import CsmsAuthorizeRequest, IdTagInfoSeen
from services.common.db import open_engine
from services.common.lifecycle import Service

from .availability import Availability
from .config_store import ConfigStore
from .core_calls import CONNECTORS, CoreChargePoint
from .link import Link
from .ports import CsmsCallError, CsmsUnavailable
from .status import StatusReporter
from .transactions import TransactionEngine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class OcppGatewayService(Service):
    name = "ocpp_gateway"

    async def setup(self) -> None:
        # the library logs every frame at INFO: the OCPP trace is there with CHARGEBUS_LOG_LEVEL=DEBUG
        logging.getLogger("ocpp").setLevel(logging.INFO if self.settings.log_level == "DEBUG" else logging.WARNING)
        self.engine = open_engine(self.settings.db_path(self.name), MIGRATIONS)
        self.config = ConfigStore(self.engine, self.bus)
        self.availability = Availability(self.engine, self.bus, CONNECTORS)
        self.link = Link(self.settings, self.bus, self.config, self._protocol)
        self.transactions = TransactionEngine(self.settings, self.bus, self.engine, self.config, self.link)
        self.availability.transactions = self.transactions
        self.transactions.add_end_listener(self.availability.transaction_ended)
        self.status = StatusReporter(self.bus, self.link, self.availability)
        self.status.hold = self.transactions.start_unconfirmed
        self.status.minimum_s = lambda: self.config.get_int("MinimumStatusDuration")
        self.availability.on_change = self._availability_changed
        self.link.outbox_pending = self.transactions.outbox_pending
        self.link.when_accepted(self.status.on_accepted)
        self.link.when_accepted(self.transactions.on_accepted)
        self.bus.handle(ocpp_gateway.CSMS_AUTHORIZE, self.on_authorize)

    def _protocol(self, connection: Any) -> CoreChargePoint:
        return CoreChargePoint(self.settings.charge_point_id, connection, bus=self.bus, config=self.config,
                               transactions=self.transactions, availability=self.availability,
                               registration=lambda: self.link.registration)

    async def _availability_changed(self, _connector: int) -> None:
        self.status.station_changed()

    async def on_authorize(self, request: CsmsAuthorizeRequest, _p: dict[str, str]) -> IdTagInfo:
        try:
            conf = await self.link.call(call.Authorize(id_tag=request.id_tag), timeout=30)
        except CsmsUnavailable as exc:
            raise BusError(ErrorCode.UNAVAILABLE, f"CSMS unavailable: {exc}") from exc
        except CsmsCallError as exc:
            raise BusError(ErrorCode.UNAVAILABLE, f"CSMS answered {exc.code}") from exc
        raw = conf.id_tag_info
        info = IdTagInfo(status=raw["status"], parent_id_tag=raw.get("parent_id_tag"),
                         expiry_date=raw.get("expiry_date"))
        self.bus.publish(ocpp_gateway.ID_TAG_INFO, IdTagInfoSeen(id_tag=request.id_tag, info=info))
        return info

    async def run(self) -> None:
        await self.bus.wait_connected()
        self.config.publish_all()
        await self.availability.apply()
        await self.transactions.recover()
        await asyncio.gather(self.link.run(), self.status.run())

    async def shutdown(self) -> None:
        self.engine.dispose()

"""Answers to the Central System's Core calls.

Handlers answer at once; work that needs another OCPP call (e.g. Reset stopping transactions) runs
as a task after the answer, never inside the handler: the library reads the socket in the same
task, so a handler awaiting its own call would wait for a response it can never read.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.datatypes import KeyValue
from ocpp.v16.enums import (
    Action,
    AvailabilityStatus,
    AvailabilityType,
    ClearCacheStatus,
    DataTransferStatus,
    RemoteStartStopStatus,
    ResetStatus,
    UnlockStatus,
)

from services.common.bus import BusError
from services.common.contract import auth
from services.common.contract.base import Empty
from services.common.contract.hardware import CONNECTORS

from ..keys import SECRET_KEYS, VENDOR_ID
from ..protocol import after_answer
from .base import Actions
from .smart_charging import remote_start_profile

log = logging.getLogger(__name__)


class CoreActions(Actions):
    @on(Action.get_configuration)
    async def on_get_configuration(self, key: list[str] | None = None) -> call_result.GetConfiguration:
        config = self.station.config
        limit = config.get_int("GetConfigurationMaxKeys")
        if key is not None and len(key) > limit:
            # the CSMS's mistake, and one that costs us nothing: every key it named is answered, as a request
            # without keys gets them all anyway (a CALLERROR made CSMSs record the whole read as failed)
            log.info("GetConfiguration names %d keys, more than GetConfigurationMaxKeys %d: all answered",
                     len(key), limit)
        known, unknown = config.items(key)
        return call_result.GetConfiguration(
            configuration_key=[KeyValue(key=k, readonly=ro, value=None if k in SECRET_KEYS else v)
                               for k, v, ro in known],
            unknown_key=unknown or None)

    @on(Action.change_configuration)
    async def on_change_configuration(self, key: str, value: str) -> call_result.ChangeConfiguration:
        status = await self.station.config.change(key, value, announce_later=True)
        # published and logged once the answer is out (the library's after-hook would cost a second look at
        # the handler's signature on every change)
        after_answer(self.station.config.announce)
        return call_result.ChangeConfiguration(status=status.value)

    @on(Action.change_availability)
    async def on_change_availability(self, connector_id: int, type: str) -> call_result.ChangeAvailability:
        if connector_id not in (0, *CONNECTORS):
            return call_result.ChangeAvailability(status=AvailabilityStatus.rejected)
        status = await self.station.availability.change(connector_id, type == AvailabilityType.operative)
        return call_result.ChangeAvailability(status=status)

    @on(Action.clear_cache)
    async def on_clear_cache(self) -> call_result.ClearCache:
        try:
            cleared = await self.station.bus.request(auth.CLEAR_CACHE, Empty(), timeout=5)
        except BusError as exc:
            log.warning("clear cache failed: %s", exc)
            return call_result.ClearCache(status=ClearCacheStatus.rejected)
        return call_result.ClearCache(
            status=ClearCacheStatus.accepted if cleared.accepted else ClearCacheStatus.rejected)

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, message_id: str | None = None,
                               data: str | None = None) -> call_result.DataTransfer:
        if vendor_id.casefold() != VENDOR_ID.casefold():  # a CiString255
            return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
        return call_result.DataTransfer(status=DataTransferStatus.unknown_message_id)

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, id_tag: str, connector_id: int | None = None,
                              charging_profile: dict[str, Any] | None = None) -> call_result.RemoteStartTransaction:
        profile = None
        if charging_profile is not None:  # a TxProfile for the session, or no start at all (OCTT TC_059, TC_060)
            profile = await remote_start_profile(self.station, connector_id, charging_profile)
        accepted = (self.accepted() and connector_id in (None, *CONNECTORS)
                    and (charging_profile is None or profile is not None)
                    and await self.station.transactions.remote_start(id_tag, connector_id, profile))
        return call_result.RemoteStartTransaction(
            status=RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected)

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        accepted = self.accepted() and await self.station.transactions.remote_stop(transaction_id)
        return call_result.RemoteStopTransaction(
            status=RemoteStartStopStatus.accepted if accepted else RemoteStartStopStatus.rejected)

    @on(Action.reset)
    async def on_reset(self, type: str) -> call_result.Reset:
        after_answer(lambda: self.station.spawn(self.station.reset(type), "reset"))  # the Reset.conf leaves first
        return call_result.Reset(status=ResetStatus.accepted)

    @on(Action.unlock_connector)
    async def on_unlock_connector(self, connector_id: int) -> call_result.UnlockConnector:
        # fixed cable (PICS HFS-2): there is nothing to unlock
        return call_result.UnlockConnector(status=UnlockStatus.not_supported)

"""firmware: firmware update and diagnostics upload jobs, kept in SQLite and resumed after any restart.

Wiring: the jobs (`updater.py`, `uploader.py`), what they show (`report.py`), the sessions they wait for.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.common.bus import BusError
from services.common.contract import firmware, ocpp_gateway
from services.common.contract.base import Empty, ErrorCode
from services.common.contract.firmware import DiagnosticsReply, DiagnosticsRequest, JobsStatus, UpdateRequest
from services.common.contract.hardware import CONNECTORS
from services.common.contract.ocpp_gateway import TransactionState
from services.common.contract.supervisor import SLOTS
from services.common.db import open_engine
from services.common.lifecycle import Service

from .report import Report
from .store import JobStore
from .updater import Refused, Updater
from .uploader import Uploader


class FirmwareService(Service):
    name = "firmware"

    async def setup(self) -> None:
        self.engine = open_engine(self.settings.db_path(self.name), Path(__file__).parent / "migrations")
        store = JobStore(self.engine)
        self.report = Report(self.bus, store)
        self.transactions: dict[int, bool] = {}  # connector → a session is open; unknown until the gateway says
        self.updater = Updater(self.bus, store, self.report, self.settings, self.busy)
        self.uploader = Uploader(self.bus, store, self.report, self.settings)
        self.bus.handle(firmware.STATUS, self.on_status)
        self.bus.handle(firmware.UPDATE, self.on_update)
        self.bus.handle(firmware.GET_DIAGNOSTICS, self.on_diagnostics)
        self.bus.follow(ocpp_gateway.TRANSACTION, self.on_transaction)
        self.bus.follow(SLOTS, self.updater.on_slots)
        self.bus.when_connected(self.report.publish)

    def busy(self) -> bool:
        """A session is open, or the gateway has not told us yet (an update never starts on a guess)."""
        return not set(CONNECTORS) <= set(self.transactions) or any(self.transactions.values())

    async def on_transaction(self, state: TransactionState | None, _p: dict[str, str]) -> None:
        if state is not None:
            busy = self.busy()
            self.transactions[state.connector_id] = state.open
            if busy and not self.busy():  # the last session ended: a waiting update may go on
                self.updater.wake.set()

    async def on_status(self, _request: Empty, _p: dict[str, str]) -> JobsStatus:
        return self.report.now()

    async def on_update(self, request: UpdateRequest, _p: dict[str, str]) -> JobsStatus:
        try:
            self.updater.request(request)
        except Refused as exc:
            raise BusError(ErrorCode.REJECTED, str(exc)) from None
        return self.report.now()

    async def on_diagnostics(self, request: DiagnosticsRequest, _p: dict[str, str]) -> DiagnosticsReply:
        return DiagnosticsReply(file_name=self.uploader.request(request))

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.updater.run(), name="firmware-update")
            tg.create_task(self.uploader.run(), name="diagnostics")

    async def shutdown(self) -> None:
        self.engine.dispose()

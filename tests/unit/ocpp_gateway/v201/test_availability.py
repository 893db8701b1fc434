"""OCPP 2.0.1 G03-G05 and C11 over the link: ChangeAvailability of the station, an EVSE or its connector reaches
power as the retained intent and the CSMS as the EVSE's status; Scheduled while a session runs; ClearCache goes
to auth (here a stand-in on the real broker). OCTT TC_G_03 and on, TC_C_37."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime
from typing import Any

from ocpp.v201 import call

from services.common.bus import Bus
from services.common.contract import auth, ocpp_gateway, power
from services.common.contract.auth import CacheCleared
from services.common.contract.base import Empty
from services.common.contract.ocpp_gateway import AvailabilityIntent
from services.common.contract.power import ConnectorState

from .conftest import Running


async def test_tc_g_03_to_05_change_availability(running: Running) -> None:
    csms, link = running.csms, running.link
    intents: list[AvailabilityIntent | None] = []

    async def followed(intent: AvailabilityIntent | None, _p: dict[str, str]) -> None:
        intents.append(intent)

    hardware = Bus(running.settings, "power", client_id=f"stand-in-power-{os.getpid()}", persistent=False,
                   health=False)
    hardware.follow(ocpp_gateway.AVAILABILITY, followed, connector_id=1)
    await hardware.start(5)
    reporting = asyncio.create_task(running.status.run())
    try:
        hardware.publish(power.CONNECTOR, ConnectorState(connector_id=1, plugged=False, energized=False, limit_a=200,
                                                         setpoint_a=0, since=datetime.now(UTC)), connector_id=1)
        await link.wait_accepted()
        await csms.until(lambda: [s["connector_status"] for s in csms.statuses] == ["Available"])
        station = csms.stations[0]

        async def change(status: str, evse: dict[str, Any] | None = None) -> str:
            return str((await station.call(call.ChangeAvailability(operational_status=status, evse=evse))).status)

        assert await change("Inoperative", {"id": 1}) == "Accepted"
        await csms.until(lambda: [s["connector_status"] for s in csms.statuses][-1:] == ["Unavailable"])
        assert intents[-1] is not None and intents[-1].operative is False  # what power follows
        assert await change("Operative", {"id": 1, "connector_id": 1}) == "Accepted"
        await csms.until(lambda: [s["connector_status"] for s in csms.statuses][-1:] == ["Available"])
        assert await change("Inoperative", {"id": 2}) == "Rejected"  # no second EVSE
        assert await change("Inoperative", {"id": 1, "connector_id": 2}) == "Rejected"
        running.busy.add(1)  # a session runs: the change waits for its end
        assert await change("Inoperative") == "Scheduled"
        assert running.availability.scheduled == {0: False} and running.availability.effective(1)
        running.busy.clear()
        await running.availability.transaction_ended(1)
        assert not running.availability.effective(1)
        await csms.until(lambda: [s["connector_status"] for s in csms.statuses][-1:] == ["Unavailable"])
        assert all(s["evse_id"] == 1 for s in csms.statuses)  # the station as a whole has no StatusNotification
    finally:
        reporting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporting
        await hardware.stop()


async def test_tc_c_37_clear_cache_goes_to_auth(running: Running) -> None:
    cleared: list[Empty] = []

    async def clear(request: Empty, _p: dict[str, str]) -> CacheCleared:
        cleared.append(request)
        return CacheCleared(accepted=True)

    stand_in = Bus(running.settings, "auth", client_id=f"stand-in-auth-{os.getpid()}", persistent=False,
                   health=False)
    stand_in.handle(auth.CLEAR_CACHE, clear)
    await stand_in.start(5)
    try:
        await running.link.wait_accepted()
        assert (await running.csms.stations[0].call(call.ClearCache())).status == "Accepted"
        assert len(cleared) == 1
    finally:
        await stand_in.stop()

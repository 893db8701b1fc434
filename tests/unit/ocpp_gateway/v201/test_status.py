"""StatusNotification in 2.0.1 on the link (G01): the gateway's status reporter with the 2.0.1 notifier, power's
facts from the bus, the library's Central System checking every message against the 2.0.1 schemas."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.common.bus import Bus
from services.common.contract import power
from services.common.contract.power import ConnectorState
from services.common.settings import Settings

from .conftest import running_link


def state(**facts: Any) -> ConnectorState:
    return ConnectorState(connector_id=1, plugged=False, energized=False, limit_a=200.0, setpoint_a=0.0,
                          since=datetime.now(UTC)).model_copy(update=facts)


async def test_g01_five_statuses_a_session_is_one_occupied_and_the_station_has_none(settings: Settings,
                                                                                       tmp_path: Path) -> None:
    async with running_link(settings, tmp_path, pending_first=False) as running:
        reporter = running.status
        hardware = Bus(running.settings, "power", client_id=f"stand-in-power-{os.getpid()}", persistent=False,
                       health=False)
        await hardware.start(5)
        reporting = asyncio.create_task(reporter.run())
        csms = running.csms
        told = lambda: [(s["evse_id"], s["connector_id"], s["connector_status"]) for s in csms.statuses]  # noqa: E731
        try:
            await running.link.wait_accepted()
            for facts, expected in (({}, ["Available"]), ({"plugged": True}, ["Available", "Occupied"]),
                                    ({"plugged": True, "energized": True, "delivering": True}, None),
                                    ({"plugged": True, "awaiting_unplug": True}, None),
                                    ({}, ["Available", "Occupied", "Available"])):
                hardware.publish(power.CONNECTOR, state(**facts), connector_id=1)
                if expected is not None:  # Charging and Finishing are Occupied still: nothing new is told
                    await csms.until(lambda expected=expected: [s for *_w, s in told()] == expected)
            assert told() == [(1, 1, "Available"), (1, 1, "Occupied"), (1, 1, "Available")]  # EVSE 1, its connector
            async with asyncio.timeout(5):  # the station has the CSMS's answer too: it counts the status as told
                while not reporter.settled(1):
                    await asyncio.sleep(0.01)
        finally:
            reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporting
            await hardware.stop()

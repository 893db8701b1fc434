"""OCPP 2.0.1 F06 over the link: what may be asked for is sent after the answer; the rest is NotImplemented, not
Accepted and never sent (OCTT TC_F_11 and on)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

from ocpp.v201 import call

from services.common.bus import Bus
from services.common.contract import power
from services.common.contract.power import ConnectorState

from .conftest import Running


async def test_tc_f_06_a_triggered_message_follows_its_answer(running: Running) -> None:
    csms, link = running.csms, running.link
    hardware = Bus(running.settings, "power", client_id=f"stand-in-power-{os.getpid()}", persistent=False,
                   health=False)
    await hardware.start(5)
    try:
        hardware.publish(power.CONNECTOR, ConnectorState(connector_id=1, plugged=True, energized=False, limit_a=200,
                                                         setpoint_a=0, since=datetime.now(UTC)), connector_id=1)
        await link.wait_accepted()
        station = csms.stations[0]
        async with asyncio.timeout(5):  # the reporter knows the connector's state (it is not running: no sends)
            while 1 not in running.status.current:
                await asyncio.sleep(0.01)
        boots, beats = len(csms.boots), csms.heartbeats
        answers = [await station.call(call.TriggerMessage(requested_message=m, evse=e)) for m, e in (
            ("Heartbeat", None), ("BootNotification", None), ("StatusNotification", {"id": 1}),
            ("StatusNotification", {"id": 2}), ("TransactionEvent", {"id": 1}),
            ("SignChargingStationCertificate", None))]
        # no transaction runs: there is no TransactionEvent to send
        assert [a.status for a in answers] == ["Accepted", "Accepted", "Accepted", "Rejected", "Rejected",
                                               "NotImplemented"]
        await csms.until(lambda: csms.heartbeats > beats and len(csms.boots) > boots and csms.statuses)
        assert csms.boots[-1]["reason"] == "Triggered"
        assert [(s["evse_id"], s["connector_status"]) for s in csms.statuses] == [(1, "Occupied")]
    finally:
        await hardware.stop()

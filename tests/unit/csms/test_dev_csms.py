"""The dev CSMS against a real station-side OCPP 1.6 client over real WebSockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
import websockets
from ocpp.v16 import call
from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from services.cli.main import main as chargebus
from services.csms import control
from tests.broker import free_port
from tests.unit.csms.conftest import Bench

ID = "04A2B3C4"


async def test_every_card_is_accepted_and_every_transaction_gets_its_own_id(bench: Bench) -> None:
    async with bench.station() as station:
        boot = await station.call(call.BootNotification(charge_point_model="m", charge_point_vendor="v"))
        assert boot.status == RegistrationStatus.accepted
        authorized = await station.call(call.Authorize(id_tag=ID))
        assert authorized.id_tag_info["status"] == AuthorizationStatus.accepted
        starts = [await station.call(call.StartTransaction(connector_id=1, id_tag=tag, meter_start=0,
                                                           timestamp="2026-12-05T00:00:00Z"))
                  for tag in (ID, "UNKNOWN-CARD")]
        assert [s.id_tag_info["status"] for s in starts] == [AuthorizationStatus.accepted] * 2
        assert starts[0].transaction_id != starts[1].transaction_id


async def test_the_meter_interval_is_set_once_the_boot_is_answered(bench: Bench) -> None:
    async with bench.station() as station:
        await station.call(call.BootNotification(charge_point_model="m", charge_point_vendor="v"))
        assert await station.called("ChangeConfiguration") == {"key": "MeterValueSampleInterval", "value": "5"}
        kinds = [f[0] for f in station.frames]
        assert kinds.index(3) < kinds.index(2), "the BootNotification answer comes first: " + str(station.frames)


async def test_a_command_reaches_the_station_and_its_answer_comes_back(bench: Bench) -> None:
    async with bench.station() as station:
        cp, answer = await bench.send("RemoteStartTransaction", {"idTag": ID, "connectorId": 1})
        assert (cp, answer) == ("CP1", {"status": "Accepted"})
        assert station.calls("RemoteStartTransaction") == [{"idTag": ID, "connectorId": 1}]


async def test_a_call_the_station_refuses_comes_back_as_its_error(bench: Bench) -> None:
    async with bench.station():
        with pytest.raises(control.ControlError) as refused:
            await bench.send("Reset", {"type": "Soft"})  # this station has no Reset: NotImplemented
    assert refused.value.code == "call_error" and "NotImplemented" in str(refused.value)


async def test_an_invalid_payload_is_refused_before_it_is_sent(bench: Bench) -> None:
    async with bench.station() as station:
        with pytest.raises(control.ControlError) as refused:
            await bench.send("Reset", {"type": "Sideways"})
        assert refused.value.code == "invalid_payload"
        assert "'Sideways' is not one of ['Hard', 'Soft']" in str(refused.value)  # what is wrong, not just that
        _, answer = await bench.send("RemoteStartTransaction", {"idTag": ID})  # the next one still goes out
        assert answer == {"status": "Accepted"}
        assert station.calls("Reset") == []


@pytest.mark.parametrize(("stations", "cp", "says"), [
    ((), None, "0 charge points connected (none)"),
    (("CP1", "CP2"), None, "2 charge points connected (CP1, CP2): name one"),
    (("CP1",), "CP9", "charge point 'CP9' is not connected"),
])
async def test_which_station_a_command_goes_to(bench: Bench, stations: tuple[str, ...], cp: str | None,
                                               says: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for name in stations:
            station = await stack.enter_async_context(bench.station(name))
            await station.call(call.Heartbeat())  # connected and registered by the dev CSMS
        with pytest.raises(control.ControlError) as refused:
            await bench.send("ClearCache", {}, cp)
    assert refused.value.code == "no_station" and says in str(refused.value)


async def test_a_web_page_cannot_reach_it(bench: Bench) -> None:
    """A browser sends its page's Origin: a page on the bench's browser must not drive the station."""
    for path in (control.CONTROL_PATH, "/ocpp/CP1"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with connect(f"ws://127.0.0.1:{bench.port}{path}", origin=websockets.Origin("http://a.example")):
                pass
        assert refused.value.response.status_code == 403


async def test_a_charge_point_without_ocpp16_is_closed_with_a_reason(bench: Bench) -> None:
    async with connect(f"ws://127.0.0.1:{bench.port}/ocpp/CP1") as link:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await link.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


def test_send_without_a_dev_csms_says_so() -> None:
    with pytest.raises(control.ControlError) as refused:
        control.send(free_port(), "ClearCache", {})
    assert refused.value.code == "no_csms"


@pytest.mark.parametrize("payload", ["{not json", "[1]"])
def test_cli_refuses_a_payload_that_is_no_json_object(payload: str) -> None:
    assert chargebus(["csms", "send", "Reset", payload]) == 2


def test_cli_refuses_an_unknown_command() -> None:
    with pytest.raises(SystemExit) as exited:
        chargebus(["csms", "send", "Sideways"])
    assert exited.value.code == 2


async def test_a_station_that_goes_away_is_one_line_not_an_error(bench: Bench,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with bench.station() as station:
        await station.call(call.BootNotification(charge_point_model="m", charge_point_vendor="v"))
        await station.called("ChangeConfiguration")
    async with asyncio.timeout(10):
        while not any("cp=CP1 disconnected" in r.getMessage() for r in caplog.records):
            await asyncio.sleep(0.02)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_reconnecting_station_replaces_its_old_link(bench: Bench) -> None:
    """A station that reconnects before the old link is noticed dead gets the commands on its new link."""
    async with bench.station() as old:
        await old.call(call.Heartbeat())
        async with bench.station() as new:
            await new.call(call.Heartbeat())
            cp, _ = await bench.send("RemoteStartTransaction", {"idTag": ID})
            assert cp == "CP1" and new.calls("RemoteStartTransaction") == [{"idTag": ID}]
        assert old.calls("RemoteStartTransaction") == []


async def test_send_to_something_else_than_the_dev_csms_says_so() -> None:
    """A CSMS of one's own on the port answers the control socket with anything but our reply."""
    async def foreign(connection: ServerConnection) -> None:
        await connection.recv()
        await connection.send('[2, "1", "Heartbeat", {}]')

    port = free_port()
    async with serve(foreign, "127.0.0.1", port):
        with pytest.raises(control.ControlError) as refused:
            await asyncio.to_thread(control.send, port, "ClearCache", {})
    assert refused.value.code == "no_csms" and "not the dev CSMS" in str(refused.value)

"""No energy without a persisted session, on the whole station: a stray energize, a gateway killed between
energize and its store write, a store write that fails after energize."""

from __future__ import annotations

import os

import pytest

from services.common.bus import Bus, BusError
from services.common.bus_accounts import credentials
from services.common.contract import ErrorCode, power
from services.common.contract.power import ConnectorState, EnergizeRequest
from tests.system.stack import kill9
from tests.system.station import Station

CONNECTOR = "chargebus/power/state/connector/1"


def _energized_ever(station: Station) -> bool:
    return any(isinstance(p, ConnectorState) and p.energized for _t, topic, p in station.observer.history
               if topic == CONNECTOR)


def _arm(station: Station, point: str, action: str) -> None:
    folder = station.settings.data_dir / "failpoints"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / point).write_text(action)


async def test_a_stray_energize_on_the_running_station_is_refused(station: Station) -> None:
    await station.plug()
    await station.status("Preparing")
    # sent with an account the broker lets publish there (the gateway's), from a client that is not the
    # gateway: the broker delivers it, so only power's own check can refuse it
    assert credentials(station.settings, "ocpp_gateway") is not None
    stray = Bus(station.settings, "ocpp_gateway", client_id=f"test-stray-{os.getpid()}", persistent=False,
                health=False)
    await stray.start(5)
    try:
        with pytest.raises(BusError) as refused:
            await stray.request(power.ENERGIZE, EnergizeRequest(session_id="anything"))
    finally:
        await stray.stop()
    assert refused.value.code is ErrorCode.REJECTED and "no open session anything" in refused.value.message
    # a start the gateway really made, after the stray one: it is the first energized state ever seen
    await station.swipe("TAG1")
    await station.status("Charging")
    history = station.observer.history
    energized = next(i for i, (_t, topic, p) in enumerate(history)
                     if topic == CONNECTOR and isinstance(p, ConnectorState) and p.energized)
    session = next(i for i, (_t, topic, p) in enumerate(history)
                   if topic.endswith("/state/transaction/1") and getattr(p, "phase", None) == "starting")
    assert session < energized  # the output first went on for the session the gateway persisted, not before
    assert station.csms.calls("StartTransaction")[0]["id_tag"] == "TAG1"


async def test_a_gateway_killed_between_energize_and_its_store_write_leaves_no_unrecorded_charge(
        station: Station) -> None:
    _arm(station, "ocpp_gateway.after_energize", "hang")
    gateway = station.pid("ocpp_gateway")
    await station.plug()
    await station.status("Preparing")
    await station.swipe("TAG1")
    await station.observer.wait(lambda: _energized_ever(station), what="energized, the store write pending")
    kill9(gateway)
    await station.observer.wait_online(("ocpp_gateway",), not_pids={"ocpp_gateway": gateway})
    # the session was persisted before energize: the restarted gateway finds it still delivering and keeps it
    start = (await station.csms.wait("StartTransaction", timeout=30))[0]
    assert start["id_tag"] == "TAG1"
    await station.swipe("TAG1")
    stop = (await station.csms.wait("StopTransaction"))[0]
    assert stop["reason"] == "Local" and stop["meter_stop"] >= start["meter_start"]
    assert len(station.csms.calls("StartTransaction")) == 1


async def test_a_store_write_that_fails_after_energize_cuts_the_output(station: Station) -> None:
    _arm(station, "ocpp_gateway.after_energize", "disk_full")
    await station.plug()
    await station.status("Preparing")
    await station.swipe("TAG1")
    await station.observer.wait(lambda: _energized_ever(station), what="energized")
    state = await station.observer.wait(
        lambda: (s := station.observer.get(CONNECTOR)) and not s.energized and s.awaiting_unplug and s,
        timeout=5, what="de-energized at once")
    assert state.setpoint_a == 0.0
    transaction = await station.observer.wait(
        lambda: (t := station.observer.get("chargebus/ocpp_gateway/state/transaction/1")) and not t.open and t,
        what="no session left")
    assert transaction.phase == "none"
    assert station.csms.calls("StartTransaction") == []  # the CSMS never hears of a charge nobody recorded
    log = station.stack.log.read_text()
    assert "cannot be recorded after energize" in log and "database or disk is full" in log

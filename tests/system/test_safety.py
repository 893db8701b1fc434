"""No energy without a persisted session, on the whole station: a stray energize, a gateway killed between
energize and its store write, a store write that fails after energize."""

from __future__ import annotations

import json
import subprocess

from services.common.contract import power
from services.common.contract.power import ConnectorState
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
    for payload in ({"connector_id": 1}, {"connector_id": 1, "session_id": "anything"}):
        subprocess.run(["mosquitto_pub", "-p", str(station.settings.mqtt_port), "-q", "1", "-t", power.ENERGIZE.path,
                        "-m", json.dumps(payload)], check=True, timeout=10)
    # a start the gateway really made, after the stray ones: it is the first energized state ever seen
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
        lambda: (s := station.observer.get(CONNECTOR)) and not s.energized and s.status == "Finishing" and s,
        timeout=5, what="de-energized at once")
    assert state.setpoint_a == 0.0
    transaction = await station.observer.wait(
        lambda: (t := station.observer.get("chargebus/ocpp_gateway/state/transaction/1")) and not t.active and t,
        what="no session left")
    assert transaction.phase == "none"
    assert station.csms.calls("StartTransaction") == []  # the CSMS never hears of a charge nobody recorded
    log = station.stack.log.read_text()
    assert "cannot be recorded after energize" in log and "database or disk is full" in log

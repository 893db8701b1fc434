"""The station scenarios every protocol must pass, run under OCPP 1.6 and 2.0.1 with the same station: only
`CHARGEBUS_OCPP_VERSION` differs, and the CSMS (`tests.system.both.Told`) speaks the station's version.
Every other service runs unchanged: what they do cannot depend on the protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.csms import CentralSystem
from tests.system.both import VERSIONS, Told
from tests.system.stack import ALL, kill9
from tests.system.station import Station, running_station

TRANSACTION = "chargebus/ocpp_gateway/state/transaction/1"
CONNECTION = "chargebus/ocpp_gateway/state/connection"


@dataclass
class Both:
    station: Station
    told: Told

    async def transaction_id(self, other_than: str | None = None) -> str:
        """The id the CSMS knows the connector's transaction by, once it has one."""
        def known() -> str | None:
            state = self.station.observer.get(TRANSACTION)
            found = state.transaction_id if state is not None and state.open else None
            return found if found is not None and found != other_than else None
        result: str = await self.station.observer.wait(known, what="the transaction's id")
        return result

    async def link(self, up: bool) -> None:
        def linked() -> bool:
            state = self.station.observer.get(CONNECTION)
            return state is not None and state.connected == up and (not up or state.registration == "Accepted")
        await self.station.observer.wait(linked, what=f"the CSMS link {'up' if up else 'down'}")

    async def charging(self, tag: str = "TAG1") -> str:
        await self.station.plug()
        await self.station.swipe(tag)
        await self.told.started(self.told.starts() + 1)
        return await self.transaction_id()


@pytest.fixture(params=VERSIONS)
async def both(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Both]:
    csms = CentralSystem(version=request.param)
    async with running_station(tmp_path, csms=csms, CHARGEBUS_OCPP_VERSION=request.param) as station:
        told = Told(csms)
        await told.available()
        await told.sample_every(1)
        yield Both(station, told)


async def test_a_card_session_then_a_remote_one(both: Both) -> None:
    station, told = both.station, both.told
    first = await both.charging()
    await told.updated(2)
    await station.swipe("TAG1")  # the same card: the driver ends it
    end = await told.ended()
    assert (end.reason, end.transaction_id) == ("Local", first)
    await station.unplug()
    await told.available(2)
    await station.plug()
    assert await told.remote_start("APP1") == "Accepted"
    await told.started(2)
    second = await both.transaction_id(other_than=first)
    assert await told.remote_stop(second) == "Accepted"
    end = await told.ended(2)
    assert (end.reason, end.transaction_id) == ("Remote", second)
    register = told.register()
    assert register == sorted(register) and len(register) >= 4, register


async def test_offline_and_back_nothing_lost(both: Both) -> None:
    station, told = both.station, both.told
    transaction = await both.charging()
    await told.updated(1)
    told.csms.refuse = True
    await told.csms.drop()
    await both.link(up=False)
    offline_from = datetime.now(UTC).isoformat()
    # meter values taken meanwhile wait in the outbox
    await station.observer.wait(lambda: station.observer.get(CONNECTION).outbox_pending >= 2, what="queued values")
    await station.swipe("TAG1")  # ended while offline: the card of the running session stops it without asking
    await station.observer.wait(lambda: not station.observer.get(TRANSACTION).open, what="the session ended")
    offline_to = datetime.now(UTC).isoformat()
    assert told.ends() == []
    told.csms.refuse = False
    end = await told.ended(timeout=45)  # the link's back-off between attempts grows to 30 s while refused
    assert (end.reason, end.transaction_id) == ("Local", transaction)
    sequence = told.sequence()
    assert told.starts() == 1 and sequence[0].startswith(("Start", "Started")) and sequence[-1].startswith(
        ("Stop", "Ended")), sequence
    if told.v201:  # numbered by the station: none missing, none twice
        assert [int(s.split(":")[1]) for s in sequence] == list(range(len(sequence)))
    register = told.register()
    assert register == sorted(register)
    taken_offline = [u for u in told.updates() if offline_from <= stamp(u) <= offline_to]
    assert len(taken_offline) >= 2, "the meter values taken offline did not all reach the CSMS"


def stamp(update: dict[str, object]) -> str:
    """When a meter update was taken (1.6 MeterValues: its reading; 2.0.1 Updated: the event)."""
    if "timestamp" in update:
        return str(update["timestamp"])
    values = update["meter_value"]
    assert isinstance(values, list)
    return str(values[0]["timestamp"])


async def test_kill_9_of_each_service_mid_charge_the_charge_goes_on(both: Both) -> None:
    station, told = both.station, both.told
    transaction = await both.charging()
    await told.updated(2)
    for service in ("power", "auth", "metering", "smart_charging", "ocpp_gateway"):
        pids = station.observer.online(ALL)
        kill9(pids[service])
        await station.observer.wait_online((service,), not_pids={service: pids[service]})
        await told.updated(len(told.updates()) + 2)  # meter values resume
        state = station.observer.get("chargebus/power/state/connector/1")
        assert state.energized and state.delivering, service
    await station.swipe("TAG1")
    end = await told.ended()
    assert (end.reason, end.transaction_id) == ("Local", transaction)
    assert told.starts() == 1 and len(told.ends()) == 1
    register = told.register()
    assert register == sorted(register), "the energy register went backwards"

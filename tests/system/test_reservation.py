"""Reservation (connector reservations only: PICS R-1 No) against the whole station and a real CSMS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ocpp.v16 import call

from services.common.contract import sim
from services.common.contract.hardware import HardwareFault
from services.common.contract.sim import FaultRequest
from tests.system.stack import kill9
from tests.system.station import Station, charging

RESERVATION = "chargebus/ocpp_gateway/state/reservation/1"


def expiry(seconds: float = 600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def reserve(station: Station, tag: str = "RES1", reservation_id: int = 7, connector: int = 1,
                  seconds: float = 600, parent: str | None = None) -> str:
    result = await station.csms.call(call.ReserveNow(connector_id=connector, expiry_date=expiry(seconds), id_tag=tag,
                                                     reservation_id=reservation_id, parent_id_tag=parent))
    return str(result.status)


async def test_tc_046_1_only_the_reserving_card_starts_and_carries_the_reservation(station: Station) -> None:
    await station.status("Available")
    assert await reserve(station) == "Accepted"
    await station.status("Reserved")
    await station.swipe("STRANGER")
    # the stranger's card is refused without an Authorize.req; the decision shows that nothing happened
    await station.swipe("RES1")
    await station.csms.wait("Authorize")
    assert [a["id_tag"] for a in station.csms.calls("Authorize")] == ["RES1"]
    await station.status("Preparing")
    await station.plug()
    start = (await station.csms.wait("StartTransaction"))[0]
    assert (start["id_tag"], start["reservation_id"]) == ("RES1", 7)
    await station.status("Charging")
    # used: the gateway publishes the reservation's end on the bus, not in step with what the CSMS is sent
    await station.observer.wait(lambda: station.observer.get(RESERVATION).reservation is None, what="used")


async def test_tc_046_2_remote_start_of_the_reserving_card(station: Station) -> None:
    await station.status("Available")
    assert await reserve(station, "RES2", 8) == "Accepted"
    await station.status("Reserved")
    refused = await station.csms.call(call.RemoteStartTransaction(id_tag="OTHER", connector_id=1))
    assert refused.status == "Rejected"
    await station.plug()
    await station.status("Preparing")
    assert (await station.csms.call(call.RemoteStartTransaction(id_tag="RES2", connector_id=1))).status == "Accepted"
    start = (await station.csms.wait("StartTransaction"))[0]
    assert (start["id_tag"], start["reservation_id"]) == ("RES2", 8)


async def test_a_card_sharing_the_reservations_parent_may_use_it(station: Station) -> None:
    station.csms.parents["COLLEAGUE"] = "FLEET7"
    await station.status("Available")
    assert await reserve(station, "RES3", 9, parent="FLEET7") == "Accepted"
    await station.plug()
    await station.swipe("COLLEAGUE")
    start = (await station.csms.wait("StartTransaction"))[0]
    assert (start["id_tag"], start["reservation_id"]) == ("COLLEAGUE", 9)


async def test_tc_047_an_unused_reservation_expires(station: Station) -> None:
    await station.status("Available")
    assert await reserve(station, seconds=2) == "Accepted"
    await station.status("Reserved")
    await station.status("Available", count=2, timeout=15)
    # the CSMS and the bus are two connections: the cleared reservation may reach the observer a moment later
    await station.observer.wait(lambda: station.observer.get(RESERVATION).reservation is None, 10,
                                "the reservation cleared on the bus")
    await charging(station, "ANYONE")  # anyone may charge again


async def test_tc_048_reservation_refused_faulted_occupied_unavailable_and_connector_0(station: Station) -> None:
    await station.status("Available")
    assert await reserve(station, connector=0) == "Rejected"  # ReserveConnectorZeroSupported is false
    assert await reserve(station, connector=2) == "Rejected"
    await station.plug()
    await station.status("Preparing")
    assert await reserve(station) == "Occupied"
    await station.unplug_until_available()
    assert (await station.csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))).status == "Accepted"
    await station.status("Unavailable")
    assert await reserve(station) == "Unavailable"
    assert (await station.csms.call(call.ChangeAvailability(connector_id=1, type="Operative"))).status == "Accepted"
    await station.bus.request(sim.FAULT, FaultRequest(code=HardwareFault.GROUND_FAILURE))
    await station.status("Faulted")
    assert await reserve(station) == "Faulted"


async def test_tc_051_tc_052_cancel_reservation(station: Station) -> None:
    await station.status("Available")
    assert await reserve(station, reservation_id=11) == "Accepted"
    await station.status("Reserved")
    assert (await station.csms.call(call.CancelReservation(reservation_id=99))).status == "Rejected"
    assert (await station.csms.call(call.CancelReservation(reservation_id=11))).status == "Accepted"
    await station.status("Available", count=2)


async def test_a_new_reserve_now_with_the_same_id_replaces_the_old_and_reservations_survive_restarts(
        station: Station) -> None:
    await station.status("Available")
    assert await reserve(station, "FIRST", 12) == "Accepted"
    assert await reserve(station, "SECOND", 12) == "Accepted"
    state = await station.observer.wait(lambda: (r := station.observer.get(RESERVATION)) and r.reservation
                                        and r.reservation.token.value == "SECOND" and r, what="replaced")
    assert state.reservation.reservation_id == 12
    killed_at = datetime.now(UTC)
    for service in ("ocpp_gateway", "power"):
        pid = station.pid(service)
        kill9(pid)
        await station.observer.wait_online((service,), not_pids={service: pid})
    await station.observer.wait(
        lambda: station.observer.get("chargebus/ocpp_gateway/state/connector/1").status == "Reserved",
        what="Reserved again after both restarts")
    await station.linked_since(killed_at)  # else SECOND is decided offline: unknown there, so Invalid
    await station.plug()
    await station.swipe("FIRST")  # replaced: a stranger now, refused without an Authorize.req
    await station.swipe("SECOND")
    start = (await station.csms.wait("StartTransaction"))[0]
    assert (start["id_tag"], start["reservation_id"]) == ("SECOND", 12)
    assert [a["id_tag"] for a in station.csms.calls("Authorize")] == ["SECOND"]  # FIRST was never asked about

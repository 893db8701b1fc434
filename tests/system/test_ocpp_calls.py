"""The Central System's Core calls and bad frames, against the whole station and a real CSMS."""

from __future__ import annotations

from ocpp.v16 import call

from services.common.contract import auth
from services.common.contract.auth import IdToken, LookupRequest, TokenType
from services.common.contract.supervisor import RESTART, RestartRequest
from tests.system.station import Station, charging


async def test_change_availability_scheduled_during_a_transaction(station: Station) -> None:
    start = await charging(station)
    assert start["connector_id"] == 1
    result = await station.csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert result.status == "Scheduled"
    await station.swipe("TAG1")
    await station.csms.wait("StopTransaction")
    await station.status("Unavailable")

    def told() -> int:  # each power process logs once that it follows an inoperative connector
        return station.stack.log.read_text(errors="replace").count("availability connector=1 operative=False")
    await station.observer.wait(lambda: told() == 1, what="power told the connector is inoperative")
    # power keeps availability in memory only: a new power process is told again
    pid = station.pid("power")
    await station.bus.request(RESTART, RestartRequest(service="power", reason="test"))
    new_pid = (await station.observer.wait_online(("power",), not_pids={"power": pid}))["power"]
    assert new_pid != pid
    await station.observer.wait(lambda: told() == 2, what="the new power process told the connector is inoperative")
    assert station.observer.get("chargebus/ocpp_gateway/state/connector/1").status == "Unavailable"
    back = await station.csms.call(call.ChangeAvailability(connector_id=0, type="Operative"))
    assert back.status == "Accepted"
    assert (await station.csms.call(call.ChangeAvailability(connector_id=7, type="Operative"))).status == "Rejected"


async def test_clear_cache_empties_the_cache_of_auth(station: Station) -> None:
    await charging(station)  # TAG1 accepted by the CSMS: auth caches it
    lookup = LookupRequest(token=IdToken(value="TAG1", type=TokenType.ISO14443))
    assert (await station.bus.request(auth.LOOKUP, lookup)).cached is not None
    assert (await station.csms.call(call.ClearCache())).status == "Accepted"
    assert (await station.bus.request(auth.LOOKUP, lookup)).cached is None



"""OCPP 2.0.1 P01 over the link: no vendor extension, said the way the spec names it (OCTT TC_P_01, TC_P_02)."""

from __future__ import annotations

from ocpp.v201 import call

from .conftest import Running


async def test_tc_p_01_02_data_transfer_names_what_the_station_does_not_know(running: Running) -> None:
    await running.link.wait_accepted()
    station = running.csms.stations[0]
    other = await station.call(call.DataTransfer(vendor_id="com.example", message_id="Ping", data={"n": 1}))
    ours = await station.call(call.DataTransfer(vendor_id="CHARGEBUS", message_id="Ping"))
    assert (other.status, ours.status) == ("UnknownVendorId", "UnknownMessageId")

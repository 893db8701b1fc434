"""The dev CSMS against a real station-side OCPP 2.0.1 client: the same permissive Central System as for 1.6,
every message checked against the 2.0.1 JSON schemas both ways by the library (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.datatypes import ChargingStationType, EVSEType, IdTokenType, TransactionType
from ocpp.v201.enums import (
    Action,
    AuthorizationStatusEnumType,
    BootReasonEnumType,
    RegistrationStatusEnumType,
    RequestStartStopStatusEnumType,
    SetVariableStatusEnumType,
    TransactionEventEnumType,
    TriggerReasonEnumType,
)
from websockets.asyncio.client import ClientConnection

from services.csms import control
from tests.unit.csms.conftest import Bench, Seen

CARD = IdTokenType(id_token="04A2B3C4", type="ISO14443")
V201 = ("ocpp2.0.1",)


class Station201(Seen, ChargePoint):
    """An OCPP 2.0.1 station."""

    def __init__(self, cp_id: str, connection: ClientConnection) -> None:
        super().__init__(cp_id, connection)
        self.watch(connection)

    @on(Action.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> call_result.SetVariables:
        return call_result.SetVariables(set_variable_result=[
            {"attribute_status": SetVariableStatusEnumType.accepted, "component": d["component"],
             "variable": d["variable"]} for d in set_variable_data])

    @on(Action.request_start_transaction)
    def on_request_start(self, **_payload: Any) -> call_result.RequestStartTransaction:
        return call_result.RequestStartTransaction(status=RequestStartStopStatusEnumType.accepted)


async def _boot(station: Station201) -> Any:
    return await station.call(call.BootNotification(
        charging_station=ChargingStationType(model="MIC-200-ELT", vendor_name="chargebus"),
        reason=BootReasonEnumType.power_up))


def _event(kind: TransactionEventEnumType, seq_no: int, reason: TriggerReasonEnumType, **extra: Any
           ) -> call.TransactionEvent:
    return call.TransactionEvent(event_type=kind, timestamp="2026-12-05T12:00:00Z", trigger_reason=reason,
                                 seq_no=seq_no, transaction_info=TransactionType(transaction_id="tx-1"), **extra)


async def test_a_whole_card_session_is_answered_as_a_permissive_csms_would(bench: Bench) -> None:
    async with bench.station(kind=Station201, subprotocols=V201) as station:
        assert (await _boot(station)).status == RegistrationStatusEnumType.accepted
        authorized = await station.call(call.Authorize(id_token=CARD))
        assert authorized.id_token_info["status"] == AuthorizationStatusEnumType.accepted
        started = await station.call(_event(TransactionEventEnumType.started, 0, TriggerReasonEnumType.authorized,
                                            id_token=CARD, evse=EVSEType(id=1, connector_id=1)))
        assert started.id_token_info["status"] == AuthorizationStatusEnumType.accepted
        updated = await station.call(_event(TransactionEventEnumType.updated, 1,
                                            TriggerReasonEnumType.meter_value_periodic))
        assert updated.id_token_info is None  # no token in the event: none in the answer
        ended = await station.call(_event(TransactionEventEnumType.ended, 2, TriggerReasonEnumType.stop_authorized,
                                          id_token=CARD))
        assert ended.id_token_info["status"] == AuthorizationStatusEnumType.accepted


async def test_the_meter_interval_is_set_once_the_boot_is_answered(bench: Bench) -> None:
    async with bench.station(kind=Station201, subprotocols=V201) as station:
        await _boot(station)
        asked = await station.called("SetVariables")
        assert asked == {"setVariableData": [{"attributeValue": "5", "component": {"name": "SampledDataCtrlr"},
                                              "variable": {"name": "TxUpdatedInterval"}}]}
        kinds = [f[0] for f in station.frames]
        assert kinds.index(3) < kinds.index(2), "the BootNotification answer comes first: " + str(station.frames)


async def test_a_station_offering_both_versions_is_spoken_to_in_the_one_it_prefers(bench: Bench) -> None:
    async with bench.station(kind=Station201, subprotocols=("ocpp2.0.1", "ocpp1.6")) as station:
        assert station.link.subprotocol == "ocpp2.0.1"
        assert (await _boot(station)).status == RegistrationStatusEnumType.accepted


async def test_a_command_is_checked_against_the_201_schema_and_reaches_the_station(bench: Bench) -> None:
    async with bench.station(kind=Station201, subprotocols=V201) as station:
        payload = {"idToken": {"idToken": "04A2B3C4", "type": "ISO14443"}, "remoteStartId": 7}
        cp, answer = await bench.send("RequestStartTransaction", payload)
        assert (cp, answer) == ("CP1", {"status": "Accepted"})
        assert station.calls("RequestStartTransaction") == [payload]
        with pytest.raises(control.ControlError) as refused:  # remoteStartId is required in 2.0.1
            await bench.send("RequestStartTransaction", {"idToken": {"idToken": "04A2B3C4", "type": "ISO14443"}})
        assert refused.value.code == "invalid_payload" and "remoteStartId" in str(refused.value)
        with pytest.raises(control.ControlError) as refused:  # a 1.6 call has no 2.0.1 name
            await bench.send("RemoteStartTransaction", {"idTag": "04A2B3C4"})
        assert refused.value.code == "unknown_action" and "no OCPP 2.0.1 call" in str(refused.value)
        assert len(station.calls("RequestStartTransaction")) == 1

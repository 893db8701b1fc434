"""TransactionEvent payloads, each checked against the OCPP 2.0.1 schema as the library would send it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.contract.auth import IdToken, TokenType
from services.common.contract.metering import Cause, Location, Measurand, MeterValue, Sample
from services.common.contract.power import ConnectorState
from services.ocpp_gateway.sessions import Reason
from services.ocpp_gateway.v201.tokens import TOKEN_TYPES
from services.ocpp_gateway.v201.transaction_events import (
    STOPS,
    StartedBy,
    Trigger,
    charging_state,
    ended,
    started,
    updated,
)

from .wire import valid

T0 = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
CARD = IdToken(value="04A2B3C4", type=TokenType.ISO14443)


def state(**facts: Any) -> ConnectorState:
    return ConnectorState(connector_id=1, plugged=True, energized=False, limit_a=200.0, setpoint_a=0.0,
                          since=T0).model_copy(update=facts)


def reading(cause: Cause, energy_wh: float, at: datetime = T0, **more: float) -> MeterValue:
    samples = [Sample(measurand=Measurand.ENERGY_IMPORTED, value=energy_wh)]
    samples += [Sample(measurand=Measurand(m), value=v) for m, v in more.items()]
    return MeterValue(timestamp=at, cause=cause, samples=samples)


def sent(payload: dict[str, Any]) -> dict[str, Any]:
    return valid("TransactionEventRequest", payload)


def test_a_card_session_from_start_to_end() -> None:
    charging = state(energized=True, delivering=True)
    events = [
        started("3f9a1c2b4d5e6f70", T0, StartedBy.CARD, evse_id=1, connector_id=1, token=CARD, state=charging,
                meter=reading(Cause.SESSION_START, 1234)),
        updated("3f9a1c2b4d5e6f70", 1, T0 + timedelta(minutes=1), Trigger.meter_value_periodic, charging,
                reading(Cause.PERIODIC, 1500, T0 + timedelta(minutes=1), power_w=48000.0, soc_pct=41.57)),
        updated("3f9a1c2b4d5e6f70", 2, T0 + timedelta(minutes=2), Trigger.charging_state_changed,
                state(energized=True, delivering=False)),
        ended("3f9a1c2b4d5e6f70", 3, T0 + timedelta(minutes=3), Reason.LOCAL, state(),
              reading(Cause.SESSION_END, 2345, T0 + timedelta(minutes=3)), token=CARD),
    ]
    wire = [sent(e) for e in events]
    assert [(w["eventType"], w["seqNo"], w["triggerReason"]) for w in wire] == [
        ("Started", 0, "Authorized"), ("Updated", 1, "MeterValuePeriodic"), ("Updated", 2, "ChargingStateChanged"),
        ("Ended", 3, "StopAuthorized")]
    assert {w["transactionInfo"]["transactionId"] for w in wire} == {"3f9a1c2b4d5e6f70"}
    assert [w["transactionInfo"]["chargingState"] for w in wire] == ["Charging", "Charging", "SuspendedEV",
                                                                     "EVConnected"]
    assert wire[0]["evse"] == {"id": 1, "connectorId": 1} and wire[0]["idToken"] == {"idToken": "04A2B3C4",
                                                                                       "type": "ISO14443"}
    begin = wire[0]["meterValue"][0]["sampledValue"][0]
    assert begin == {"value": 1234.0, "context": "Transaction.Begin", "measurand": "Energy.Active.Import.Register",
                     "location": "Outlet", "unitOfMeasure": {"unit": "Wh"}}
    assert [s["value"] for s in wire[1]["meterValue"][0]["sampledValue"]] == [1500.0, 48000.0, 41.6]
    assert wire[3]["transactionInfo"]["stoppedReason"] == "Local" and "meterValue" not in wire[2]


def test_a_remote_start_carries_its_id_and_the_reservation() -> None:
    wire = sent(started("a1", T0, StartedBy.REMOTE, evse_id=1, connector_id=1,
                        token=IdToken(value="app-user-7", type=TokenType.CENTRAL), state=state(energized=True),
                        meter=None, remote_start_id=42, reservation_id=9, offline=True))
    assert wire["triggerReason"] == "RemoteStart" and wire["transactionInfo"]["remoteStartId"] == 42
    assert wire["reservationId"] == 9 and wire["offline"] is True and wire["idToken"]["type"] == "Central"


@pytest.mark.parametrize("reason", list(Reason))
def test_every_stop_reason_is_told_with_its_trigger(reason: Reason) -> None:
    wire = sent(ended("a1", 5, T0, reason, state(plugged=False), reading(Cause.SESSION_END, 10)))
    assert (wire["transactionInfo"]["stoppedReason"], wire["triggerReason"]) == tuple(STOPS[reason])
    assert wire["transactionInfo"]["chargingState"] == "Idle"


@given(st.sampled_from(list(TokenType)), st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]),
                                                  min_size=1, max_size=36))
def test_every_token_type_goes_out_as_a_2_0_1_one(kind: TokenType, value: str) -> None:
    wire = sent(started("a1", T0, StartedBy.CABLE, evse_id=1, connector_id=1, token=IdToken(value=value, type=kind),
                        state=state(energized=True, delivering=True), meter=None))
    assert wire["idToken"] == {"idToken": value, "type": TOKEN_TYPES[kind]}


def test_every_measurand_goes_out_with_its_unit_and_location() -> None:
    samples = [Sample(measurand=m, value=12.34, location=Location.EV if m is Measurand.SOC else Location.OUTLET)
               for m in Measurand]
    wire = sent(updated("a1", 1, T0, Trigger.trigger, state(energized=True, delivering=True),
                        MeterValue(timestamp=T0, cause=Cause.REQUESTED, samples=samples)))
    values = wire["meterValue"][0]["sampledValue"]
    assert {v["context"] for v in values} == {"Trigger"} and len(values) == len(Measurand)
    assert {v["measurand"]: (v["unitOfMeasure"]["unit"], v["location"]) for v in values} == {
        "Energy.Active.Import.Register": ("Wh", "Outlet"), "Power.Active.Import": ("W", "Outlet"),
        "Current.Export": ("A", "Outlet"), "Voltage": ("V", "Outlet"), "SoC": ("Percent", "EV"),
        "Power.Offered": ("W", "Outlet")}


def test_charging_state_follows_power() -> None:
    assert [charging_state(s) for s in (
        state(plugged=False), state(), state(energized=True, delivering=True),
        state(energized=True, held_back=True), state(energized=True))] == [
        "Idle", "EVConnected", "Charging", "SuspendedEVSE", "SuspendedEV"]


def test_only_the_started_event_has_seq_no_0() -> None:
    with pytest.raises(ValueError, match="seqNo 0"):
        updated("a1", 0, T0, Trigger.trigger, state())
    with pytest.raises(ValueError, match="seqNo 0"):
        ended("a1", 0, T0, Reason.LOCAL, state(), None)

"""The 2.0.1 transaction messages (`tx_messages.TxMessages`): TransactionEvent Started, Updated and Ended.

The station makes the transactionId (its session id) and numbers the events (seqNo, kept by the store), so
nothing waits for the CSMS's answer to the start: every event of a transaction is complete when it is queued.
2.0.1 has no meterStart or meterStop: the register at the start and at the end travels as the meter value of
the Started and Ended events.

The session machine's key of a token is its value when the token is an ISO 14443 card, the commonest case and
what the 1.6 gateway stores too; other types are written `<type>:<value>`. An ISO 14443 value with a colon in
it is written with its type as well, so every key reads back as the one token it came from.
"""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call
from ocpp.v201.enums import TriggerReasonEnumType as Trigger

from services.common.contract.auth import IdToken, TokenInfo, TokenType
from services.common.contract.metering import Cause, Measurand, MeterValue, Sample
from services.common.contract.power import ConnectorState

from ..keys import measurands_of
from ..messages import Unsendable, schema_error
from ..ports import ConfigReader
from ..sessions import Rules
from ..tx_messages import Answer, StartFacts, StopFacts
from ..tx_store import OutboxMessage, Payload, TxStore
from . import tokens
from .transaction_events import StartedBy, charging_state, ended, meter_value, started, updated
from .variables import AUTH, OCPP_COMM, SAMPLED, TX

EVENT = "TransactionEvent"
TRIGGERS = {Cause.PERIODIC: Trigger.meter_value_periodic, Cause.CLOCK: Trigger.meter_value_clock}
_BY_NAME = {t.value: t for t in TokenType}


def key(token: IdToken) -> str:
    if token.type is TokenType.ISO14443 and ":" not in token.value:
        return token.value
    return f"{token.type.value}:{token.value}"


def token_of(key: str) -> IdToken:
    kind, sep, value = key.partition(":")
    if sep and kind in _BY_NAME:
        return IdToken(value=value, type=_BY_NAME[kind])
    return IdToken(value=key, type=TokenType.ISO14443)


class Ocpp201Messages:
    start_action, meter_action, stop_action = f"{EVENT}.Started", f"{EVENT}.Updated", f"{EVENT}.Ended"
    fills_transaction_id = False
    attempts_key = f"{OCPP_COMM}.MessageAttempts:{EVENT}"
    interval_key = f"{OCPP_COMM}.MessageAttemptInterval:{EVENT}"

    def rules(self, config: ConfigReader) -> Rules:
        return Rules(connection_timeout_s=config.get_int(f"{TX}.EVConnectionTimeOut"),
                     authorize_remote_tx_requests=config.get_bool(f"{AUTH}.AuthorizeRemoteStart"),
                     stop_transaction_on_invalid_id=config.get_bool(f"{TX}.StopTxOnInvalidId"),
                     max_energy_on_invalid_id_wh=config.get_int(f"{TX}.MaxEnergyOnInvalidId"))

    def told(self, store: TxStore, session_id: str) -> bool:
        return store.events(session_id) > 0

    def key(self, token: IdToken) -> str | None:
        return key(token)

    def token(self, key: str) -> IdToken:
        return token_of(key)

    def transaction_id(self, session_id: str, confirmed: int | None) -> str | None:
        return session_id

    def group(self, info: TokenInfo | None) -> str | None:
        return key(info.group) if info is not None and info.group is not None else None

    def measurands(self, config: ConfigReader, at_stop: bool) -> list[Measurand]:
        return measurands_of(config.get(f"{SAMPLED}.TxEndedMeasurands" if at_stop else
                                        f"{SAMPLED}.TxUpdatedMeasurands"))

    def start(self, facts: StartFacts) -> Payload:
        by = StartedBy.REMOTE if facts.remote_start_id is not None else (
            StartedBy.CABLE if facts.cable_last else StartedBy.CARD)
        begin = MeterValue(timestamp=facts.at, cause=Cause.SESSION_START,
                           samples=[Sample(measurand=Measurand.ENERGY_IMPORTED, value=facts.meter_start_wh)])
        return lambda _seq_no: started(
            facts.session_id, facts.at, by, evse_id=facts.connector_id, connector_id=1,
            token=token_of(facts.id_tag), state=facts.state, meter=begin, remote_start_id=facts.remote_start_id,
            reservation_id=facts.reservation_id, offline=facts.offline)

    def meter(self, session_id: str, connector_id: int, value: MeterValue, state: ConnectorState | None,
              offline: bool) -> Payload:
        trigger = TRIGGERS.get(value.cause, Trigger.trigger)
        return lambda seq_no: updated(session_id, seq_no, value.timestamp, trigger, state, value, offline)

    def charging_changed(self, session_id: str, before: ConnectorState | None, now: ConnectorState, offline: bool
                         ) -> Payload | None:
        if before is None or charging_state(before) == charging_state(now):
            return None  # no change, or nothing to compare with (the first facts after a restart of the gateway)
        at = now.since
        return lambda seq_no: updated(session_id, seq_no, at, Trigger.charging_state_changed, now, None, offline)

    def sampled(self, value: MeterValue) -> dict[str, Any]:
        return meter_value(value)

    def stop(self, facts: StopFacts, config: ConfigReader) -> Payload:
        # the register at the end is always told: it is what the CSMS bills, and 2.0.1 has no meterStop
        samples = [s for s in facts.end.samples] if facts.end is not None else []
        if not any(s.measurand is Measurand.ENERGY_IMPORTED for s in samples):
            samples.insert(0, Sample(measurand=Measurand.ENERGY_IMPORTED, value=facts.meter_stop_wh))
        end = MeterValue(timestamp=facts.at, cause=Cause.SESSION_END, samples=samples)
        stopper = token_of(facts.id_tag) if facts.id_tag is not None else None
        return lambda seq_no: ended(facts.session_id, seq_no, facts.at, facts.reason, facts.state, end, stopper,
                                    facts.offline)

    def meter_values(self, connector_id: int, value: MeterValue, transaction_id: int | str | None) -> Any:
        return call.MeterValues(evse_id=connector_id, meter_value=[meter_value(value)])

    def build(self, action: str, payload: dict[str, Any] | None) -> Any:
        if action not in (self.start_action, self.meter_action, self.stop_action):
            raise Unsendable(f"{action!r} is not a transaction message")
        if payload is None:
            raise Unsendable("the stored payload is not a JSON object")
        try:
            return call.TransactionEvent(**payload)
        except TypeError as exc:
            raise Unsendable(f"fields do not fit {EVENT}: {exc}") from None

    def schema_error(self, request: Any) -> str | None:
        return schema_error(request, "2.0.1")

    def answered(self, msg: OutboxMessage, conf: Any) -> Answer:
        raw = getattr(conf, "id_token_info", None)
        named = (msg.payload or {}).get("id_token")
        if not isinstance(raw, dict) or not isinstance(named, dict):
            return Answer()
        try:
            info, token = tokens.info(raw), tokens.token(named)
        except ValueError:
            return Answer()
        evse = (msg.payload or {}).get("evse")
        connector = evse.get("id") if isinstance(evse, dict) else None
        return Answer(id_tag=key(token), info=info, connector_id=connector if isinstance(connector, int) else None)


OCPP201 = Ocpp201Messages()

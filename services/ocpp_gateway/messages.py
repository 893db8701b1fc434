"""OCPP payloads of transaction messages, as the snake_case dicts the `ocpp` payload classes take."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.messages import MessageType, get_validator
from ocpp.v16 import call

from services.common.contract.auth import IdToken, TokenInfo
from services.common.contract.metering import Cause, Location, Measurand, MeterValue, Sample
from services.common.contract.power import ConnectorState

from . import tokens
from .keys import MEASURANDS, measurands_of
from .ports import ConfigReader
from .sessions import Rules
from .tx_messages import Answer, StartFacts, StopFacts
from .tx_store import OutboxMessage, TxStore

SENDABLE = ("StartTransaction", "MeterValues", "StopTransaction")


class Unsendable(ValueError):
    """A stored message that can never become a valid 1.6 call (e.g. written by an older schema)."""


# the names, units, contexts and locations of the readings are the same in 1.6 and 2.0.1
MEASURAND_NAMES = {neutral: name for name, neutral in MEASURANDS.items()}
MEASURAND_UNITS = {Measurand.ENERGY_IMPORTED: "Wh", Measurand.POWER: "W", Measurand.CURRENT: "A",
                   Measurand.VOLTAGE: "V", Measurand.SOC: "Percent", Measurand.POWER_OFFERED: "W"}
CONTEXTS = {Cause.PERIODIC: "Sample.Periodic", Cause.CLOCK: "Sample.Clock", Cause.SESSION_START: "Transaction.Begin",
            Cause.SESSION_END: "Transaction.End", Cause.REQUESTED: "Trigger"}
LOCATIONS = {Location.OUTLET: "Outlet", Location.EV: "EV"}


def _sampled_value(sample: Sample, cause: Cause) -> dict[str, Any]:
    # the register is whole watt-hours, as the meter counts them; the rest to a tenth
    value = str(int(sample.value)) if sample.measurand is Measurand.ENERGY_IMPORTED else f"{sample.value:.1f}"
    return {"value": value, "context": CONTEXTS[cause], "measurand": MEASURAND_NAMES[sample.measurand],
            "unit": MEASURAND_UNITS[sample.measurand], "location": LOCATIONS[sample.location], "format": "Raw"}


def meter_value_payload(value: MeterValue) -> dict[str, Any]:
    """A metering reading as the snake_case MeterValue dict the `ocpp` payload classes take."""
    return {"timestamp": value.timestamp.isoformat(),
            "sampled_value": [_sampled_value(s, value.cause) for s in value.samples]}


def start_payload(connector_id: int, id_tag: str, meter_start: int, at: datetime, reservation_id: int | None = None
                  ) -> dict[str, Any]:
    payload: dict[str, Any] = {"connector_id": connector_id, "id_tag": id_tag, "meter_start": meter_start,
                               "timestamp": at.isoformat()}
    if reservation_id is not None:
        payload["reservation_id"] = reservation_id
    return payload


def stop_payload(meter_stop: int, at: datetime, reason: str, id_tag: str | None,
                 transaction_data: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = {"meter_stop": meter_stop, "timestamp": at.isoformat(), "reason": reason}
    if id_tag is not None:
        payload["id_tag"] = id_tag
    if transaction_data:
        payload["transaction_data"] = transaction_data
    return payload


def stop_transaction_data(end: dict[str, Any] | None, during: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """transactionData of a StopTransaction: at most `limit` MeterValues, the Transaction.End reading first kept,
    then the newest values taken during the transaction, in time order."""
    if limit <= 0:
        return []
    kept = [end] if end is not None else []
    room = limit - len(kept)
    earlier = during[-room:] if room > 0 else []
    return [*earlier, *kept]


def energy_wh(value: MeterValue) -> int | None:
    return next((int(s.value) for s in value.samples if s.measurand is Measurand.ENERGY_IMPORTED), None)


def build_call(action: str, payload: dict[str, Any] | None) -> Any:
    """The `ocpp.v16.call` payload object for a stored message.

    Raises Unsendable for a row that could never become one, so that the outbox sets it aside instead
    of retrying it for ever. The 1.6 schema is checked by the library when the call is sent; after a
    failure, `schema_error` tells a message that can never pass from one the CSMS refused.
    """
    if action not in SENDABLE:
        raise Unsendable(f"{action!r} is not a transaction message")
    if payload is None:
        raise Unsendable("the stored payload is not a JSON object")
    try:
        return getattr(call, action)(**payload)
    except TypeError as exc:
        raise Unsendable(f"fields do not fit {action}: {exc}") from None


def schema_error(request: Any, version: str = "1.6") -> str | None:
    """Why a call object fails the schema of its action in an OCPP version, or None when it is valid."""
    action = type(request).__name__
    wire = remove_nones(snake_to_camel_case(serialize_as_dict(request)))
    error = next(iter(get_validator(MessageType.Call, action, version).iter_errors(wire)), None)
    return f"{action} does not validate: {error.message}" if error is not None else None


class Ocpp16Messages:
    """The 1.6 transaction messages (`tx_messages.TxMessages`): StartTransaction, MeterValues, StopTransaction."""

    start_action, meter_action, stop_action = SENDABLE
    fills_transaction_id = True
    attempts_key, interval_key = "TransactionMessageAttempts", "TransactionMessageRetryInterval"

    def rules(self, config: ConfigReader) -> Rules:
        return Rules(connection_timeout_s=config.get_int("ConnectionTimeOut"),
                     authorize_remote_tx_requests=config.get_bool("AuthorizeRemoteTxRequests"),
                     stop_transaction_on_invalid_id=config.get_bool("StopTransactionOnInvalidId"),
                     max_energy_on_invalid_id_wh=config.get_int("MaxEnergyOnInvalidId"))

    def told(self, store: TxStore, session_id: str) -> bool:
        return store.transaction_id(session_id) is not None or store.queued(session_id, self.start_action)

    def key(self, token: IdToken) -> str | None:
        return tokens.id_tag(token)

    def token(self, key: str) -> IdToken:
        return tokens.token(key)

    def transaction_id(self, session_id: str, confirmed: int | None) -> str | None:
        return None if confirmed is None else str(confirmed)

    def group(self, info: TokenInfo | None) -> str | None:
        return tokens.parent(info)

    def measurands(self, config: ConfigReader, at_stop: bool) -> list[Measurand]:
        return measurands_of(config.get("StopTxnSampledData" if at_stop else "MeterValuesSampledData"))

    def start(self, facts: StartFacts) -> dict[str, Any]:
        return start_payload(facts.connector_id, facts.id_tag, facts.meter_start_wh, facts.at, facts.reservation_id)

    def meter(self, session_id: str, connector_id: int, value: MeterValue, state: ConnectorState | None,
              offline: bool) -> dict[str, Any]:
        return {"connector_id": connector_id, "meter_value": [meter_value_payload(value)]}

    def charging_changed(self, session_id: str, before: ConnectorState | None, now: ConnectorState, offline: bool
                         ) -> None:
        return None  # 1.6 tells it with the connector's StatusNotification (Charging, SuspendedEV, SuspendedEVSE)

    def sampled(self, value: MeterValue) -> dict[str, Any]:
        return meter_value_payload(value)

    def stop(self, facts: StopFacts, config: ConfigReader) -> dict[str, Any]:
        end = meter_value_payload(facts.end) if facts.end is not None else None
        data = stop_transaction_data(end, facts.during, config.get_int("StopTransactionMaxMeterValues"))
        return stop_payload(facts.meter_stop_wh, facts.at, facts.reason.value, facts.id_tag, data)

    def meter_values(self, connector_id: int, value: MeterValue, transaction_id: int | str | None) -> Any:
        payload: dict[str, Any] = {"connector_id": connector_id, "meter_value": [meter_value_payload(value)]}
        if transaction_id is not None:
            payload["transaction_id"] = transaction_id
        return call.MeterValues(**payload)

    def build(self, action: str, payload: dict[str, Any] | None) -> Any:
        return build_call(action, payload)

    def schema_error(self, request: Any) -> str | None:
        return schema_error(request)

    def answered(self, msg: OutboxMessage, conf: Any) -> Answer:
        info = tokens.info_or_none(getattr(conf, "id_tag_info", None))
        payload = msg.payload or {}
        tag, connector = payload.get("id_tag"), payload.get("connector_id")
        return Answer(transaction_id=conf.transaction_id if msg.action == self.start_action else None,
                      id_tag=tag if isinstance(tag, str) and info is not None else None, info=info,
                      connector_id=connector if isinstance(connector, int) else None)


OCPP16 = Ocpp16Messages()

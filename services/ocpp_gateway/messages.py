"""OCPP payloads of transaction messages, as the snake_case dicts the `ocpp` payload classes take."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.messages import MessageType, get_validator
from ocpp.v16 import call

from services.common.contract.metering import Cause, Location, Measurand, MeterValue, Sample

from .keys import MEASURANDS

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


def schema_error(request: Any) -> str | None:
    """Why a call object fails the 1.6 schema of its action, or None when it is valid."""
    action = type(request).__name__
    wire = remove_nones(snake_to_camel_case(serialize_as_dict(request)))
    error = next(iter(get_validator(MessageType.Call, action, "1.6").iter_errors(wire)), None)
    return f"{action} does not validate: {error.message}" if error is not None else None

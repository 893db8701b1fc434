"""A payload as the `ocpp` library sends it, checked against the OCPP 2.0.1 JSON schema of its message."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import ocpp.v201
from ocpp.charge_point import remove_nones, snake_to_camel_case

SCHEMAS = Path(ocpp.v201.__file__).parent / "schemas"


@cache
def _validator(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((SCHEMAS / f"{name}.json").read_text()))


def valid(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload on the wire (camelCase, no None), valid against the schema of the message `name`."""
    wire = snake_to_camel_case(remove_nones(payload))
    _validator(name).validate(json.loads(json.dumps(wire)))
    return wire

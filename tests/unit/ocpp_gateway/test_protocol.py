"""OCPP-J 1.6 classification of incoming calls: the error codes of the 1.6 spelling, never the library's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ocpp_gateway.protocol import CallRefused, classify, message_id


def code_of(action: str, payload: Any, handled: bool = True) -> str | None:
    try:
        classify(action, payload, handled)
    except CallRefused as refused:
        return refused.code
    return None


@pytest.mark.parametrize(("action", "payload", "handled", "code"), [
    ("FlyToTheMoon", {}, False, "NotImplemented"),
    ("ReserveNow", {}, False, "NotSupported"),
    ("ChangeConfiguration", {"key": "HeartbeatInterval"}, True, "OccurenceConstraintViolation"),
    ("ChangeConfiguration", {"key": 5, "value": "1"}, True, "TypeConstraintViolation"),
    ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "1", "extra": 1}, True, "FormationViolation"),
    ("ChangeAvailability", {"connectorId": 1, "type": "Sideways"}, True, "PropertyConstraintViolation"),
    ("ChangeConfiguration", {"key": "k" * 51, "value": "1"}, True, "PropertyConstraintViolation"),
    ("Reset", [1, 2], True, "FormationViolation"),
    ("Reset", {"type": "Soft"}, True, None),
])
def test_codes(action: str, payload: Any, handled: bool, code: str | None) -> None:
    assert code_of(action, payload, handled) == code


@given(st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=5),
                                                       st.lists(st.integers(), max_size=2)), max_size=4))
def test_any_payload_is_classified_with_a_16_code_or_accepted(payload: dict[str, Any]) -> None:
    code = code_of("ChangeConfiguration", payload)
    assert code in (None, "OccurenceConstraintViolation", "TypeConstraintViolation", "FormationViolation",
                    "PropertyConstraintViolation")
    if code is None:
        assert set(payload) == {"key", "value"}


def test_message_id_of_broken_frames() -> None:
    assert message_id('[2, "abc", "Reset"]') == "abc"
    assert message_id("not json") is None
    assert message_id(json.dumps({"a": 1})) is None
    assert message_id('[2, 5, "Reset", {}]') is None

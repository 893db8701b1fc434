"""OCPP-J 1.6 classification of incoming calls: the error codes of the 1.6 spelling, never the library's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ocpp_gateway.list_frames import ListEntry
from services.ocpp_gateway.protocol import CallRefused, message_id, route, schema_refusal


def code_of(action: str, payload: Any, handled: bool = True) -> str | None:
    """The CALLERROR code the station answers with: routing first, then the 1.6 schema of the action."""
    try:
        route(action, payload, handled)
    except CallRefused as refused:
        return refused.code
    invalid = schema_refusal(action, payload)
    return None if invalid is None else invalid.code


@pytest.mark.parametrize(("action", "payload", "handled", "code"), [
    ("FlyToTheMoon", {}, False, "NotImplemented"),
    ("SignedUpdateFirmware", {}, False, "NotSupported"),
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


def test_only_a_call_is_ever_answered() -> None:
    """A broken CALLRESULT or CALLERROR gets no CALLERROR back (item 16)."""
    assert message_id('[3, "abc"]') is None
    assert message_id('[4, "abc", "X"]') is None
    assert message_id('[2.0, "abc", "Reset"]') is None
    assert message_id('[2, "abc", "Reset"]') == "abc"


def test_charging_profile_limits_validate_as_decimals() -> None:
    """21.4 is a multiple of 0.1 as the schema means it; as a float it is not (item 8)."""
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Relative", "chargingSchedule": {
                   "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]}}
    assert code_of("RemoteStartTransaction", {"idTag": "T", "chargingProfile": profile}) is None
    profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 21.45  # type: ignore[index]
    assert code_of("RemoteStartTransaction", {"idTag": "T", "chargingProfile": profile}) == (
        "PropertyConstraintViolation")


class _Connection:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, frame: str) -> None:
        self.sent.append(frame)

    async def recv(self) -> str:
        raise AssertionError("not read in this test")


@pytest.mark.parametrize(("code", "read_as"), [("RpcFrameworkError", "GenericError"), ("Nonsense", "GenericError"),
                                               ("InternalError", "InternalError")])
async def test_a_callerror_code_16_does_not_define_is_read_as_generic_error(code: str, read_as: str) -> None:
    """A CSMS built for 2.x may answer RpcFrameworkError: it must not kill the caller (item 6)."""
    from ocpp.messages import CallError

    from services.ocpp_gateway.protocol import StationProtocol

    connection = _Connection()
    protocol = StationProtocol("CP", connection)
    await protocol.route_message(json.dumps([4, "u1", code, "bad", {}]))
    await protocol.route_message('[3, "u2"]')  # malformed CALLRESULT: dropped, not answered
    answer = protocol._response_queue.get_nowait()
    assert isinstance(answer, CallError) and answer.error_code == read_as
    assert isinstance(answer.to_exception(), Exception)
    assert connection.sent == [] and protocol._response_queue.empty()


def test_the_launchers_warm_up_builds_the_validators_the_library_would() -> None:
    """The library caches one validator per action, whatever its float parsing: a warm-up that built the
    RemoteStartTransaction one with floats made every charging profile fail with a TypeError."""
    import decimal

    import ocpp.messages
    from ocpp.messages import Call, MessageType, _validate_payload, get_validator

    import services.ocpp_gateway.service  # noqa: F401 - preloaded by the launcher, it declares the warm-up
    from services.supervisor.launcher import warm_up

    ocpp.messages._validators.clear()  # as in a fresh launcher: the warm-up builds them first
    warm_up()
    assert get_validator(MessageType.Call, "RemoteStartTransaction", "1.6").schema["properties"]["chargingProfile"][
        "properties"]["chargingSchedule"]["properties"]["chargingSchedulePeriod"]["items"]["properties"]["limit"][
        "multipleOf"] == decimal.Decimal("0.1")
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Relative", "chargingSchedule": {
                   "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}]}}
    _validate_payload(Call("1", "RemoteStartTransaction", {"idTag": "T", "chargingProfile": profile}), "1.6")


def test_no_profile_handler_hides_a_method_of_the_library() -> None:
    """A mixin's `_send` once shadowed the library's own: every frame the station sent went to it."""
    import inspect

    from ocpp.v16 import ChargePoint as LibraryChargePoint

    from services.ocpp_gateway.actions.base import Actions
    from services.ocpp_gateway.charge_point import ChargePoint

    library = set(dir(LibraryChargePoint))
    ours = {name for cls in inspect.getmro(ChargePoint) if cls.__module__.startswith("services.ocpp_gateway.actions")
            and cls is not Actions for name in vars(cls) if not name.startswith("__")}
    assert ours and not (ours & library), ours & library


class _RawStation:
    """A StationProtocol with one @raw_call handler that echoes what it was given."""

    @staticmethod
    def make(answer: dict[str, Any] | None = None) -> tuple[Any, _Connection, list[dict[str, Any]]]:
        from ocpp.v16.enums import Action

        from services.ocpp_gateway.protocol import StationProtocol, raw_call

        seen: list[dict[str, Any]] = []

        class Protocol(StationProtocol):
            @raw_call(Action.send_local_list)
            async def send_local_list(self, payload: dict[str, Any]) -> dict[str, Any]:
                seen.append(payload)
                return answer if answer is not None else {"status": "Accepted"}

        connection = _Connection()
        return Protocol("CP", connection), connection, seen


async def _call(protocol: Any, payload: Any) -> list[Any]:
    import asyncio

    await protocol.route_message(json.dumps([2, "m1", "SendLocalList", payload]))
    await asyncio.gather(*protocol._calls)
    return json.loads(protocol._connection.sent[-1])


async def test_a_raw_call_gets_the_payload_as_sent_and_its_answer_goes_back() -> None:
    protocol, _connection, seen = _RawStation.make()
    payload = {"listVersion": 3, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "A1", "idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T00:00:00"}}]}
    assert await _call(protocol, payload) == [3, "m1", {"status": "Accepted"}]
    # camelCase, untouched but for the entries, read as tuples; a date-time without offset is valid 1.6
    assert seen == [{"listVersion": 3, "updateType": "Full", "localAuthorizationList": [
        ListEntry("A1", "Accepted", None, "2030-01-01T00:00:00")]}]


@pytest.mark.parametrize(("payload", "code"), [
    ({"listVersion": 1}, "OccurenceConstraintViolation"),
    ({"listVersion": "1", "updateType": "Full"}, "TypeConstraintViolation"),
    ({"listVersion": 1, "updateType": "Sideways"}, "PropertyConstraintViolation"),
    ({"listVersion": 1, "updateType": "Full", "localAuthorizationList": [{"idTag": "X" * 21}]},
     "PropertyConstraintViolation"),
    ({"listVersion": 1, "updateType": "Full", "extra": True}, "FormationViolation"),
])
async def test_a_raw_call_that_breaks_the_schema_gets_the_16_code_and_no_handler(payload: Any, code: str) -> None:
    protocol, _connection, seen = _RawStation.make()
    answer = await _call(protocol, payload)
    assert answer[:3] == [4, "m1", code] and seen == []


async def test_a_raw_handler_whose_answer_breaks_the_schema_is_an_internal_error() -> None:
    protocol, _connection, seen = _RawStation.make(answer={"status": "Fine"})
    answer = await _call(protocol, {"listVersion": 1, "updateType": "Full"})
    assert answer[:3] == [4, "m1", "InternalError"] and len(seen) == 1


def test_the_launcher_compiles_the_schemas_of_the_raw_calls() -> None:
    import services.ocpp_gateway.service  # noqa: F401  # as the launcher's preload imports it before warm_up
    from services.ocpp_gateway.charge_point import ChargePoint
    from services.ocpp_gateway.protocol import RAW_ACTIONS, compiled_schema
    from services.supervisor.launcher import warm_up

    marked = {getattr(getattr(ChargePoint, name), "_raw_action", None) for name in dir(ChargePoint)} - {None}
    assert marked == RAW_ACTIONS
    compiled_schema.cache_clear()
    warm_up()
    assert compiled_schema.cache_info().currsize == 2 * len(RAW_ACTIONS)

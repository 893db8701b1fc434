"""A 2.0.1 SendLocalList frame read entry by entry: the same call as the library's 2.0.1 check passes, or left to
the library (which names the error)."""

from __future__ import annotations

import json
from typing import Any

import fastjsonschema
from hypothesis import given, settings
from hypothesis import strategies as st
from ocpp.messages import unpack

from services.ocpp_gateway.list_frames import CheckedCall, ListEntry201, compiled_schema, read

TYPES = ["Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"]
STATUSES = ["Accepted", "Blocked", "ConcurrentTx", "Expired", "Invalid", "NoCredit", "Unknown"]
VALID_TOKEN = st.fixed_dictionaries({"idToken": st.text(max_size=36), "type": st.sampled_from(TYPES)})
TOKENS = st.one_of(VALID_TOKEN, VALID_TOKEN, st.fixed_dictionaries(
    {"idToken": st.one_of(st.text(min_size=37, max_size=38), st.integers()),
     "type": st.sampled_from([*TYPES, "iso14443"])}), st.fixed_dictionaries({"type": st.just("Central")}))
VALID_INFO = st.fixed_dictionaries({"status": st.sampled_from(STATUSES)}, optional={
    "groupIdToken": VALID_TOKEN, "cacheExpiryDateTime": st.just("2030-01-01T00:00:00Z"),
    "chargingPriority": st.integers(-9, 9), "language1": st.text(max_size=8)})
INFOS = st.one_of(VALID_INFO, VALID_INFO, st.none(), st.fixed_dictionaries(
    {"status": st.sampled_from([*STATUSES, "accepted"])}, optional={"groupIdToken": TOKENS}))
VALID_ENTRY = st.fixed_dictionaries({"idToken": VALID_TOKEN}, optional={
    "idTokenInfo": VALID_INFO, "customData": st.just({"vendorId": "chargebus"})})
ENTRIES = st.one_of(VALID_ENTRY, VALID_ENTRY, VALID_ENTRY, st.fixed_dictionaries(
    {"idToken": TOKENS}, optional={"idTokenInfo": INFOS, "extra": st.just(1)}), st.integers(), st.none())
PAYLOADS = st.fixed_dictionaries(
    {"versionNumber": st.integers(), "updateType": st.sampled_from(["Full", "Differential", "full"])},
    optional={"localAuthorizationList": st.one_of(st.lists(ENTRIES, max_size=4),
                                                  st.lists(VALID_ENTRY, min_size=1, max_size=4))})


def _ordinary(frame: str) -> dict[str, Any] | None:
    payload: dict[str, Any] = unpack(frame).payload
    try:
        compiled_schema("SendLocalList", result=False, version="v201")(payload)
    except fastjsonschema.JsonSchemaException:
        return None
    return payload


def _tuple(entry: dict[str, Any]) -> ListEntry201:
    token, info = entry["idToken"], entry.get("idTokenInfo")
    if info is None:
        return ListEntry201(token["idToken"], token["type"], None)
    group = info.get("groupIdToken") or {}
    return ListEntry201(token["idToken"], token["type"], info["status"], group.get("idToken"), group.get("type"),
                        info.get("cacheExpiryDateTime"))


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
def test_a_2_0_1_frame_read_entry_by_entry_is_the_checked_reading_or_left_to_it(payload: dict[str, Any]) -> None:
    frame = json.dumps([2, "m1", "SendLocalList", payload])
    ordinary = _ordinary(frame)
    checked = read(frame, "v201")
    if ordinary is None:
        assert checked is None
        return
    assert isinstance(checked, CheckedCall) and checked.unique_id == "m1"
    if "localAuthorizationList" in ordinary:
        ordinary = ordinary | {"localAuthorizationList": [_tuple(e) for e in ordinary["localAuthorizationList"]]}
    assert checked.payload == ordinary


def test_a_1_6_list_is_no_2_0_1_list() -> None:
    frame = json.dumps([2, "m1", "SendLocalList", {"listVersion": 1, "updateType": "Full",
                                                   "localAuthorizationList": [{"idTag": "A"}]}])
    assert read(frame, "v201") is None and read(frame) is not None

"""A SendLocalList frame read entry by entry: the same call as the ordinary path reads, or left to it."""

from __future__ import annotations

import json
from typing import Any

import fastjsonschema
from hypothesis import given, settings
from hypothesis import strategies as st
from ocpp.messages import unpack

from services.ocpp_gateway.list_frames import CheckedCall, ListEntry, compiled_schema, read

STATUSES = ["Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"]
TAGS = st.one_of(st.text(max_size=20), st.text(max_size=20), st.text(min_size=21, max_size=22), st.integers(),
                 st.none())
VALID_INFO = st.fixed_dictionaries({"status": st.sampled_from(STATUSES)},
                                   optional={"parentIdTag": st.text(max_size=20), "expiryDate": st.just("2030-01-01")})
INFOS = st.one_of(
    VALID_INFO, VALID_INFO, st.none(), st.integers(),
    st.fixed_dictionaries({"status": st.sampled_from([*STATUSES, "accepted", ""])},
                          optional={"parentIdTag": TAGS, "idTag": st.just("A")}),
    st.fixed_dictionaries({}, optional={"parentIdTag": st.just("P")}),
)
VALID_ENTRY = st.fixed_dictionaries({"idTag": st.text(max_size=20)}, optional={"idTagInfo": VALID_INFO})
ENTRIES = st.one_of(
    VALID_ENTRY, VALID_ENTRY, VALID_ENTRY, VALID_ENTRY,
    st.fixed_dictionaries({"idTag": TAGS}, optional={"idTagInfo": INFOS, "extra": st.just(1)}),
    st.fixed_dictionaries({}, optional={"idTagInfo": INFOS}),
    st.integers(), st.none(),
)
ENVELOPES = st.fixed_dictionaries(
    {"listVersion": st.integers(), "updateType": st.sampled_from(["Full", "Differential"])},
    optional={"localAuthorizationList": st.one_of(st.lists(ENTRIES, max_size=4),
                                                  st.lists(VALID_ENTRY, min_size=1, max_size=4))})
PAYLOADS = st.one_of(ENVELOPES, ENVELOPES, st.fixed_dictionaries(
    {}, optional={"listVersion": st.one_of(st.integers(), st.text(max_size=2)),
                  "updateType": st.sampled_from(["Full", "Differential", "full"]),
                  "localAuthorizationList": st.one_of(st.lists(ENTRIES, max_size=4), st.none(), st.just({})),
                  "note": st.fixed_dictionaries({"idTag": st.just("X")})}))


def _ordinary(frame: str) -> dict[str, Any] | None:
    """What the ordinary path hands the handler: the payload as parsed, if it passes the 1.6 schema."""
    payload: dict[str, Any] = unpack(frame).payload
    try:
        compiled_schema("SendLocalList", result=False)(payload)
    except fastjsonschema.JsonSchemaException:
        return None
    return payload


@settings(max_examples=400, deadline=None)
@given(PAYLOADS)
def test_a_frame_read_entry_by_entry_is_the_ordinary_reading_or_left_to_it(payload: dict[str, Any]) -> None:
    """Whatever the CSMS sends: a frame read here carries exactly what the ordinary path would have accepted, and
    a frame the schema refuses is left to the ordinary path (which names the error)."""
    frame = json.dumps([2, "m1", "SendLocalList", payload])
    ordinary = _ordinary(frame)
    checked = read(frame)
    if ordinary is None:
        assert checked is None
        return
    assert isinstance(checked, CheckedCall) and checked.unique_id == "m1" and checked.action == "SendLocalList"
    if "localAuthorizationList" in ordinary:
        ordinary = ordinary | {"localAuthorizationList": [ListEntry.of(e) for e in ordinary["localAuthorizationList"]]}
    assert checked.payload == ordinary


def test_other_frames_are_left_to_the_ordinary_path() -> None:
    entries = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [{"idTag": "A"}]}
    for frame in (json.dumps([2, "m1", "DataTransfer", entries]),  # another action
                  json.dumps([3, "m1", entries]),  # an answer
                  json.dumps([2, "m1", "SendLocalList", entries, "more"]),  # not a CALL of four elements
                  json.dumps([2, "m1", "SendLocalList", entries])[:-1],  # not JSON
                  json.dumps([2, "m1", "SendLocalList", entries]).encode()):  # a binary frame
        assert read(frame) is None
    assert read(json.dumps([2, "m1", "SendLocalList", entries])) is not None


def test_9999_entries_share_their_strings() -> None:
    entries = [{"idTag": f"C{i:05d}", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET1",
                                                    "expiryDate": "2030-01-01T00:00:00Z"}} for i in range(9999)]
    call = read(json.dumps([2, "m1", "SendLocalList", {"listVersion": 1, "updateType": "Full",
                                                         "localAuthorizationList": entries}]))
    assert call is not None
    read_entries = call.payload["localAuthorizationList"]
    assert [e.id_tag for e in read_entries] == [e["idTag"] for e in entries]
    assert len({id(e.parent) for e in read_entries}) == 1 and len({id(e.expiry) for e in read_entries}) == 1

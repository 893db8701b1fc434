"""A SendLocalList frame read without ever holding its entries as JSON objects.

9999 entries parsed into dicts are ~8 MB of small objects alive at once. CPython gives such memory back to the
system one 1 MiB arena at a time, and only once every object in the arena is gone: the objects that other work
makes while the list is applied (timers, bus messages, database handles) and that outlive it land in the holes
the list leaves and keep most of those arenas for good. Read here instead, each entry is checked against the
1.6 schema the moment it is parsed and kept as one small tuple (about 1.5 MB for 9999 entries); the dicts it came
from are freed at once and their memory goes to the next entry. A frame that is anything else, or breaks the
schema anywhere, is left to the ordinary path (`read` returns None), which answers it as it answers any call.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from typing import Any, NamedTuple

import fastjsonschema
import ocpp.messages
from ocpp.messages import Call

ACTION = "SendLocalList"
# a CALL of this action, with a message id the library accepts; the frame is read whole only past this
_FRAME = re.compile(r'\s*\[\s*2\s*,\s*"[^"\\]{1,36}"\s*,\s*"SendLocalList"\s*,')
_ENTRY_KEYS = frozenset({"idTag", "idTagInfo"})


class ListEntry(NamedTuple):
    """One entry of a local list, as the CSMS sent it (already checked against the 1.6 schema)."""

    id_tag: str
    status: str | None  # None: no idTagInfo (a differential update removes the token)
    parent: str | None = None
    expiry: str | None = None

    @classmethod
    def of(cls, entry: dict[str, Any]) -> ListEntry:
        """An entry from the dict the ordinary path parsed."""
        info = entry.get("idTagInfo")
        if info is None:
            return cls(entry["idTag"], None)
        return cls(entry["idTag"], info["status"], info.get("parentIdTag"), info.get("expiryDate"))


class CheckedCall(Call):
    """A CALL whose payload was checked against its 1.6 schema while it was read."""


@cache
def compiled_schema(action: str, result: bool) -> Any:
    """The library's own 1.6 schema for a call (or its result), compiled by fastjsonschema (~20x jsonschema).

    Formats are not checked, as the library does not check them either: a date-time without an
    offset is valid 1.6 for it and is read as UTC by the contract.
    """
    return _compile(_schema(action, result))


@cache
def _entry_schema() -> Any:
    return _compile(_schema(ACTION, result=False)["properties"]["localAuthorizationList"]["items"])


def _schema(action: str, result: bool) -> dict[str, Any]:
    folder = os.path.join(os.path.dirname(os.path.realpath(ocpp.messages.__file__)), "v16", "schemas")
    with open(os.path.join(folder, f"{action}{'Response' if result else ''}.json"), encoding="utf-8-sig") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


def _compile(schema: dict[str, Any]) -> Any:
    return fastjsonschema.compile(schema, formats={"date-time": lambda _value: True})


def warm_up() -> None:
    compiled_schema(ACTION, result=False)
    compiled_schema(ACTION, result=True)
    _entry_schema()


def read(raw: str | bytes) -> CheckedCall | None:
    """The SendLocalList CALL in `raw` with its entries as ListEntry tuples, or None for any other frame."""
    if not isinstance(raw, str) or _FRAME.match(raw) is None:
        return None
    check = _entry_schema()
    broken = False
    strings: dict[str, str] = {}  # one string object for the statuses, groups and dates many entries share

    def entry(obj: dict[str, Any]) -> Any:
        nonlocal broken
        if "idTag" not in obj or not obj.keys() <= _ENTRY_KEYS:
            return obj  # an idTagInfo (read by its entry next), the payload, or something the checks below refuse
        try:
            check(obj)
        except fastjsonschema.JsonSchemaException:
            broken = True
            return obj
        info = obj.get("idTagInfo")
        if info is None:
            return ListEntry(obj["idTag"], None)
        return ListEntry(obj["idTag"], *(None if value is None else strings.setdefault(value, value)
                                         for value in (info["status"], info.get("parentIdTag"),
                                                       info.get("expiryDate"))))

    try:
        frame = json.loads(raw, object_hook=entry)
    except ValueError:
        return None
    if broken or not isinstance(frame, list) or len(frame) != 4 or not isinstance(frame[3], dict):
        return None
    payload: dict[str, Any] = frame[3]
    entries = payload.get("localAuthorizationList", [])
    if not isinstance(entries, list) or any(type(e) is not ListEntry for e in entries):
        return None
    try:  # the rest of the payload, where a ListEntry is no valid value
        compiled_schema(ACTION, result=False)({**payload, "localAuthorizationList": []})
    except fastjsonschema.JsonSchemaException:
        return None
    return CheckedCall(frame[1], ACTION, payload)

"""A SendLocalList frame (OCPP 1.6 or 2.0.1) read without ever holding its entries as JSON objects.

9999 entries parsed into dicts are ~8 MB of small objects alive at once. CPython gives such memory back to the
system one 1 MiB arena at a time, and only once every object in the arena is gone: the objects that other work
makes while the list is applied (timers, bus messages, database handles) and that outlive it land in the holes
the list leaves and keep most of those arenas for good. Read here instead, each entry is checked against its
version's schema the moment it is parsed and kept as one small tuple (about 1.5 MB for 9999 entries); the dicts
it came from are freed at once and their memory goes to the next entry. A frame that is anything else, or breaks
the schema anywhere, is left to the ordinary path (`read` returns None), which answers it as it answers any call.
Checked entry by entry with fastjsonschema, a 9999-entry list also takes a tenth of the library's whole-frame
validation (2.7 s under 2.0.1).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

import fastjsonschema
import ocpp.messages
from ocpp.messages import Call

ACTION = "SendLocalList"
# a CALL of this action, with a message id the library accepts; the frame is read whole only past this
_FRAME = re.compile(r'\s*\[\s*2\s*,\s*"[^"\\]{1,36}"\s*,\s*"SendLocalList"\s*,')
_ENTRY_KEYS = frozenset({"idTag", "idTagInfo"})
_ENTRY_KEYS_201 = frozenset({"idToken", "idTokenInfo", "customData"})


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


class ListEntry201(NamedTuple):
    """One entry of a 2.0.1 local list (AuthorizationData), as the CSMS sent it, checked against the schema."""

    token: str
    token_type: str
    status: str | None  # None: no idTokenInfo (a differential update removes the token)
    group: str | None = None
    group_type: str | None = None
    expiry: str | None = None


class CheckedCall(Call):
    """A CALL whose payload was checked against its version's schema while it was read."""


@cache
def compiled_schema(action: str, result: bool, version: str = "v16") -> Any:
    """The library's own schema for a call (or its result), compiled by fastjsonschema (~20x jsonschema).

    Formats are not checked, as the library does not check them either: a date-time without an
    offset is valid 1.6 for it and is read as UTC by the contract.
    """
    return _compile(_schema(action, result, version))


@cache
def _entry_schema(version: str = "v16") -> Any:
    schema = _schema(ACTION, result=False, version=version)
    return _compile({"definitions": schema.get("definitions", {}),
                     **schema["properties"]["localAuthorizationList"]["items"]})


def _schema(action: str, result: bool, version: str = "v16") -> dict[str, Any]:
    folder = os.path.join(os.path.dirname(os.path.realpath(ocpp.messages.__file__)), version, "schemas")
    suffix = "Response" if result else ("Request" if version == "v201" else "")  # 2.0.1 names its requests
    with open(os.path.join(folder, f"{action}{suffix}.json"), encoding="utf-8-sig") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


def _compile(schema: dict[str, Any]) -> Any:
    return fastjsonschema.compile(schema, formats={"date-time": lambda _value: True})


def warm_up() -> None:
    compiled_schema(ACTION, result=False)
    compiled_schema(ACTION, result=True)
    _entry_schema()


def _is_entry_16(obj: dict[str, Any]) -> bool:
    # not an idTagInfo (read by its entry next), the payload, or something the checks refuse
    return "idTag" in obj and obj.keys() <= _ENTRY_KEYS


def _entry_16(obj: dict[str, Any], shared: Callable[[Any], Any]) -> ListEntry:
    info = obj.get("idTagInfo")
    if info is None:
        return ListEntry(obj["idTag"], None)
    return ListEntry(obj["idTag"], shared(info["status"]), shared(info.get("parentIdTag")),
                     shared(info.get("expiryDate")))


def _is_entry_201(obj: dict[str, Any]) -> bool:
    # not an IdToken (its idToken is text), an idTokenInfo, the payload, or something the checks refuse
    return isinstance(obj.get("idToken"), dict) and obj.keys() <= _ENTRY_KEYS_201


def _entry_201(obj: dict[str, Any], shared: Callable[[Any], Any]) -> ListEntry201:
    token, info = obj["idToken"], obj.get("idTokenInfo")
    if info is None:
        return ListEntry201(token["idToken"], shared(token["type"]), None)
    group = info.get("groupIdToken") or {}
    return ListEntry201(token["idToken"], shared(token["type"]), shared(info["status"]), shared(group.get("idToken")),
                        shared(group.get("type")), shared(info.get("cacheExpiryDateTime")))


# per version: is a JSON object an entry, and the entry it is once checked
READERS: dict[str, tuple[Callable[[dict[str, Any]], bool], Callable[..., Any], type]] = {
    "v16": (_is_entry_16, _entry_16, ListEntry), "v201": (_is_entry_201, _entry_201, ListEntry201)}


def read(raw: str | bytes, version: str = "v16") -> CheckedCall | None:
    """The SendLocalList CALL in `raw` with its entries as ListEntry (1.6) or ListEntry201 tuples, or None for any
    other frame."""
    if not isinstance(raw, str) or _FRAME.match(raw) is None:
        return None
    is_entry, make, kind = READERS[version]
    check = _entry_schema(version)
    broken = False
    strings: dict[str, str] = {}  # one string object for the statuses, groups and dates many entries share

    def shared(value: Any) -> Any:
        return value if not isinstance(value, str) else strings.setdefault(value, value)

    def entry(obj: dict[str, Any]) -> Any:
        nonlocal broken
        if not is_entry(obj):
            return obj
        try:
            check(obj)
        except fastjsonschema.JsonSchemaException:
            broken = True
            return obj
        return make(obj, shared)

    try:
        frame = json.loads(raw, object_hook=entry)
    except ValueError:
        return None
    if broken or not isinstance(frame, list) or len(frame) != 4 or not isinstance(frame[3], dict):
        return None
    payload: dict[str, Any] = frame[3]
    entries = payload.get("localAuthorizationList", [])
    if not isinstance(entries, list) or any(type(e) is not kind for e in entries):
        return None
    # the rest of the payload, where an entry tuple is no valid value (an empty list stays: 2.0.1 refuses one)
    rest = {key: value for key, value in payload.items() if key != "localAuthorizationList" or not value}
    try:
        compiled_schema(ACTION, result=False, version=version)(rest)
    except fastjsonschema.JsonSchemaException:
        return None
    return CheckedCall(frame[1], ACTION, payload)

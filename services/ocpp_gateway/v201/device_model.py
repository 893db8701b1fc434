"""The device model's rules, pure: GetVariables, SetVariables and the base reports, over the declared variables
(`variables.py`), the values stored and the values the station knows now. No bus, no database, no clock: the
gateway persists a change it is given back and publishes its station setting, as for a 1.6 key.

Names of components and variables are compared without case (OCPP 2.0.1 CiString). This station keeps one
attribute of each variable, Actual; asking for another is NotSupportedAttributeType. Requests and results are
the `ocpp` library's snake_case dicts, as its handlers take and return them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ocpp.v201.enums import AttributeEnumType as Attribute
from ocpp.v201.enums import DataEnumType as Data
from ocpp.v201.enums import GetVariableStatusEnumType as GetStatus
from ocpp.v201.enums import ReportBaseEnumType as ReportBase
from ocpp.v201.enums import SetVariableStatusEnumType as SetStatus

from services.common.contract.station_settings import DEFAULTS, Setting, SettingValueType

from ..keys import measurands_of
from .variables import RO, RW, VARIABLES, WO, Var

MAX_VALUE_LENGTH = 1000  # SetVariableDataType.attributeValue
Request = Mapping[str, Any]


class BadValue(ValueError):
    """The value does not fit the variable (SetVariables answers Rejected, with why)."""


@dataclass(frozen=True)
class Change:
    """A value SetVariables accepted, for the gateway to store and to act on."""

    var: Var
    value: str


def check(var: Var, value: str) -> str:
    """The value as it is stored, or BadValue: typed as declared, within its limits and its list."""
    if len(value) > MAX_VALUE_LENGTH:
        raise BadValue(f"at most {MAX_VALUE_LENGTH} characters")
    kind = var.data_type
    if kind is Data.boolean:
        if value.lower() not in ("true", "false"):
            raise BadValue("expects true or false")
        return value.lower()
    if kind in (Data.integer, Data.decimal):
        return _number(var, value)
    if kind is Data.date_time:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise BadValue("expects a date and time (RFC 3339)") from None
        return value
    if kind is Data.string:
        low, high = int(var.min_limit or 0), int(var.max_limit or MAX_VALUE_LENGTH)
        if not low <= len(value) <= high or not value.isprintable():
            raise BadValue(f"expects {low} to {high} printable characters")
        return value
    return _listed(var, value)


def _number(var: Var, value: str) -> str:
    try:
        number = int(value) if var.data_type is Data.integer else float(value)
    except ValueError:
        raise BadValue(f"expects {'a whole number' if var.data_type is Data.integer else 'a number'}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise BadValue("expects a finite number")
    if (var.min_limit is not None and number < var.min_limit) or (var.max_limit is not None and number > var.max_limit):
        raise BadValue(f"expects {_limit(var.min_limit)}..{_limit(var.max_limit)}")
    return str(number)


def _limit(limit: float | None) -> str:
    return "" if limit is None else f"{limit:g}"


def _listed(var: Var, value: str) -> str:
    items = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in items if var.values is not None and item not in var.values]
    if unknown:
        raise BadValue(f"{', '.join(unknown)} not among {', '.join(var.values or ())}")
    if var.data_type is Data.option_list:
        if len(items) != 1:
            raise BadValue("expects one value")
    elif len(set(items)) != len(items):
        raise BadValue("a value twice")
    return ",".join(items)


def setting_value(var: Var, value: str) -> SettingValueType:
    """A variable's value as its station setting takes it (a flag, a number, measurands or units)."""
    assert var.setting is not None, var.path
    default = DEFAULTS[var.setting]
    if isinstance(default, bool):
        return value == "true"
    if isinstance(default, int):
        return int(value)
    if var.setting is Setting.SCHEDULE_UNITS:
        return [unit for unit in value.split(",") if unit]
    return [m.value for m in measurands_of(value)]


def capacities(variables: Sequence[Var] = VARIABLES) -> dict[Setting, SettingValueType]:
    """The station settings that the greatest values of variables set (the local list's capacity, ...)."""
    return {v.max_setting: int(v.max_limit) for v in variables if v.max_setting is not None and v.max_limit}


class DeviceModel:
    """The variables of this station with their values: stored ones over the declared defaults, and `live`
    ones asked of the station when they are read."""

    def __init__(self, stored: Mapping[str, str], live: Callable[[Var], str],
                 variables: Sequence[Var] = VARIABLES) -> None:
        self.variables = tuple(variables)
        self._stored = dict(stored)
        self._live = live
        self._components = {_component_key(v.component, v.evse, v.connector) for v in self.variables}
        self._by_key = {(_component_key(v.component, v.evse, v.connector), v.name.casefold(),
                         (v.instance or "").casefold()): v for v in self.variables}

    def value(self, var: Var) -> str:
        if var.live:
            return self._live(var)
        if var.mutability is RO:
            return var.default  # what an older version stored while it was writable does not count
        return self._stored.get(var.path, var.default)

    def find(self, request: Request) -> Var | GetStatus:
        component, variable = request["component"], request["variable"]
        evse = component.get("evse") or {}
        where = _component_key(component["name"], evse.get("id"), evse.get("connector_id"))
        if component.get("instance") or where not in self._components:
            return GetStatus.unknown_component
        found = self._by_key.get((where, variable["name"].casefold(), (variable.get("instance") or "").casefold()))
        return found if found is not None else GetStatus.unknown_variable

    def get(self, request: Request) -> dict[str, Any]:
        """One GetVariableResult."""
        result = _echo(request)
        found = self.find(request)
        if not isinstance(found, Var):
            return result | {"attribute_status": found}
        if request.get("attribute_type", Attribute.actual) != Attribute.actual:
            return result | {"attribute_status": GetStatus.not_supported_attribute_type}
        if found.mutability is WO:
            return result | _info(GetStatus.rejected, "WriteOnly", "this variable is never read back")
        return result | {"attribute_status": GetStatus.accepted, "attribute_value": self.value(found)}

    def set(self, request: Request, vetoed: Callable[[Var, str], str | None] = lambda _v, _value: None
            ) -> tuple[dict[str, Any], Change | None]:
        """One SetVariableResult, and the change to store when it is Accepted (or RebootRequired). `vetoed` is
        the rest of the station's rule for a value: why it is refused, or None."""
        result = _echo(request)
        found = self.find(request)
        if not isinstance(found, Var):
            return result | {"attribute_status": SetStatus(found.value)}, None
        if request.get("attribute_type", Attribute.actual) != Attribute.actual:
            return result | {"attribute_status": SetStatus.not_supported_attribute_type}, None
        if found.mutability is RO:
            return result | _info(SetStatus.rejected, "ReadOnly", "this station does not change it"), None
        try:
            value = check(found, request["attribute_value"])
        except BadValue as exc:
            return result | _info(SetStatus.rejected, "InvalidValue", str(exc)), None
        why = vetoed(found, value)
        if why is not None:
            return result | _info(SetStatus.rejected, "InvalidValue", why), None
        self._stored[found.path] = value
        status = SetStatus.reboot_required if found.reboot else SetStatus.accepted
        return result | {"attribute_status": status}, Change(found, value)

    def report(self, base: ReportBase) -> list[dict[str, Any]]:
        """The ReportData of a base report; empty for a base this station has nothing in."""
        if base is ReportBase.configuration_inventory:
            chosen = [v for v in self.variables if v.mutability in (RW, WO)]
        elif base is ReportBase.summary_inventory:
            # what a CSMS needs to see at a glance: whether the station, each EVSE and connector can charge
            chosen = [v for v in self.variables if v.name in ("AvailabilityState", "Available")
                      and v.component in ("ChargingStation", "EVSE", "Connector")]
        else:
            chosen = list(self.variables)
        return [self._report_data(v) for v in chosen]

    def _report_data(self, var: Var) -> dict[str, Any]:
        attribute: dict[str, Any] = {"type": Attribute.actual, "mutability": var.mutability,
                                     "persistent": not var.live, "constant": var.mutability is RO and not var.live}
        if var.mutability is not WO:
            attribute["value"] = self.value(var)
        characteristics: dict[str, Any] = {"data_type": var.data_type, "supports_monitoring": False}
        for name, given in (("unit", var.unit), ("min_limit", var.min_limit), ("max_limit", var.max_limit)):
            if given is not None:
                characteristics[name] = given
        if var.values is not None:
            characteristics["values_list"] = ",".join(var.values)
        return {"component": _component(var), "variable": _variable(var), "variable_attribute": [attribute],
                "variable_characteristics": characteristics}


def parts(report: Sequence[dict[str, Any]], per_part: int) -> Iterator[tuple[int, bool, list[dict[str, Any]]]]:
    """A report cut into NotifyReport parts: (seqNo, tbc, reportData), the last one with tbc false."""
    count = max(1, math.ceil(len(report) / per_part))
    for seq_no in range(count):
        yield seq_no, seq_no < count - 1, list(report[seq_no * per_part:(seq_no + 1) * per_part])


def set_request(var: Var, value: str) -> dict[str, Any]:
    """The SetVariableData that sets `var` to `value`, as a CSMS would send it."""
    return {"component": _component(var), "variable": _variable(var), "attribute_value": value}


def _component_key(name: str, evse: int | None, connector: int | None) -> tuple[str, int | None, int | None]:
    return name.casefold(), evse, connector


def _component(var: Var) -> dict[str, Any]:
    out: dict[str, Any] = {"name": var.component}
    if var.evse is not None:
        out["evse"] = {"id": var.evse} | ({} if var.connector is None else {"connector_id": var.connector})
    return out


def _variable(var: Var) -> dict[str, Any]:
    return {"name": var.name} | ({} if var.instance is None else {"instance": var.instance})


def _echo(request: Request) -> dict[str, Any]:
    """The component, variable and attribute type a result names: the request's own."""
    out = {"component": request["component"], "variable": request["variable"]}
    if "attribute_type" in request:
        out["attribute_type"] = request["attribute_type"]
    return out


def _info(status: GetStatus | SetStatus, reason: str, why: str) -> dict[str, Any]:
    return {"attribute_status": status, "attribute_status_info": {"reason_code": reason, "additional_info": why}}

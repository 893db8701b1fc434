"""The 2.0.1 device model's rules, every answer checked against the OCPP 2.0.1 JSON schemas of the `ocpp`
library as it would go to the CSMS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ocpp.v201
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.contract.station_settings import DEFAULTS, Setting
from services.ocpp_gateway.keys import KEYS
from services.ocpp_gateway.v201.device_model import (
    DeviceModel,
    capacities,
    check,
    parts,
    set_request,
    setting_value,
)
from services.ocpp_gateway.v201.variables import RO, RW, VARIABLES, WO, Var, markdown_rows

from .wire import valid


def live(var: Var) -> str:
    return {"AvailabilityState": "Occupied", "Available": "true", "Identity": "CB0000001",
            "DateTime": "2026-12-05T15:00:00+00:00", "Power": "48000.0"}.get(var.name, "2")


def model(**stored: str) -> DeviceModel:
    return DeviceModel(stored, live)


def ask(component: str, variable: str, **more: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"component": {"name": component}, "variable": {"name": variable}}
    for key, value in more.items():
        if key in ("evse", "component_instance"):
            request["component"]["evse" if key == "evse" else "instance"] = value
        elif key == "instance":
            request["variable"]["instance"] = value
        else:
            request[key] = value
    return request


def get(dm: DeviceModel, *requests: dict[str, Any]) -> list[dict[str, Any]]:
    valid("GetVariablesRequest", {"get_variable_data": list(requests)})
    results = [dm.get(r) for r in requests]
    return valid("GetVariablesResponse", {"get_variable_result": results})["getVariableResult"]


def put(dm: DeviceModel, *requests: dict[str, Any]) -> list[dict[str, Any]]:
    valid("SetVariablesRequest", {"set_variable_data": list(requests)})
    results = [dm.set(r)[0] for r in requests]
    return valid("SetVariablesResponse", {"set_variable_result": results})["setVariableResult"]


def test_every_variable_is_declared_once_with_a_default_that_fits_it() -> None:
    assert len({v.path for v in VARIABLES}) == len(VARIABLES)
    for var in VARIABLES:
        if var.mutability is not WO and not var.live:
            assert check(var, var.default) == var.default, var.path


def test_the_2_0_1_variables_set_every_station_setting_the_1_6_keys_set() -> None:
    by_keys = {k.setting for k in KEYS if k.setting is not None}
    by_variables = {v.setting for v in VARIABLES if v.setting is not None} | set(capacities())
    # a 1.6 interoperability switch: an Absolute profile without startSchedule, which 2.0.1 requires to carry one
    assert by_keys - by_variables == {Setting.UNDATED_ABSOLUTE_FROM_SESSION_START}
    for var in VARIABLES:
        if var.setting is not None and not var.live:  # the defaults agree with the settings' own
            assert setting_value(var, var.default) == DEFAULTS[var.setting], var.path
    assert capacities() == {Setting.LOCAL_LIST_CAPACITY: 9999, Setting.MAX_INSTALLED_LIMITS: 10}


def test_get_variables_answers_values_and_says_why_not() -> None:
    dm = model(**{"OCPPCommCtrlr.HeartbeatInterval": "120"})
    results = get(dm, ask("OCPPCommCtrlr", "HeartbeatInterval"),
                  ask("ocppcommctrlr", "heartbeatinterval", attribute_type="Actual"),  # names without case
                  ask("OCPPCommCtrlr", "MessageAttempts", instance="TransactionEvent"),
                  ask("EVSE", "AvailabilityState", evse={"id": 1}),
                  ask("Connector", "AvailabilityState", evse={"id": 1, "connector_id": 1}),
                  ask("NoSuchCtrlr", "HeartbeatInterval"),
                  ask("EVSE", "AvailabilityState", evse={"id": 2}),  # no second EVSE
                  ask("OCPPCommCtrlr", "HeartbeatInterval", component_instance="Second"),
                  ask("OCPPCommCtrlr", "NoSuchVariable"),
                  ask("OCPPCommCtrlr", "MessageAttempts"),  # its instance is part of its name
                  ask("OCPPCommCtrlr", "HeartbeatInterval", attribute_type="MaxSet"),
                  ask("SecurityCtrlr", "BasicAuthPassword"))
    assert [(r["attributeStatus"], r.get("attributeValue")) for r in results] == [
        ("Accepted", "120"), ("Accepted", "120"), ("Accepted", "3"), ("Accepted", "Occupied"),
        ("Accepted", "Occupied"), ("UnknownComponent", None), ("UnknownComponent", None),
        ("UnknownComponent", None), ("UnknownVariable", None), ("UnknownVariable", None),
        ("NotSupportedAttributeType", None), ("Rejected", None)]
    assert results[-1]["attributeStatusInfo"]["reasonCode"] == "WriteOnly"  # a password is never read back


def test_a_read_only_variable_has_its_declared_value_whatever_was_stored() -> None:
    dm = model(**{"TxCtrlr.TxStartPoint": "EVConnected"})
    assert get(dm, ask("TxCtrlr", "TxStartPoint"))[0]["attributeValue"] == "PowerPathClosed"


def test_set_variables_changes_what_the_station_lets_change_and_refuses_the_rest() -> None:
    dm = model()
    results = put(dm, ask("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="600"),
                  ask("SampledDataCtrlr", "TxUpdatedMeasurands", attribute_value="Energy.Active.Import.Register, SoC"),
                  ask("SecurityCtrlr", "BasicAuthPassword", attribute_value="0123456789abcdef"),
                  ask("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="0"),  # below its minimum
                  ask("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="soon"),
                  ask("SampledDataCtrlr", "TxUpdatedMeasurands", attribute_value="Temperature"),
                  ask("TxCtrlr", "TxStartPoint", attribute_value="EVConnected"),  # this station starts one way
                  ask("AuthCtrlr", "OfflineTxForUnknownIdEnabled", attribute_value="true"),  # PICS C-02 No
                  ask("SecurityCtrlr", "BasicAuthPassword", attribute_value="short"),
                  ask("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="600", attribute_type="Target"),
                  ask("NoSuchCtrlr", "Anything", attribute_value="1"),
                  ask("AuthCtrlr", "NoSuchVariable", attribute_value="1"))
    assert [r["attributeStatus"] for r in results] == [
        "Accepted", "Accepted", "Accepted", "Rejected", "Rejected", "Rejected", "Rejected", "Rejected", "Rejected",
        "NotSupportedAttributeType", "UnknownComponent", "UnknownVariable"]
    assert [r.get("attributeStatusInfo", {}).get("reasonCode") for r in results[3:9]] == [
        "InvalidValue", "InvalidValue", "InvalidValue", "ReadOnly", "ReadOnly", "InvalidValue"]
    assert [r["attributeValue"] for r in get(dm, ask("OCPPCommCtrlr", "HeartbeatInterval"),
                                             ask("SampledDataCtrlr", "TxUpdatedMeasurands"))] == [
        "600", "Energy.Active.Import.Register,SoC"]  # the refused ones changed nothing


def test_an_accepted_value_is_handed_back_to_be_stored_and_sets_its_setting() -> None:
    dm = model()
    _result, change = dm.set(ask("SampledDataCtrlr", "TxUpdatedInterval", attribute_value="15"))
    assert change is not None and change.var.path == "SampledDataCtrlr.TxUpdatedInterval" and change.value == "15"
    assert change.var.setting is Setting.SAMPLE_INTERVAL_S and setting_value(change.var, change.value) == 15
    _result, refused = dm.set(ask("SampledDataCtrlr", "TxUpdatedInterval", attribute_value="-1"))
    assert refused is None
    # stored under its path, it is what a restarted gateway reads again
    assert get(model(**{change.var.path: change.value}), ask("SampledDataCtrlr", "TxUpdatedInterval"))[0][
        "attributeValue"] == "15"


@given(st.sampled_from([v for v in VARIABLES if v.mutability is RW]), st.text(max_size=60))
def test_whatever_a_csms_sets_is_stored_as_read_back_or_refused_without_a_trace(var: Var, value: str) -> None:
    dm = model()
    request = set_request(var, value)
    before = dm.get(request)["attribute_value"]
    result, change = dm.set(request)
    after = dm.get(request)["attribute_value"]
    if change is None:
        assert result["attribute_status"] == "Rejected" and after == before
    else:
        assert result["attribute_status"] == "Accepted" and after == change.value == check(var, change.value)
        if var.setting is not None:
            assert type(setting_value(var, after)) is type(DEFAULTS[var.setting])


@pytest.mark.parametrize("base", ["FullInventory", "ConfigurationInventory", "SummaryInventory"])
def test_base_reports_are_valid_notify_reports_in_parts(base: str) -> None:
    dm = model(**{"OCPPCommCtrlr.HeartbeatInterval": "120"})
    report = dm.report(ocpp.v201.enums.ReportBaseEnumType(base))
    sent = [valid("NotifyReportRequest", {"request_id": 7, "generated_at": "2026-12-05T15:00:00+00:00",
                                          "tbc": tbc, "seq_no": seq_no, "report_data": data})
            for seq_no, tbc, data in parts(report, 20)]
    assert [m["seqNo"] for m in sent] == list(range(len(sent))) and [m["tbc"] for m in sent][-1] is False
    assert all(m["tbc"] for m in sent[:-1]) and sum(len(m["reportData"]) for m in sent) == len(report)
    entries = {(d["component"]["name"], d["variable"]["name"]): d for m in sent for d in m["reportData"]}
    if base == "FullInventory":
        assert len(report) == len(VARIABLES)
        assert entries[("OCPPCommCtrlr", "HeartbeatInterval")]["variableAttribute"] == [
            {"type": "Actual", "value": "120", "mutability": "ReadWrite", "persistent": True, "constant": False}]
        assert entries[("TxCtrlr", "TxStartPoint")]["variableCharacteristics"]["valuesList"].startswith(
            "ParkingBayOccupancy,")
    elif base == "ConfigurationInventory":
        assert {d["variableAttribute"][0]["mutability"] for d in entries.values()} == {"ReadWrite", "WriteOnly"}
        assert "value" not in entries[("SecurityCtrlr", "BasicAuthPassword")]["variableAttribute"][0]
    else:
        assert set(entries) == {(c, v) for c in ("ChargingStation", "EVSE", "Connector")
                                for v in ("AvailabilityState", "Available")}
        assert entries[("EVSE", "AvailabilityState")]["variableAttribute"][0]["value"] == "Occupied"


def test_read_only_declarations_are_constant_and_live_ones_are_not_persistent() -> None:
    for data in model().report(ocpp.v201.enums.ReportBaseEnumType.full_inventory):
        attribute = data["variable_attribute"][0]
        var = next(v for v in VARIABLES if v.component == data["component"]["name"]
                   and v.name == data["variable"]["name"] and v.instance == data["variable"].get("instance")
                   and v.evse == data["component"].get("evse", {}).get("id")
                   and v.connector == data["component"].get("evse", {}).get("connector_id"))
        assert attribute["constant"] is (var.mutability is RO and not var.live)
        assert attribute["persistent"] is not var.live


def test_the_documented_device_model_is_the_declared_one() -> None:
    doc = (Path(__file__).parents[4] / "docs" / "ocpp201.md").read_text()
    table = [line for line in doc.splitlines() if line.startswith("| component |")]
    assert table, "docs/ocpp201.md has no device model table"
    start = doc.splitlines().index(table[0])
    rows = doc.splitlines()[start:start + len(markdown_rows())]
    assert rows == markdown_rows(), "regenerate the table from variables.markdown_rows()"

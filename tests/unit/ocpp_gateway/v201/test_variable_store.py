"""The device model's executor against a real SQLite file and a real broker: what SetVariables accepted is on
disk before the answer and on the bus after it; a refused value leaves no trace."""

from __future__ import annotations

from pathlib import Path

from services.common.bus import Bus
from services.common.contract.common import ConfigValue
from services.common.contract.station_settings import SettingValue
from services.common.db import open_engine
from services.common.settings import Settings
from services.ocpp_gateway.service import MIGRATIONS
from services.ocpp_gateway.v201.variable_store import VariableStore
from services.ocpp_gateway.v201.variables import Var
from tests.system.stack import Observer


def live(var: Var) -> str:
    return {"AvailabilityState": "Available", "Available": "true", "Identity": "CB0000001",
            "DateTime": "2026-12-05T15:00:00+00:00"}.get(var.name, "0")


def ask(component: str, variable: str, value: str, instance: str | None = None) -> dict[str, object]:
    return {"component": {"name": component}, "variable": {"name": variable} | ({"instance": instance} if instance
                                                                               else {}), "attribute_value": value}


async def test_accepted_values_are_kept_and_published_and_refused_ones_are_not(settings: Settings,
                                                                               tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "ocpp_gateway.sqlite", MIGRATIONS)
    bus = Bus(settings, "ocpp_gateway", persistent=False)
    async with Observer(settings, login=False) as observer:
        await bus.start(5)
        try:
            store = VariableStore(engine, bus, live)
            store.publish_all()
            await observer.wait(lambda: observer.get("chargebus/settings/local_list_capacity"), what="capacities")
            assert observer.get("chargebus/settings/local_list_capacity") == SettingValue(
                name="local_list_capacity", value=9999)
            assert observer.get("chargebus/settings/sample_interval_s").value == 60
            results = store.set_variables([
                ask("SampledDataCtrlr", "TxUpdatedInterval", "15"),
                ask("OCPPCommCtrlr", "MessageAttempts", "5", instance="TransactionEvent"),
                ask("SecurityCtrlr", "BasicAuthPassword", "a-secret-of-24-characters"),
                ask("OCPPCommCtrlr", "HeartbeatInterval", "0"),
                ask("TxCtrlr", "TxStartPoint", "EVConnected")])
            assert [r["attribute_status"] for r in results] == ["Accepted", "Accepted", "Accepted", "Rejected",
                                                                "Rejected"]
            # on disk already, before anything is announced: a new store on the same file reads them
            again = VariableStore(open_engine(tmp_path / "ocpp_gateway.sqlite", MIGRATIONS), bus, live)
            assert [again.get_variables([ask(c, v, "", i)])[0]["attribute_value"] for c, v, i in (
                ("SampledDataCtrlr", "TxUpdatedInterval", None),
                ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"), ("OCPPCommCtrlr", "HeartbeatInterval", None),
                ("TxCtrlr", "TxStartPoint", None))] == [
                "15", "5", "300", "PowerPathClosed"]
            assert observer.get("chargebus/settings/sample_interval_s").value == 60  # not announced yet
            await store.announce()
            attempts = "chargebus/config/OCPPCommCtrlr.MessageAttempts:TransactionEvent"
            await observer.wait(lambda: observer.get(attempts).value == "5", what="the announced changes")
            assert observer.get(attempts) == ConfigValue(key=attempts.removeprefix("chargebus/config/"), value="5",
                                                         readonly=False)
            assert observer.get("chargebus/settings/sample_interval_s").value == 15  # announced before it
            assert observer.get("chargebus/config/TxCtrlr.TxStartPoint") == ConfigValue(
                key="TxCtrlr.TxStartPoint", value="PowerPathClosed", readonly=True)
            # the password went nowhere but the database
            assert not any("BasicAuthPassword" in topic for topic in observer.latest)
            assert not any("a-secret-of-24" in repr(payload) for payload in observer.latest.values())
        finally:
            await bus.stop()

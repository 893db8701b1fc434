"""The 2.0.1 device model's executor: the values SetVariables accepted, durable in the gateway's SQLite file
before the answer, and on the bus after it (as for a 1.6 key, `config_store.py`).

A variable with a station setting is published converted as `chargebus/settings/<name>`, which the other
services act on; every variable the CSMS may read is shown as `chargebus/config/<path>` (the status page,
diagnostics archives, `chargebus config get`). The rules are `device_model.py`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ocpp.v201.enums import ReportBaseEnumType as ReportBase
from sqlalchemy import Engine, text

from services.common.bus import Bus
from services.common.contract.common import CONFIG, ConfigValue
from services.common.contract.station_settings import SETTING, SettingValue
from services.common.db import write_now

from .device_model import Change, DeviceModel, Request, capacities, setting_value
from .variables import RO, VARIABLES, WO, Var

log = logging.getLogger(__name__)


class VariableStore:
    def __init__(self, engine: Engine, bus: Bus, live: Callable[[Var], str],
                 variables: Sequence[Var] = VARIABLES) -> None:
        self._engine = engine
        self._bus = bus
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT path, value FROM variables")).tuples().all())
        self.model = DeviceModel(stored, live, variables)
        self._unannounced: list[Change] = []

    def publish_all(self) -> None:
        """Every setting and every readable value, as they are now (after a start, a reconnect)."""
        for var in self.model.variables:
            self._publish(var, self.model.value(var))
        for setting, value in capacities(self.model.variables).items():
            self._bus.publish(SETTING, SettingValue(name=setting, value=value), name=setting.value)

    def get_variables(self, requests: Sequence[Request]) -> list[dict[str, Any]]:
        return [self.model.get(r) for r in requests]

    def set_variables(self, requests: Sequence[Request]) -> list[dict[str, Any]]:
        """The results, each accepted value on disk before this returns; `announce()` tells the bus, once the
        answer is out. Nothing of a refused value is kept."""
        results = []
        for request in requests:
            result, change = self.model.set(request)
            if change is not None:
                write_now(self._engine, "INSERT INTO variables (path, value) VALUES (?, ?) "
                          "ON CONFLICT (path) DO UPDATE SET value = excluded.value", (change.var.path, change.value))
                self._unannounced.append(change)
            else:
                log.info("variable not set component=%s variable=%s status=%s", request["component"].get("name"),
                         request["variable"].get("name"), result["attribute_status"])
            results.append(result)
        return results

    def announce(self) -> None:
        """Publish and log the changes `set_variables` accepted (called once the answer has been sent)."""
        while self._unannounced:
            change = self._unannounced.pop(0)
            self._publish(change.var, change.value)
            log.info("variable changed path=%s value=%r", change.var.path,
                     "(secret)" if change.var.mutability is WO else change.value)

    def report(self, base: ReportBase) -> list[dict[str, Any]]:
        return self.model.report(base)

    def value(self, var: Var) -> str:
        return self.model.value(var)

    def _publish(self, var: Var, value: str) -> None:
        if var.setting is not None:
            self._bus.publish(SETTING, SettingValue(name=var.setting, value=setting_value(var, value)),
                              name=var.setting.value)
        if var.mutability is WO or var.live:
            return  # a password is never shown; a live value would be stale the moment it is published
        self._bus.publish(CONFIG, ConfigValue(key=var.path, value=value, readonly=var.mutability is RO), key=var.path)

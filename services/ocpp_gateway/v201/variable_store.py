"""The 2.0.1 device model's executor: the values SetVariables accepted, durable in the gateway's SQLite file
before the answer, and on the bus after it (as for a 1.6 key, `config_store.py`).

A variable with a station setting is published converted as `chargebus/settings/<name>`, which the other
services act on; every variable the CSMS may read is shown as `chargebus/config/<path>` (the status page,
diagnostics archives, `chargebus config get`). The rules are `device_model.py`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ocpp.v201.enums import ReportBaseEnumType as ReportBase
from sqlalchemy import Engine, text

from services.common.bus import Bus
from services.common.contract.common import CONFIG, ConfigValue
from services.common.contract.station_settings import SETTING, SettingValue
from services.common.db import write_now

from .device_model import Change, DeviceModel, Request, capacities, set_request, setting_value
from .variables import RO, VARIABLES, WO, Var

log = logging.getLogger(__name__)


class VariableStore:
    """Also the link's configuration (`link.LinkConfig`), a variable named by its path."""

    def __init__(self, engine: Engine, bus: Bus, live: Callable[[Var], str],
                 variables: Sequence[Var] = VARIABLES,
                 refresh: Callable[[set[str] | None], Awaitable[None]] | None = None) -> None:
        """`refresh(components)`: before live values of these components (lower case; None: all) are read."""
        self._refresh = refresh
        self._engine = engine
        self._bus = bus
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT path, value FROM variables")).tuples().all())
        self.model = DeviceModel(stored, live, variables)
        self._by_path = {v.path: v for v in self.model.variables}
        self._unannounced: list[Change] = []
        self._listeners: dict[str, list[Callable[[str], Awaitable[None]]]] = {}
        self._vetoes: dict[str, list[Callable[[str], str | None]]] = {}
        self._revisions: dict[str, int] = {}

    # -- the link's configuration --------------------------------------------------------------------------

    def has(self, path: str) -> bool:
        return path in self._by_path

    def get(self, path: str) -> str:
        return self.model.value(self._by_path[path])

    def get_int(self, path: str) -> int:
        return int(self.get(path))

    def get_bool(self, path: str) -> bool:
        return self.get(path) == "true"

    def revision(self, path: str) -> int:
        """How many times the variable changed since start: tells a caller whether someone changed it meanwhile."""
        return self._revisions.get(path, 0)

    def on_change(self, path: str, callback: Callable[[str], Awaitable[None]]) -> None:
        """`callback(value)` after each accepted change, once the answer to it is out."""
        self._listeners.setdefault(path, []).append(callback)

    def veto(self, path: str, rule: Callable[[str], str | None]) -> None:
        """Another part of the gateway's rule for a variable: why a new value is refused, or None."""
        self._vetoes.setdefault(path, []).append(rule)

    async def change(self, path: str, value: str) -> bool:
        """A change the station makes itself (the heartbeat interval a boot answer gives): as a SetVariables of
        it would be, announced at once."""
        accepted = self.set_variables([set_request(self._by_path[path], value)])[0]["attribute_status"] == "Accepted"
        await self.announce()
        return accepted

    def publish_all(self) -> None:
        """Every setting and every readable value, as they are now (after a start, a reconnect)."""
        for var in self.model.variables:
            self._publish(var, self.model.value(var))
        for setting, value in capacities(self.model.variables).items():
            self._bus.publish(SETTING, SettingValue(name=setting, value=value), name=setting.value)

    async def refresh_live(self, requests: Sequence[Request] | None) -> None:
        """Before a GetVariables of `requests` or a report (None) is answered: live values counted elsewhere."""
        if self._refresh is not None:
            await self._refresh(None if requests is None else {
                str(r.get("component", {}).get("name", "")).lower() for r in requests})

    def get_variables(self, requests: Sequence[Request]) -> list[dict[str, Any]]:
        return [self.model.get(r) for r in requests]

    def set_variables(self, requests: Sequence[Request]) -> list[dict[str, Any]]:
        """The results, each accepted value on disk before this returns; `announce()` tells the bus, once the
        answer is out. Nothing of a refused value is kept."""
        results = []
        for request in requests:
            result, change = self.model.set(request, self._vetoed)
            if change is not None:
                write_now(self._engine, "INSERT INTO variables (path, value) VALUES (?, ?) "
                          "ON CONFLICT (path) DO UPDATE SET value = excluded.value", (change.var.path, change.value))
                self._unannounced.append(change)
            else:
                log.info("variable not set component=%s variable=%s status=%s", request["component"].get("name"),
                         request["variable"].get("name"), result["attribute_status"])
            results.append(result)
        return results

    def _vetoed(self, var: Var, value: str) -> str | None:
        return next((why for rule in self._vetoes.get(var.path, []) if (why := rule(value)) is not None), None)

    async def announce(self) -> None:
        """Publish and log the changes `set_variables` accepted, then tell their listeners (called once the answer
        has been sent: a listener may close the connection it went out on)."""
        while self._unannounced:
            change = self._unannounced.pop(0)
            path = change.var.path
            self._revisions[path] = self._revisions.get(path, 0) + 1
            self._publish(change.var, change.value)
            log.info("variable changed path=%s value=%r", path, "(secret)" if change.var.mutability is WO
                     else change.value)
            for listener in self._listeners.get(path, []):
                await listener(change.value)

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

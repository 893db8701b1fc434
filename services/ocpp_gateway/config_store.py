"""The configuration key store: SQLite first, then the retained copies on the bus.

The gateway owns the keys. A key that sets a station setting is published converted as
`chargebus/settings/<name>`, which the other services read, so a ChangeConfiguration takes effect in them as
soon as it is published; every key readable by the CSMS is also shown as `chargebus/config/<Key>` (for the
status page, diagnostics and `chargebus config get`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from sqlalchemy import Engine, text

from services.common.bus import Bus
from services.common.contract.common import CONFIG, ConfigValue
from services.common.contract.station_settings import SETTING, SettingValue
from services.common.db import write_now

from .keys import BY_NAME, KEYS, BadValue, setting_value

log = logging.getLogger(__name__)

_BY_FOLDED = {k.name.casefold(): k for k in KEYS}  # keys are CiString50: compared without case


class Change(StrEnum):
    """ConfigurationStatus of ChangeConfiguration.conf."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_SUPPORTED = "NotSupported"


class ConfigStore:
    """Implements ports.ConfigReader for the gateway's own modules."""

    def __init__(self, engine: Engine, bus: Bus, in_force: dict[str, str] | None = None) -> None:
        """`in_force`: read-only keys whose values the station's settings decide (e.g. the server address)."""
        self._engine = engine
        self._bus = bus
        self._listeners: dict[str, list[Callable[[str], Awaitable[None]]]] = {}
        self._vetoes: dict[str, list[Callable[[str], str | None]]] = {}
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT key, value FROM config")).tuples().all())
        # a read-only key has its declared value, whatever an older version stored while it was writable
        self._values = {k.name: k.default if k.readonly else stored.get(k.name, k.default) for k in KEYS} | (
            in_force or {})
        self._unannounced: list[str] = []
        self._revisions: dict[str, int] = {}

    def veto(self, key: str, rule: Callable[[str], str | None]) -> None:
        """Another part of the gateway's rule for a key: why a new value is refused, or None."""
        self._vetoes.setdefault(key, []).append(rule)

    def publish_all(self) -> None:
        for key in KEYS:
            self._publish(key.name)

    def _publish(self, name: str) -> None:
        key = BY_NAME[name]
        if key.setting is not None:
            self._bus.publish(SETTING, SettingValue(name=key.setting, value=setting_value(key, self._values[name])),
                              name=key.setting.value)
        if key.secret:
            return  # write-only: the gateway alone reads it, from its own store
        self._bus.publish(CONFIG, ConfigValue(key=name, value=self._values[name], readonly=key.readonly), key=name)

    def announce(self) -> None:
        """Publish and log the keys changed with `announce_later` (called once the answer has been sent)."""
        while self._unannounced:
            self._announce(self._unannounced.pop(0))

    def _announce(self, name: str) -> None:
        self._publish(name)
        log.info("config changed key=%s value=%r", name, "(secret)" if BY_NAME[name].secret else self._values[name])

    def revision(self, key: str) -> int:
        """How many times the key changed since start: tells a caller whether someone changed it meanwhile."""
        return self._revisions.get(key, 0)

    def get(self, key: str) -> str:
        return self._values[key]

    def get_int(self, key: str) -> int:
        return int(self._values[key])

    def get_bool(self, key: str) -> bool:
        return self._values[key] == "true"

    def on_change(self, key: str, callback: Callable[[str], Awaitable[None]]) -> None:
        self._listeners.setdefault(key, []).append(callback)

    def items(self, names: list[str] | None) -> tuple[list[tuple[str, str, bool]], list[str]]:
        """(key, value, readonly) of the named keys (all when None), and the unknown names.

        A key is a CiString50: `heartbeatinterval` names HeartbeatInterval, answered with its own spelling.
        """
        # a write-only key is listed only when asked for by name, and never with its value
        if not names:
            return [(k.name, self._values[k.name], k.readonly) for k in KEYS if not k.secret], []
        found = [(n, _BY_FOLDED.get(n.casefold())) for n in names]
        known = [(k.name, "" if k.secret else self._values[k.name], k.readonly) for _n, k in found if k is not None]
        return known, [n for n, k in found if k is None]

    async def change(self, name: str, value: str, *, announce_later: bool = False) -> Change:
        """Check, persist (durable before the answer), then tell the bus and the listeners.

        `announce_later`: the retained copy is published (and the change logged) by `announce()`, after the CSMS
        got its answer: waking every reader of the key must not delay the ChangeConfiguration.conf.
        """
        key = _BY_FOLDED.get(name.casefold())
        if key is None:
            return Change.NOT_SUPPORTED
        name = key.name
        if key.readonly:
            return Change.REJECTED
        try:
            value = key.check(value)
        except BadValue as exc:
            log.info("config rejected key=%s value=%r: %s", name, "(secret)" if key.secret else value, exc)
            return Change.REJECTED
        for veto in self._vetoes.get(name, []):
            why = veto(value)
            if why is not None:
                log.info("config rejected key=%s: %s", name, why)
                return Change.REJECTED
        write_now(self._engine, "INSERT INTO config (key, value) VALUES (?, ?) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (name, value))
        self._values[name] = value
        self._revisions[name] = self._revisions.get(name, 0) + 1
        if announce_later:
            self._unannounced.append(name)
        else:
            self._announce(name)
        for listener in self._listeners.get(name, []):
            await listener(value)
        return Change.ACCEPTED

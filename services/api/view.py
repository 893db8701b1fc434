"""The api's picture of the station, kept from the bus: the latest retained state of every topic, the recent
events, the last card decision and the power trace of each connector's session.

The api only reads the bus; it never owns data. Every change counts up `version` and wakes every stream of
the live page, each of which compares with the version of its own last picture: none misses a change.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from services.common.contract import Topic
from services.common.contract.auth import Decided
from services.common.contract.common import ConfigValue, Health
from services.common.contract.hardware import CONNECTORS
from services.common.contract.metering import EnergyRegister
from services.common.contract.ocpp_gateway import (
    ConnectionState,
    ConnectorReport,
    TransactionState,
    TransactionStopped,
)
from services.common.contract.power import Measurement, RfidSwiped

MAX_EVENTS = 50
MAX_TRACE = 1800  # points per session; older ones are thinned out, the whole session stays on the plot


class StationView:
    def __init__(self) -> None:
        self.latest: dict[str, BaseModel] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self.decisions: dict[int, Decided] = {}
        self.traces: dict[int, list[tuple[float, float, float]]] = {}
        self.registers: dict[int, float] = {}
        self.version = 0
        self._changed = asyncio.Condition()
        self._sessions: dict[int, str | None] = {}

    async def seen(self, topic: str, _declared: Topic, payload: BaseModel | None, _p: dict[str, str]) -> None:
        if payload is None:
            self.latest.pop(topic, None)  # a cleared retained state
        elif "/state/" in topic or topic.endswith("/health") or topic.startswith("chargebus/config/"):
            self._noted(topic, payload)
            self.latest[topic] = payload
        elif "/event/" in topic:
            self._event(payload)
        self.version += 1
        async with self._changed:
            self._changed.notify_all()

    async def changed_since(self, version: int) -> None:
        """Returns once the view is newer than `version` (at once if it already is)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.version != version)

    def _say(self, what: str) -> None:
        self.events.append({"at": datetime.now(UTC).isoformat(), "what": what})

    def _noted(self, topic: str, payload: BaseModel) -> None:
        """Changes of a retained state worth a line in the page's event list, and the session's trace."""
        before = self.latest.get(topic)
        if isinstance(payload, ConnectorReport) and (not isinstance(before, ConnectorReport)
                                                     or before.status != payload.status):
            self._say(f"connector {payload.connector_id}: {payload.status}")
        elif isinstance(payload, ConnectionState) and (not isinstance(before, ConnectionState)
                                                       or before.connected != payload.connected):
            self._say("CSMS connected" if payload.connected else "CSMS offline")
        elif isinstance(payload, Health) and (not isinstance(before, Health) or before.state != payload.state):
            self._say(f"{topic.split('/')[1]} {payload.state.value}")
        elif isinstance(payload, TransactionState):
            session = payload.session_id if payload.open else None
            if self._sessions.get(payload.connector_id) != session:
                self._sessions[payload.connector_id] = session
                self.traces[payload.connector_id] = []
        elif isinstance(payload, Measurement) and self._sessions.get(payload.connector_id):
            trace = self.traces.setdefault(payload.connector_id, [])
            trace.append((payload.timestamp.timestamp(), round(payload.power_w / 1000, 2), payload.current_a))
            if len(trace) > MAX_TRACE:
                del trace[::2]
        elif isinstance(payload, EnergyRegister):
            self.registers[payload.connector_id] = payload.energy_wh
        elif isinstance(payload, Decided):  # auth's retained last decision, also there after a restart of the api
            # a card read before a connector was chosen (0) is the only connector's on this station
            self.decisions[payload.connector_id or CONNECTORS[0]] = payload

    def _event(self, payload: BaseModel) -> None:
        if isinstance(payload, Decided):  # the per-connector decision comes from the retained state
            self._say(f"card id_token={payload.token.value}: {payload.status.value}, "
                      f"{payload.reason or payload.source.value}")
        elif isinstance(payload, TransactionStopped):
            self._say(f"transaction {payload.transaction_id} stopped: {payload.reason}, "
                      f"{payload.meter_stop_wh} Wh on the register")
        elif isinstance(payload, RfidSwiped):
            self._say(f"card presented id_token={payload.token.value}")

    def health(self) -> dict[str, Any]:
        return {t.split("/")[1]: v.model_dump(mode="json") for t, v in sorted(self.latest.items())
                if isinstance(v, Health)}

    def states(self) -> dict[str, Any]:
        return {t: v.model_dump(mode="json") for t, v in sorted(self.latest.items()) if "/state/" in t}

    def config(self) -> dict[str, Any]:
        return {v.key: {"value": v.value, "readonly": v.readonly} for _, v in sorted(self.latest.items())
                if isinstance(v, ConfigValue)}

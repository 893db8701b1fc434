"""metering: the energy register, periodic and clock-aligned meter values, readings on demand."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from services.common.contract import metering, ocpp_gateway, power
from services.common.contract.metering import (
    Cause,
    EnergyRegister,
    Measurand,
    MeterReading,
    MeterValuesTaken,
    ReadRequest,
    SessionData,
)
from services.common.contract.ocpp_gateway import SessionPhase, TransactionState
from services.common.contract.power import Measurement
from services.common.contract.station_settings import Setting
from services.common.db import open_engine
from services.common.lifecycle import Service
from services.common.settings_view import SettingsView

from .register import Register
from .sampling import meter_value, next_aligned

log = logging.getLogger(__name__)

READS = (Setting.SAMPLE_INTERVAL_S, Setting.ALIGNED_INTERVAL_S, Setting.SAMPLED_MEASURANDS,
         Setting.ALIGNED_MEASURANDS, Setting.SESSION_SAMPLED_MEASURANDS, Setting.SESSION_ALIGNED_MEASURANDS)


class MeteringService(Service):
    name = "metering"

    async def setup(self) -> None:
        self.engine = open_engine(self.settings.db_path(self.name), Path(__file__).parent / "migrations")
        self.register = Register(self.engine)
        self.settings_in_force = SettingsView(self.bus, *READS)
        self.measurements: dict[int, Measurement] = {}
        self.sessions: dict[int, str] = {}
        self.bus.follow(power.MEASUREMENT, self.on_measurement)
        self.bus.follow(ocpp_gateway.TRANSACTION, self.on_transaction)
        self.bus.handle(metering.READ, self.on_read)
        self.bus.when_connected(self.republish)

    def republish(self) -> None:
        """After every (re)connection: the register as SQLite holds it."""
        now = datetime.now(UTC)
        for connector_id, energy in sorted(self.register.energy.items()):
            self.bus.publish(metering.REGISTER, EnergyRegister(connector_id=connector_id, energy_wh=energy,
                                                               timestamp=now), connector_id=connector_id)

    async def shutdown(self) -> None:
        self.engine.dispose()

    async def on_measurement(self, m: Measurement | None, _p: dict[str, str]) -> None:
        if m is None:
            return
        if not self.register.newer(m.connector_id, m.boot_id, m.sequence):
            return  # older than what was counted (a stale retained copy): neither counted nor sampled
        self.measurements[m.connector_id] = m
        before = self.register.energy.get(m.connector_id)
        energy = self.register.update(m.connector_id, m.energy_wh, m.boot_id, m.sequence)
        if energy != before:
            self.bus.publish(metering.REGISTER, EnergyRegister(connector_id=m.connector_id, energy_wh=energy,
                                                               timestamp=m.timestamp), connector_id=m.connector_id)

    async def on_transaction(self, state: TransactionState | None, _p: dict[str, str]) -> None:
        if state is not None:
            # sampling starts with the session itself, not with its preparation
            if state.phase in (SessionPhase.ACTIVE, SessionPhase.SUSPENDED) and state.session_id:
                self.sessions[state.connector_id] = state.session_id
            else:
                self.sessions.pop(state.connector_id, None)

    async def on_read(self, request: ReadRequest, _p: dict[str, str]) -> MeterReading:
        measurands = request.measurands if request.measurands is not None else self.settings_in_force.measurands(
            Setting.SAMPLED_MEASURANDS)
        return self._reading(request.connector_id, request.cause, measurands)

    def _reading(self, connector_id: int, cause: Cause, measurands: list[Measurand]) -> MeterReading:
        energy = self.register.energy.get(connector_id, 0.0)
        value = meter_value(datetime.now(UTC), self.measurements.get(connector_id), energy, measurands, cause)
        return MeterReading(connector_id=connector_id, energy_wh=int(energy), meter_value=value)

    def _publish(self, connector_id: int, cause: Cause, setting: Setting) -> None:
        reading = self._reading(connector_id, cause, self.settings_in_force.measurands(setting))
        self.bus.publish(metering.METER_VALUES, MeterValuesTaken(
            connector_id=connector_id, session_id=self.sessions.get(connector_id), meter_value=reading.meter_value),
            connector_id=connector_id)

    def _session_data(self, connector_id: int, cause: Cause, setting: Setting) -> None:
        """The readings kept for the session's end report; an empty list means none."""
        session_id, measurands = self.sessions.get(connector_id), self.settings_in_force.measurands(setting)
        if session_id is None or not measurands:
            return
        reading = self._reading(connector_id, cause, measurands)
        self.bus.publish(metering.SESSION_DATA, SessionData(
            connector_id=connector_id, session_id=session_id, meter_value=reading.meter_value),
            connector_id=connector_id)

    async def run(self) -> None:
        await asyncio.gather(self._periodic(), self._aligned())

    async def _periodic(self) -> None:
        """Periodic readings every sample_interval_s of each session."""
        last: dict[str, float] = {}
        while True:
            await asyncio.sleep(0.2)
            interval = self.settings_in_force.number(Setting.SAMPLE_INTERVAL_S)
            if interval <= 0:
                continue
            now = time.monotonic()
            for connector_id, session_id in list(self.sessions.items()):
                started = last.setdefault(session_id, now)
                if now - started >= interval:
                    last[session_id] = now
                    self._publish(connector_id, Cause.PERIODIC, Setting.SAMPLED_MEASURANDS)
                    self._session_data(connector_id, Cause.PERIODIC, Setting.SESSION_SAMPLED_MEASURANDS)
            for gone in set(last) - set(self.sessions.values()):
                del last[gone]

    async def _aligned(self) -> None:
        """Clock readings at every multiple of aligned_interval_s, session or not."""
        while True:
            interval = self.settings_in_force.number(Setting.ALIGNED_INTERVAL_S)
            if interval <= 0:
                await asyncio.sleep(1)
                continue
            wake = next_aligned(time.time(), interval)
            await asyncio.sleep(min(wake - time.time(), 1.0))
            if time.time() >= wake and self.settings_in_force.number(Setting.ALIGNED_INTERVAL_S) == interval:
                for connector_id in sorted(self.measurements):
                    self._publish(connector_id, Cause.CLOCK, Setting.ALIGNED_MEASURANDS)
                    self._session_data(connector_id, Cause.CLOCK, Setting.SESSION_ALIGNED_MEASURANDS)

"""metering over a real broker: periodic values during a transaction, reads, a register that survives kill -9."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from services.common.bus import Bus, BusError
from services.common.contract import Topic, metering, ocpp_gateway, power
from services.common.contract.base import ErrorCode
from services.common.contract.metering import Cause, Location, Measurand, MeterReading, MeterValuesTaken, ReadRequest
from services.common.contract.ocpp_gateway import SessionPhase, TransactionState
from services.common.contract.power import Measurement
from services.common.contract.station_settings import SETTING, Setting, SettingValue
from services.common.settings import Settings
from tests.conftest import env_for

_SEQUENCE = iter(range(1_000_000))


def _measurement(counter_wh: float, boot_id: str = "power-run-1", at: datetime | None = None) -> Measurement:
    return Measurement(connector_id=1, timestamp=at or datetime.now(UTC), boot_id=boot_id, sequence=next(_SEQUENCE),
                       voltage_v=400.0, current_a=100.0, power_w=40000.0,
                       energy_wh=counter_wh, temperature_c=30.0, soc_pct=50.0, ev_request_a=100.0,
                       offered_current_a=120.0, offered_power_w=48000.0)


async def _read(bus: Bus) -> MeterReading:
    for _ in range(50):
        try:
            reading: MeterReading = await bus.request(metering.READ, ReadRequest(
                connector_id=1, cause=Cause.SESSION_END,
                measurands=[Measurand.ENERGY_IMPORTED, Measurand.SOC, Measurand.CURRENT, Measurand.VOLTAGE]), timeout=2)
            return reading
        except BusError as exc:
            if exc.code is not ErrorCode.TIMEOUT:
                raise
    raise AssertionError("metering never answered")


async def test_periodic_values_reads_and_the_register_survives_kill_9(settings: Settings) -> None:
    taken: list[MeterValuesTaken] = []

    async def seen(_t: str, _d: Topic, payload: BaseModel | None, _p: dict[str, Any]) -> None:
        if isinstance(payload, MeterValuesTaken):
            taken.append(payload)

    bus = Bus(settings, "double", client_id="test-metering", persistent=False, health=False)  # gateway and power
    bus.watch(metering.METER_VALUES.filter, seen)
    await bus.start(5)
    bus.publish(SETTING, SettingValue(name=Setting.SAMPLE_INTERVAL_S, value=1), name=Setting.SAMPLE_INTERVAL_S.value)
    proc = subprocess.Popen([sys.executable, "-m", "services.metering"], env=env_for(settings))
    try:
        bus.publish(power.MEASUREMENT, _measurement(1000.0), connector_id=1)  # baseline
        await _read(bus)
        bus.publish(power.MEASUREMENT, _measurement(1600.0), connector_id=1)
        bus.publish(ocpp_gateway.TRANSACTION, TransactionState(connector_id=1, phase=SessionPhase.ACTIVE,
                                                               session_id="s-1"), connector_id=1)
        for _ in range(100):
            if len(taken) >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(taken) >= 2 and all(t.session_id == "s-1" for t in taken)
        sample = taken[0].meter_value.samples[0]
        assert (sample.measurand, sample.value, taken[0].meter_value.cause) == (
            Measurand.ENERGY_IMPORTED, 600, Cause.PERIODIC)

        proc.kill()
        proc.wait(5)
        proc = subprocess.Popen([sys.executable, "-m", "services.metering"], env=env_for(settings))
        reading = await _read(bus)
        assert reading.energy_wh == 600  # nothing lost, nothing counted twice
        bus.publish(power.MEASUREMENT, _measurement(50.0), connector_id=1)  # the meter restarted from 0
        for _ in range(100):
            reading = await _read(bus)
            if reading.energy_wh == 650:
                break
            await asyncio.sleep(0.05)
        assert reading.energy_wh == 650
        samples = {s.measurand: (s.value, s.location) for s in reading.meter_value.samples}
        assert samples == {Measurand.ENERGY_IMPORTED: (650, Location.OUTLET), Measurand.SOC: (50.0, Location.EV),
                           Measurand.CURRENT: (100.0, Location.OUTLET), Measurand.VOLTAGE: (400.0, Location.OUTLET)}
    finally:
        proc.kill()
        proc.wait(5)
        await bus.stop()


async def test_readings_stamped_2030_then_2026_keep_counting(settings: Settings) -> None:
    """An RTC set wrong before NTP corrects it: the register follows the order power read the meter in."""
    bus = Bus(settings, "double", client_id="test-metering-clock", persistent=False, health=False)
    await bus.start(5)
    proc = subprocess.Popen([sys.executable, "-m", "services.metering"], env=env_for(settings))
    try:
        bus.publish(power.MEASUREMENT, _measurement(1000.0, at=datetime(2030, 1, 1, tzinfo=UTC)), connector_id=1)
        await _read(bus)
        bus.publish(power.MEASUREMENT, _measurement(1100.0, at=datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC)),
                    connector_id=1)
        for counter in (1200.0, 1350.0):  # NTP set the clock back to today
            bus.publish(power.MEASUREMENT, _measurement(counter, at=datetime.now(UTC)), connector_id=1)
        for _ in range(100):
            reading = await _read(bus)
            if reading.energy_wh == 350:
                break
            await asyncio.sleep(0.05)
        assert reading.energy_wh == 350
    finally:
        proc.kill()
        proc.wait(5)
        await bus.stop()

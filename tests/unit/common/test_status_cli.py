"""`chargebus status` reads the retained states of a real broker; without a broker it fails with one line."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import pytest

from services.cli.main import main
from services.common.bus import Bus
from services.common.contract import ocpp_gateway, power
from services.common.contract.common import HEALTH, Health, HealthState
from services.common.contract.ocpp_gateway import ConnectorReport
from services.common.contract.power import ConnectorState
from services.common.contract.supervisor import PROCESSES, ProcessState, ProcessStatus, ProcessTable
from services.common.settings import Settings
from tests.broker import free_port


async def test_status_shows_services_and_connector(settings: Settings, env: dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bus = Bus(settings, "double", health=False)  # stands in for the station (an open test broker)
    await bus.start(5)
    bus.publish(HEALTH, Health(state=HealthState.ONLINE, version="0.1.0", pid=os.getpid(), since=datetime.now(UTC)),
                service="power")
    assert power.CONNECTOR.example is not None
    bus.publish(power.CONNECTOR, ConnectorState.model_validate(power.CONNECTOR.example), connector_id=1)
    assert ocpp_gateway.CONNECTOR_STATUS.example is not None  # the status as the gateway tells the CSMS
    bus.publish(ocpp_gateway.CONNECTOR_STATUS, ConnectorReport.model_validate(ocpp_gateway.CONNECTOR_STATUS.example),
                connector_id=1)
    bus.publish(HEALTH, Health(state=HealthState.OFFLINE, version="0.1.0", pid=4242, since=datetime.now(UTC)),
                service="auth")
    bus.publish(HEALTH, Health(state=HealthState.OFFLINE, version="0.1.0", pid=4343, since=datetime.now(UTC)),
                service="metering")
    bus.publish(PROCESSES, ProcessTable(processes=[ProcessStatus(
        name="metering", state=ProcessState.FAILED, pid=None, restarts=7, since=datetime.now(UTC),
        last_error=["chargebus-metering: cannot use /data/metering.sqlite: file is not a database"])]))
    try:
        for key in ("CHARGEBUS_MQTT_URL", "CHARGEBUS_CONFIG_FILE"):
            monkeypatch.setenv(key, env[key])
        code = await asyncio.to_thread(main, ["status"])
    finally:
        await bus.stop()
    out = capsys.readouterr().out
    assert code == 0
    power_line = next(line for line in out.splitlines() if line.startswith("power "))
    assert "online" in power_line and str(os.getpid()) in power_line
    assert next(line for line in out.splitlines() if line.startswith("auth ")).split()[1:3] == ["offline", "4242"]
    assert "CONNECTOR 1: Charging (no error)" in out and "setpoint=200.0 A" in out
    assert next(line for line in out.splitlines() if line.startswith("firmware ")).split()[1] == "unknown"
    metering = out.splitlines().index(next(line for line in out.splitlines() if line.startswith("metering ")))
    assert out.splitlines()[metering].split()[1] == "FAILED" and out.splitlines()[metering].split()[-1] == "7"
    assert "last error: chargebus-metering: cannot use /data/metering.sqlite" in out.splitlines()[metering + 1]


def test_status_without_broker_fails_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CHARGEBUS_MQTT_URL", f"mqtt://127.0.0.1:{free_port()}")
    assert main(["status", "--timeout", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "no broker at" in err and "Traceback" not in err

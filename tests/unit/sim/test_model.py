"""The simulated module, meter and EV as pure state, with a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.contract.hardware import HardwareFault
from services.common.contract.sim import SimFault
from services.sim.model import MODULE_MAX_CURRENT_A, MODULE_MAX_POWER_W, SimModel


def charging(**kw: float) -> SimModel:
    model = SimModel(**kw)  # type: ignore[arg-type]
    model.plugged = True
    model.on_command(True, 1000.0, 300.0, now=0.0)
    model.step(0.0)
    return model


def test_default_ev_is_unplugged_and_draws_nothing() -> None:
    model = SimModel()
    model.on_command(True, 1000.0, 300.0, now=0.0)
    assert not model.plugged and not model.enabled and model.current_a == 0.0 and model.pilot == "A_Unplugged"


@pytest.mark.parametrize(
    ("row", "setpoint", "ev_max", "expected"),
    [
        ("the set-point limits", 100.0, 200.0, 100.0),
        ("the EV limits", 300.0, 200.0, 200.0),
        ("the module rating limits", 600.0, 1000.0, MODULE_MAX_CURRENT_A),
        ("zero set-point", 0.0, 200.0, 0.0),
    ],
)
def test_current_follows_the_setpoint_at_once(row: str, setpoint: float, ev_max: float, expected: float) -> None:
    model = SimModel(max_current_a=ev_max, soc_pct=0.0)
    model.plugged = True
    model.on_command(True, 1000.0, setpoint, now=0.0)
    assert model.current_a == expected, row
    assert model.pilot == "C_Charging"


def test_power_is_limited_at_high_voltage() -> None:
    model = SimModel(max_current_a=1000.0, soc_pct=100.0 - 1e-9)
    model.plugged = True
    model.on_command(True, 1000.0, 500.0, now=0.0)
    assert model.current_a < MODULE_MAX_CURRENT_A
    assert model.current_a * model.voltage_v <= MODULE_MAX_POWER_W


def test_energy_and_soc_rise_while_charging() -> None:
    model = charging(battery_wh=60_000.0, soc_pct=50.0, max_current_a=200.0)
    model.on_command(True, 1000.0, 300.0, now=1.0)
    model.step(1.0)
    watts = model.voltage_v * model.current_a
    model.on_command(True, 1000.0, 300.0, now=2.0)
    model.step(2.0)
    assert model.energy_wh == pytest.approx(watts * 2 / 3600, rel=0.01)
    assert model.soc_pct == pytest.approx(50.0 + model.energy_wh / 600.0, rel=0.01)


def test_a_full_battery_asks_for_nothing() -> None:
    model = charging(soc_pct=100.0)
    assert model.ev_request_a == 0.0 and model.current_a == 0.0


def test_the_module_opens_when_the_controller_heartbeat_is_lost() -> None:
    model = charging(heartbeat_timeout_s=3.0)
    model.step(2.9)
    assert model.enabled
    model.step(3.1)
    assert not model.enabled and model.current_a == 0.0
    model.on_command(False, 0.0, 0.0, now=3.2)  # a controller back with no session keeps it open
    assert not model.enabled


@pytest.mark.parametrize("fault", [f for f in HardwareFault if f is not HardwareFault.READER])
def test_a_hardware_fault_opens_the_output(fault: SimFault) -> None:
    model = charging()
    model.faults.add(fault)
    assert not model.enabled and model.current_a == 0.0
    model.faults.clear()
    assert model.enabled


def test_state_reports_plug_soc_and_faults() -> None:
    model = SimModel(soc_pct=42.04)
    model.faults.update({HardwareFault.READER, HardwareFault.GROUND_FAILURE})
    state = model.state()
    assert (state.plugged, state.soc_pct, state.max_current_a) == (False, 42.0, 200.0)
    assert state.faults == [HardwareFault.GROUND_FAILURE, HardwareFault.READER]


async def test_the_simulator_refuses_a_socketcan_interface_unless_a_bench_says_so(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On a station, module, EV and meter frames from a simulator would sit next to the real devices' on can0."""
    from services.common.bus import Bus
    from services.common.settings import Settings
    from services.sim.service import SimService

    settings = Settings(data_dir=tmp_path, can_interface="socketcan", can_channel="can0")
    monkeypatch.delenv("CHARGEBUS_SIM_ALLOW_SOCKETCAN", raising=False)
    with pytest.raises(SystemExit, match="refusing to simulate hardware on SocketCAN can0"):
        await SimService(settings, Bus(settings, "sim", persistent=False)).setup()

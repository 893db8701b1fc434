"""Security item 15: a `power_caps.json` power cannot read applies the safe cap (fail closed), says so in its
connector state and in `chargebus status`, and keeps doing so at every start until a technician sets or clears
a cap."""

from __future__ import annotations

import asyncio

import pytest

from services.cli.main import main
from services.common.bus import Bus
from services.common.contract import power, sim
from services.common.contract.power import ConnectorState, EnergizeRequest, SetLimitRequest
from services.common.contract.sim import PlugRequest
from services.common.settings import Settings
from services.power.caps import SAFE_CAP_A
from services.power.service import PowerService

from .conftest import Recorder, Running

Observer = tuple[Bus, Recorder]


async def _started_power(settings: Settings, rec: Recorder, since: int) -> tuple[Running, ConnectorState]:
    """power started anew; returns once it published its first connector state (after `since` messages)."""
    running = Running(PowerService, settings)
    await rec.until(lambda: any(t == power.CONNECTOR.render(connector_id=1) for t, _ in rec.seen[since:]),
                    "the connector state of the new power process")
    state = rec.connector()
    assert state is not None
    return running, state


@pytest.mark.parametrize("content", ["{\"1\": 80.0", "[1, 2]", '{"1": "lots"}', '{"1": NaN}', '{"1": -5}'])
async def test_an_unreadable_caps_file_caps_the_current_at_the_safe_cap_until_a_technician_acts(
        settings: Settings, env: dict[str, str], sim_service: Running, observer: Observer,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: str) -> None:
    bus, rec = observer
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "power_caps.json").write_text(content)
    running, state = await _started_power(settings, rec, 0)
    try:
        assert state.cap_a == SAFE_CAP_A and state.limit_a == SAFE_CAP_A
        assert state.cap_fail_closed is not None and "power_caps.json" in state.cap_fail_closed
        await bus.request(sim.PLUG, PlugRequest())
        await rec.status("Preparing")
        charging: ConnectorState = await bus.request(power.ENERGIZE, EnergizeRequest(session_id="test-session"))
        assert charging.setpoint_a == SAFE_CAP_A  # the EV asks for 200 A
        await rec.until(lambda: (m := rec.measurement()) is not None and m.current_a == SAFE_CAP_A,
                        "the module delivering the safe cap")

        for key in ("CHARGEBUS_MQTT_URL", "CHARGEBUS_CONFIG_FILE"):
            monkeypatch.setenv(key, env[key])
        assert await asyncio.to_thread(main, ["status"]) == 0
        out = capsys.readouterr().out
        assert f"maintenance cap {SAFE_CAP_A:.1f} A FAIL-CLOSED" in out and "power_caps.json" in out
    finally:
        await running.stop()

    # a restart does not forget it: the file is still what it was
    running, state = await _started_power(settings, rec, len(rec.seen))
    try:
        assert state.cap_a == SAFE_CAP_A and state.cap_fail_closed is not None
        set_by_hand: ConnectorState = await bus.request(power.SET_LIMIT, SetLimitRequest(current_a=120.0))
        assert set_by_hand.cap_a == 120.0 and set_by_hand.cap_fail_closed is None
    finally:
        await running.stop()
    running, state = await _started_power(settings, rec, len(rec.seen))
    try:
        assert state.cap_a == 120.0 and state.cap_fail_closed is None
    finally:
        await running.stop()

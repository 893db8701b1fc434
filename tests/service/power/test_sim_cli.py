"""`chargebus sim ...` end to end: the console script as a child process against the real sim and power."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from services.common.bus import Bus
from services.common.contract.power import RFID_SWIPED, RfidSwiped
from services.common.contract.sim import SIM_STATE, SimState

from .conftest import Recorder, Running

CLI = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "chargebus")


async def chargebus(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(CLI, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(30):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_every_sim_command(stack: Running, observer: tuple[Bus, Recorder], env: dict[str, str]) -> None:
    _bus, rec = observer
    code, out, err = await chargebus(env, "sim", "plug")
    assert code == 0, err
    assert out.strip() == "connector 1: plugged, soc 40.0 %, max current 200 A, faults: none"
    await rec.status("Preparing")

    code, out, err = await chargebus(env, "sim", "ev", "--soc", "80", "--max-current", "120")
    assert code == 0, err
    assert "soc 80.0 %" in out and "max current 120 A" in out

    code, out, err = await chargebus(env, "sim", "fault", "ground_failure")
    assert code == 0 and "faults: ground_failure" in out, err
    state = await rec.status("Faulted")
    assert state.fault == "ground_failure" and rec.said(state)[1] == "GroundFailure"
    code, out, err = await chargebus(env, "sim", "fault", "clear")
    assert code == 0 and "faults: none" in out, err
    await rec.status("Preparing")

    code, out, err = await chargebus(env, "sim", "swipe", "04A2B3C4", "--json")
    assert code == 0, err
    assert SimState.model_validate(json.loads(out)).plugged
    swiped = RFID_SWIPED.render()
    await rec.until(lambda: any(t == swiped and isinstance(p, RfidSwiped) and p.token.value == "04A2B3C4"
                                for t, p in rec.seen), "rfid_swiped 04A2B3C4")

    code, out, err = await chargebus(env, "sim", "unplug", "1")
    assert code == 0 and "unplugged" in out, err
    await rec.status("Available")
    retained = rec.latest.get(SIM_STATE.render(connector_id=1))
    assert isinstance(retained, SimState) and not retained.plugged and retained.max_current_a == 120.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sim", "fault", "nonsense"], "invalid choice"),
        (["sim", "swipe", "X" * 21], "card"),
        (["sim", "plug", "2"], "connector_id"),
        (["sim", "plug", "one"], "invalid int"),
        (["sim", "ev", "--soc", "150"], "soc_pct"),
        (["sim", "ev", "--max-current", "-1"], "max_current_a"),
        (["sim"], "required"),
    ],
)
async def test_bad_arguments_exit_2_with_a_message(stack: Running, env: dict[str, str], args: list[str],
                                                   message: str) -> None:
    code, out, err = await chargebus(env, *args)
    assert code == 2 and out == ""
    assert message in err


async def test_no_simulator_is_a_timeout(env: dict[str, str], broker: object) -> None:
    code, out, err = await chargebus(env, "sim", "plug", "--timeout", "0.5")
    assert code == 1 and out == ""
    assert "timeout" in err and "is the sim service running?" in err


async def test_no_broker_is_a_clear_error(env: dict[str, str]) -> None:
    env = {**env, "CHARGEBUS_MQTT_URL": "mqtt://127.0.0.1:1"}
    code, _out, err = await chargebus(env, "sim", "unplug", "--timeout", "0.5")
    assert code == 1
    assert "no MQTT broker" in err

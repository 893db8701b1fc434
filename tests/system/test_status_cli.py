"""`chargebus status` and the maintenance API against the running station, as a technician uses them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.common.settings import Settings
from tests import zygote
from tests.conftest import env_for, isolated_settings
from tests.system.stack import ALL, Observer, Stack

CONNECTOR = "chargebus/power/state/connector/1"
STATUS = "chargebus/ocpp_gateway/state/connector/1"  # the status as the gateway tells the CSMS
CONNECTION = "chargebus/ocpp_gateway/state/connection"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[tuple[Stack, Settings]]:
    settings = isolated_settings(tmp_path)
    stack = Stack(env_for(settings), tmp_path / "run.log")
    stack.start()
    yield stack, settings
    stack.stop()


def _status(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return zygote.chargebus(env_for(settings), "status", *args)


async def _get_json(client: httpx.AsyncClient, url: str, ready: str) -> object:
    """The api starts with an empty picture and fills it from retained topics: wait until `ready` shows."""
    for _ in range(200):
        try:
            response = await client.get(url)
            if response.status_code == 200 and ready in response.text:
                return response.json()
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never showed {ready!r}")


async def test_status_and_api_show_every_service_with_its_pid_the_connector_and_the_csms_link(
        station: tuple[Stack, Settings]) -> None:
    stack, settings = station
    async with Observer(settings) as observer:
        pids = await observer.wait_online(ALL, timeout=30)
        await observer.wait(lambda: observer.get(CONNECTOR) and observer.get(STATUS) and observer.get(CONNECTION)
                            and observer.get("chargebus/config/HeartbeatInterval"), 20, "connector, link, config")

    shown = await asyncio.to_thread(_status, settings)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    for name in ALL:
        fields = next(line for line in lines if line.startswith(f"{name} ")).split()
        assert fields[1:3] == ["online", str(pids[name])], shown.stdout
        assert fields[-1] == ("-" if name == "supervisor" else "0"), "restarts, from the process table"
    assert next(line for line in lines if line.startswith("(broker)")).split()[1] == "running"
    assert "CONNECTOR 1: Available" in shown.stdout and " setpoint=" in shown.stdout
    assert any(line.startswith("CSMS: disconnected ocpp1.6") for line in lines), shown.stdout  # no CSMS here

    as_json = await asyncio.to_thread(_status, settings, "--json")
    assert as_json.returncode == 0, as_json.stderr
    states = json.loads(as_json.stdout)
    assert states[STATUS]["status"] == "Available" and states[CONNECTION]["connected"] is False
    assert {n: states[f"chargebus/{n}/health"]["pid"] for n in ALL} == pids

    base = f"http://{settings.api_host}:{settings.api_port}"
    async with httpx.AsyncClient(timeout=5) as client:
        health = await _get_json(client, f"{base}/api/health", '"sim"')
        assert isinstance(health, dict)
        assert {n: (h["state"], h["pid"]) for n, h in health.items()} == {n: ("online", p) for n, p in pids.items()}
        status = await _get_json(client, f"{base}/api/status", CONNECTION)
        assert isinstance(status, dict)
        assert status[STATUS]["status"] == "Available" and status[CONNECTION]["connected"] is False
        processes = status["chargebus/supervisor/state/processes"]["processes"]
        assert {p["name"]: p["pid"] for p in processes if p["name"] != "mosquitto"} == {
            n: p for n, p in pids.items() if n != "supervisor"}
        config = await _get_json(client, f"{base}/api/config", "HeartbeatInterval")
        assert isinstance(config, dict) and config["HeartbeatInterval"]["readonly"] is False
        page = await client.get(f"{base}/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        summary = await _get_json(client, f"{base}/api/summary", '"sim"')
        assert isinstance(summary, dict)
        assert {s["name"]: s["pid"] for s in summary["services"] if s["name"] != "mosquitto"} == pids
    assert stack.proc is not None and stack.proc.poll() is None

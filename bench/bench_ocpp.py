"""OCPP figures as the Central System sees them, against the whole station (`chargebus run` + simulator).

Certificate figures of the reference station, for comparison: response 0.29 s average,
RemoteStart → StartTransaction 32.99 s, RemoteStop → StopTransaction 4.33 s.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ocpp.v16 import call

from services.common.bus import Bus
from services.common.contract import sim
from services.common.contract.sim import PlugRequest
from tests.broker import Broker
from tests.conftest import env_for, isolated_settings
from tests.csms import CentralSystem
from tests.outbox_fill import fill_outbox
from tests.system.stack import ALL, Observer, Stack

from .figures import Figure, p50_p99

CONFIG_ROUNDS = 1000  # p99 of 1000 samples, not the second worst of 200
SESSIONS = 5
REPLAY = 10_000


async def _station_figures(tmp: Path) -> list[Figure]:
    csms = CentralSystem()
    await csms.start()
    settings = isolated_settings(tmp).model_copy(update={"csms_url": csms.url})
    stack = Stack(env_for(settings), tmp / "stack.log")
    started = time.monotonic()
    stack.start()
    figures: list[Figure] = []
    try:
        await csms.wait("BootNotification", timeout=30)
        figures.append(Figure("process start -> BootNotification", time.monotonic() - started, "s", "goal <= 3 s"))
        async with Observer(settings) as observer:
            await observer.wait_online(ALL, timeout=30)
        get_ms, change_ms = await _config_rounds(csms)
        figures += p50_p99("GetConfiguration response", get_ms, "cert 290 ms avg", "goal p99 <= 20 ms")
        figures += p50_p99("ChangeConfiguration response", change_ms, "cert 290 ms avg", "goal p99 <= 20 ms")
        ref_get, ref_change = await _reference_rounds()
        figures += p50_p99("reference charge point GetConfiguration", ref_get, "same library, one process")
        figures += p50_p99("reference charge point ChangeConfiguration", ref_change, "same library, one process")
        figures.append(Figure("GetConfiguration p99 / reference p99", _p99(get_ms) / _p99(ref_get), "x",
                              "goal <= 2x"))
        figures.append(Figure("ChangeConfiguration p99 / reference p99", _p99(change_ms) / _p99(ref_change), "x",
                              "goal <= 2x", "ours persists the key (SQLite, fsync) and publishes it"))

        bus = Bus(settings, "cli", client_id="bench-ocpp", persistent=False, health=False)
        await bus.start(5)
        start_ms, stop_ms = [], []
        try:
            await bus.request(sim.PLUG, PlugRequest())
            await csms.wait("StatusNotification", where=lambda p: p["connector_id"] == 1 and p["status"] == "Preparing")
            for n in range(1, SESSIONS + 1):
                t0 = time.perf_counter()
                await csms.call(call.RemoteStartTransaction(id_tag=f"BENCH{n}", connector_id=1))
                start = (await csms.wait("StartTransaction", n))[-1]
                start_ms.append((time.perf_counter() - t0) * 1000)
                await csms.wait("StatusNotification", n, where=lambda p: p["status"] == "Charging")
                transaction_id = 1000 + n - 1
                assert start["id_tag"] == f"BENCH{n}"
                t0 = time.perf_counter()
                await csms.call(call.RemoteStopTransaction(transaction_id=transaction_id))
                await csms.wait("StopTransaction", n)
                stop_ms.append((time.perf_counter() - t0) * 1000)
                await csms.wait("StatusNotification", n, where=lambda p: p["status"] == "Finishing")
        finally:
            await bus.stop()
        figures += p50_p99("RemoteStart -> StartTransaction (EV plugged)", start_ms, "cert 32.99 s",
                           "goal <= 300 ms")
        figures += p50_p99("RemoteStop -> StopTransaction", stop_ms, "cert 4.33 s", "goal <= 300 ms")
    finally:
        stack.stop()
        await csms.stop()
    return figures


async def _config_rounds(csms: CentralSystem) -> tuple[list[float], list[float]]:
    get_ms, change_ms = [], []
    for i in range(CONFIG_ROUNDS):
        t0 = time.perf_counter()
        await csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
        get_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await csms.call(call.ChangeConfiguration(key="MemberPrice", value=f"{300 + i},kWh Won"))
        change_ms.append((time.perf_counter() - t0) * 1000)
    return get_ms, change_ms


async def _reference_rounds() -> tuple[list[float], list[float]]:
    """The same calls, from the same CSMS double, to a single-process charge point on the same library."""
    csms = CentralSystem()
    await csms.start()
    proc = subprocess.Popen([sys.executable, "-m", "bench.reference_cp", f"{csms.url}/REF1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await csms.wait("BootNotification", timeout=30)
        return await _config_rounds(csms)
    finally:
        proc.terminate()
        proc.wait(10)
        await csms.stop()


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _replay_rate(tmp: Path) -> Figure:
    broker = Broker(tmp / "broker")
    broker.start()
    csms = CentralSystem()
    await csms.start()
    settings = isolated_settings(tmp, broker.url).model_copy(update={"csms_url": csms.url})
    fill_outbox(settings.db_path("ocpp_gateway"), REPLAY)
    # the gateway in its own process, as in the station: the CSMS double must not share its CPU
    gateway = subprocess.Popen([sys.executable, "-m", "services.ocpp_gateway"], env=env_for(settings),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await csms.wait("StartTransaction", timeout=60)
        t0 = time.perf_counter()
        await csms.wait("StopTransaction", timeout=300)
        elapsed = time.perf_counter() - t0
    finally:
        gateway.terminate()
        gateway.wait(10)
        await csms.stop()
        broker.stop()
    replayed = len([s for s in csms.seen if s.action in ("StartTransaction", "MeterValues", "StopTransaction")])
    return Figure("outbox replay rate (10,000 messages)", (replayed - 1) / elapsed, "msg/s", "goal >= 1000 msg/s",
                  f"{replayed} replayed in order, one CALL in flight")


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        figures = await _station_figures(Path(tmp) / "station")
        figures.append(await _replay_rate(Path(tmp) / "replay"))
    return figures


if __name__ == "__main__":  # pragma: no cover - `python -m bench bench_ocpp` is the way in
    asyncio.run(run())

"""The OCPP figures of `bench_ocpp`, under OCPP 2.0.1: the same station (`chargebus run` + simulator) with
`CHARGEBUS_OCPP_VERSION=2.0.1`, against the test Central System speaking 2.0.1 (every message checked against
the 2.0.1 schemas on its side).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from ocpp.v201 import call

from services.common.bus import Bus
from services.common.contract import sim
from services.common.contract.sim import PlugRequest
from tests.conftest import env_for, isolated_settings
from tests.csms import CentralSystem
from tests.system.stack import ALL, Observer, Stack

from .bench_ocpp import triggers
from .figures import Figure, p50_p99

ROUNDS = 1000
SESSIONS = 5
LISTS = 5
METER_INTERVAL = {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}}


async def _variables(csms: CentralSystem) -> list[Figure]:
    get_ms, set_ms = [], []
    for i in range(ROUNDS):
        t0 = time.perf_counter()
        await csms.call(call.GetVariables(get_variable_data=[METER_INTERVAL]))
        get_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        result = await csms.call(call.SetVariables(set_variable_data=[{**METER_INTERVAL,
                                                                       "attribute_value": str(60 + i % 2)}]))
        set_ms.append((time.perf_counter() - t0) * 1000)
        assert result.set_variable_result[0]["attribute_status"] == "Accepted"
    return [*p50_p99("GetVariables response (2.0.1)", get_ms, "cert 290 ms avg", "goal p99 <= 20 ms"),
            *p50_p99("SetVariables response (2.0.1)", set_ms, "cert 290 ms avg",
                     "persisted (SQLite, fsync) and published")]


async def _sessions(settings_bus: Bus, csms: CentralSystem) -> list[Figure]:
    def started(n: int) -> list[dict[str, object]]:
        return [e for e in csms.calls("TransactionEvent") if e["event_type"] == "Started"][:n]

    await settings_bus.request(sim.PLUG, PlugRequest())
    start_ms, stop_ms = [], []
    for n in range(1, SESSIONS + 1):
        t0 = time.perf_counter()
        await csms.call(call.RequestStartTransaction(id_token={"id_token": f"BENCH{n}", "type": "ISO14443"},
                                                     remote_start_id=n, evse_id=1))
        await csms.wait("TransactionEvent", n, where=lambda e: e["event_type"] == "Started")
        start_ms.append((time.perf_counter() - t0) * 1000)
        transaction_id = started(n)[-1]["transaction_info"]
        assert isinstance(transaction_id, dict)
        t0 = time.perf_counter()
        await csms.call(call.RequestStopTransaction(transaction_id=transaction_id["transaction_id"]))
        await csms.wait("TransactionEvent", n, where=lambda e: e["event_type"] == "Ended")
        stop_ms.append((time.perf_counter() - t0) * 1000)
    return [*p50_p99("RequestStartTransaction -> TransactionEvent Started", start_ms, "cert 32.99 s (1.6)",
                     "goal p50 <= 15 ms, as 1.6"),
            *p50_p99("RequestStopTransaction -> TransactionEvent Ended", stop_ms, "cert 4.33 s (1.6)")]


async def _local_list(csms: CentralSystem) -> list[Figure]:
    """SendLocalList Full with 9999 entries, answered after auth applied it (frames built before the clock)."""
    samples = []
    for n in range(LISTS):
        entries = [{"idToken": {"idToken": f"B{n}{i:05d}", "type": "ISO14443"},
                    "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": "2030-01-01T00:00:00Z",
                                    "groupIdToken": {"idToken": "FLEET1", "type": "Central"}}} for i in range(9999)]
        frame = json.dumps([2, f"list-{n}", "SendLocalList",
                            {"versionNumber": n + 1, "updateType": "Full", "localAuthorizationList": entries}])
        t0 = time.perf_counter()
        answer = await csms.raw_call(frame, timeout=60)
        samples.append((time.perf_counter() - t0) * 1000)
        assert answer[2] == {"status": "Accepted"}, answer
    return p50_p99("SendLocalList Full 9999 entries (2.0.1) -> response", samples, "goal <= 500 ms, as 1.6")


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        csms = CentralSystem(version="2.0.1")
        await csms.start()
        settings = isolated_settings(Path(tmp)).model_copy(update={"csms_url": csms.url})
        stack = Stack({**env_for(settings), "CHARGEBUS_OCPP_VERSION": "2.0.1"}, Path(tmp) / "stack.log",
                      interpreter=True)
        started = time.monotonic()
        stack.start()
        figures: list[Figure] = []
        try:
            await csms.wait("BootNotification", timeout=30)
            figures.append(Figure("process start -> BootNotification (2.0.1)", time.monotonic() - started, "s"))
            async with Observer(settings) as observer:
                await observer.wait_online(ALL, timeout=30)
            figures += await _variables(csms)
            figures += await triggers(csms, call.TriggerMessage, "TriggerMessage (2.0.1)")
            figures += await _local_list(csms)
            bus = Bus(settings, "cli", client_id="bench-ocpp201", persistent=False, health=False)
            await bus.start(5)
            try:
                figures += await _sessions(bus, csms)
            finally:
                await bus.stop()
        finally:
            stack.stop()
            await csms.stop()
    return figures


if __name__ == "__main__":  # pragma: no cover - `python -m bench bench_ocpp201` is the way in
    asyncio.run(run())

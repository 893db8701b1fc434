"""`chargebus run` → every service online; the memory of each process and of the whole stack; what the broker
writes to disk while the station is idle, with its persistence setting and with the one it had before."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from services.supervisor.broker_conf import broker_dir
from tests.broker import Broker
from tests.conftest import env_for, isolated_settings
from tests.system.stack import ALL, Observer, Stack

from .figures import Figure

IDLE_S = 30.0  # writes are measured over this much idle time and given per minute


@dataclass(frozen=True)
class Memory:
    name: str
    pid: int
    pss_kb: int
    rss_kb: int


def group_memory(pgid: int) -> list[Memory]:
    """Every process in the process group (broker and launcher included).

    RSS counts the pages the processes share (interpreter, libraries) once per process; PSS divides
    each shared page among its users, so the PSS sum is what the stack really occupies.
    """
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            name = (proc / "comm").read_text().strip()
            values = {line.split(":")[0]: int(line.split()[1]) for line in
                      (proc / "smaps_rollup").read_text().splitlines() if line.startswith(("Pss:", "Rss:"))}
            found.append(Memory(name, int(proc.name), values["Pss"], values["Rss"]))
        except (OSError, ValueError, IndexError, KeyError):
            continue
    return sorted(found, key=lambda m: -m.pss_kb)


def written_bytes(pid: int) -> int:
    """Bytes the process wrote through write() (`wchar`; `write_bytes` is not kept in every container)."""
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["wchar"])


async def _idle_writes(pid: int) -> float:
    before = written_bytes(pid)
    await asyncio.sleep(IDLE_S)
    return (written_bytes(pid) - before) * 60.0 / IDLE_S


async def _old_setting_writes(db: Path, tmp: Path) -> float:
    """The same broker file under the setting the station had before (autosave every second)."""
    broker = Broker(tmp / "old")
    shutil.copy(db, broker.data_dir / "mosquitto.db")
    broker.start()
    try:
        assert broker.proc is not None
        await asyncio.sleep(1.0)
        return await _idle_writes(broker.proc.pid)
    finally:
        broker.stop()


async def _online(settings: object, started: float) -> float:
    while True:
        try:
            async with Observer(settings) as obs:  # type: ignore[arg-type]
                await obs.wait_online(ALL, timeout=60)
                return time.perf_counter() - started
        except (TimeoutError, OSError, ConnectionError):
            if time.perf_counter() - started > 60:
                raise
            await asyncio.sleep(0.05)


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = isolated_settings(Path(tmp))
        stack = Stack(env_for(settings), Path(tmp) / "stack.log", interpreter=True)  # as `chargebus run` starts
        started = time.perf_counter()
        stack.start()
        try:
            online_s = await _online(settings, started)
            await asyncio.sleep(3)  # let start-up work settle before measuring memory
            memory = group_memory(stack.pgid)
            broker_pid = next(m.pid for m in memory if m.name == "mosquitto")
            idle_writes = await _idle_writes(broker_pid)
            started = time.perf_counter()
        finally:
            stack.stop()
        stop_s = time.perf_counter() - started
        old_writes = await _old_setting_writes(broker_dir(settings) / "mosquitto.db", Path(tmp))
    total = sum(m.pss_kb for m in memory) / 1024
    sim = sum(m.pss_kb for m in memory if m.name == "chargebus-sim") / 1024
    figures = [
        Figure("chargebus run -> all 9 services online", online_s, "s", "goal <= 10 s"),
        Figure("stack memory, PSS sum (every process)", total, "MB", "goal <= 200 MB", f"{len(memory)} processes"),
        Figure("station memory without the simulator, PSS", total - sim, "MB", "goal <= 150 MB (issue 17)",
               "the simulator stands in for the hardware"),
        Figure("stack memory, RSS sum (shared pages counted per process)", sum(m.rss_kb for m in memory) / 1024, "MB"),
    ]
    figures += [Figure(f"  PSS {m.name}", m.pss_kb / 1024, "MB", "", f"pid {m.pid}") for m in memory]
    figures += [
        Figure("broker writes per idle minute", idle_writes / 1024, "KiB", "",
                "autosave every 5 min; owners republish on reconnect"),
        Figure("broker writes per idle minute, autosave 1 s (before)", old_writes / 1024, "KiB", "",
               "the same file, the old setting"),
        Figure("SIGTERM -> every process stopped", stop_s, "s", "goal <= 5 s"),
    ]
    return figures



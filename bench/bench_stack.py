"""The station as it runs in production (`chargebus run`, no simulator): every service online; the memory of
each process and of the whole station, with the kernel's page merging and without (`page_merging.py`); what
the broker writes to disk while the station is idle, with its persistence setting and with the one it had
before."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.common.settings import Settings
from services.supervisor.broker_conf import broker_dir
from services.supervisor.page_merging import KSM_RUN
from tests.broker import Broker
from tests.conftest import env_for, isolated_settings
from tests.csms import CentralSystem
from tests.system.stack import ALL, Observer, Stack

from .figures import Figure

IDLE_S = 30.0  # writes are measured over this much idle time and given per minute
SETTLE_S = 3.0  # start-up work done before memory is measured
MERGE_WAIT_S = 240.0
NO_PASS_S = 60.0  # ksmd at the kernel's defaults goes through the station in about 30 s
STATION = tuple(name for name in ALL if name != "sim")


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


async def _online(settings: Settings, started: float, services: tuple[str, ...]) -> float:
    while True:
        try:
            async with Observer(settings) as obs:
                await obs.wait_online(services, timeout=60)
                return time.perf_counter() - started
        except (TimeoutError, OSError, ConnectionError):
            if time.perf_counter() - started > 60:
                raise
            await asyncio.sleep(0.05)


@contextlib.contextmanager
def ksmd_running() -> Iterator[str]:
    """The kernel's same-page merging thread on for the figures (as the systemd unit has it on a station), and
    back as it was after; yields a note saying which."""
    try:
        before = KSM_RUN.read_text().strip()
    except OSError as exc:
        yield f"no same-page merging on this machine ({exc.strerror})"
        return
    if before == "1":
        yield "ksmd was running"
        return
    try:
        KSM_RUN.write_text("1")
    except OSError as exc:
        yield f"ksmd is off and this user cannot turn it on ({exc.strerror}): nothing merged"
        return
    try:
        yield "ksmd turned on for the figure, off again after"
    finally:
        KSM_RUN.write_text(before)


def ksmd_cpu_s() -> float:
    """CPU seconds the ksmd kernel thread has used so far (0 where there is none)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "ksmd":
                    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                continue
    return 0.0


def _pss_mb(memory: list[Memory]) -> float:
    return sum(m.pss_kb for m in memory) / 1024


def ksm_full_scans() -> int:
    """How many times ksmd has gone through all the memory offered to it (0 where there is no KSM)."""
    try:
        return int((KSM_RUN.parent / "full_scans").read_text())
    except (OSError, ValueError):
        return 0


async def _merged(pgid: int) -> tuple[list[Memory], float]:
    """Wait until merging has done its work, at most MERGE_WAIT_S; returns the memory then and how long it took.

    Done is when a whole pass of ksmd over the memory offered changed the station's PSS by less than 0.5 MB,
    after at least three passes: KSM merges a page in the pass after the one that first saw it unchanged, and a
    criterion by time (less than 0.5 MB in 10 s) stopped while the last pass was still merging, 2.5 MB early."""
    started = time.perf_counter()
    passes = [(ksm_full_scans(), group_memory(pgid))]
    while time.perf_counter() - started < MERGE_WAIT_S:
        await asyncio.sleep(5)
        scans = ksm_full_scans()
        if scans == passes[-1][0]:
            if time.perf_counter() - started > NO_PASS_S and len(passes) == 1:
                break  # ksmd does not run here: nothing will be merged
            continue
        passes.append((scans, group_memory(pgid)))
        if scans - passes[0][0] >= 3 and _pss_mb(passes[-2][1]) - _pss_mb(passes[-1][1]) < 0.5:
            return passes[-1][1], time.perf_counter() - started
    return group_memory(pgid), time.perf_counter() - started


def _station(tmp: Path, csms_url: str, page_merging: bool) -> tuple[Settings, Stack]:
    """The station as it runs in production: no simulator, as `chargebus run` starts it."""
    settings = isolated_settings(tmp).model_copy(update={"csms_url": csms_url, "with_sim": False})
    env = env_for(settings) | {"CHARGEBUS_WITH_SIM": "false", "CHARGEBUS_PAGE_MERGING": str(page_merging).lower()}
    return settings, Stack(env, tmp / "stack.log", interpreter=True)


async def _unmerged_memory(csms_url: str) -> list[Memory]:
    with tempfile.TemporaryDirectory() as tmp:
        settings, stack = _station(Path(tmp), csms_url, page_merging=False)
        stack.start()
        try:
            await _online(settings, time.perf_counter(), STATION)
            await asyncio.sleep(SETTLE_S)
            return group_memory(stack.pgid)
        finally:
            stack.stop()


async def run() -> list[Figure]:
    csms = CentralSystem()
    await csms.start()
    try:
        unmerged = await _unmerged_memory(csms.url)
        with ksmd_running() as ksm_note, tempfile.TemporaryDirectory() as tmp:
            settings, stack = _station(Path(tmp), csms.url, page_merging=True)
            started = time.perf_counter()
            stack.start()
            try:
                online_s = await _online(settings, started, STATION)
                await asyncio.sleep(SETTLE_S)
                broker_pid = next(m.pid for m in group_memory(stack.pgid) if m.name == "mosquitto")
                cpu_before = ksmd_cpu_s()
                idle_writes = await _idle_writes(broker_pid)
                ksmd_share = (ksmd_cpu_s() - cpu_before) / IDLE_S * 100
                memory, merge_s = await _merged(stack.pgid)
                started = time.perf_counter()
            finally:
                stack.stop()
            stop_s = time.perf_counter() - started
            old_writes = await _old_setting_writes(broker_dir(settings) / "mosquitto.db", Path(tmp))
    finally:
        await csms.stop()
    merged_mb = _pss_mb(memory)
    figures = [
        Figure(f"chargebus run -> all {len(STATION)} services online", online_s, "s", "goal <= 10 s",
               "the station without the simulator"),
        Figure("station memory, PSS sum (every process)", merged_mb, "MB", "goal <= 150 MB (issue 17)",
               f"{len(memory)} processes, page merging on: {ksm_note}"),
        Figure("  the same, page merging off", _pss_mb(unmerged), "MB", "",
               "CHARGEBUS_PAGE_MERGING=false"),
        Figure("  time for merging to settle", merge_s + IDLE_S + SETTLE_S, "s", "", "after every service is online"),
        Figure("  ksmd CPU", ksmd_share, "%", "", "of one core, while the station idles"),
        Figure("station memory, RSS sum (shared pages counted per process)", sum(m.rss_kb for m in memory) / 1024,
               "MB"),
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

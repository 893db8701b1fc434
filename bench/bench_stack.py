"""`chargebus run` → every service online, and the resident memory of the whole stack."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from tests.conftest import env_for, isolated_settings
from tests.system.stack import ALL, Observer, Stack

from .figures import Figure


def group_rss_mb(pgid: int) -> tuple[float, float, int]:
    """Memory of every process in the process group (the broker included): summed RSS, summed PSS, count.

    RSS counts the pages the processes share (interpreter, libraries) once per process; PSS divides
    each shared page among its users, so the PSS sum is what the stack really occupies.
    """
    total_kb, pss_kb, count = 0, 0, 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            pgrp = int(stat.rsplit(")", 1)[1].split()[2])
            if pgrp != pgid:
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    count += 1
            for line in (proc / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss_kb += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total_kb / 1024, pss_kb / 1024, count


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = isolated_settings(Path(tmp))
        stack = Stack(env_for(settings), Path(tmp) / "stack.log")
        started = time.perf_counter()
        stack.start()
        try:
            while True:
                try:
                    async with Observer(settings) as obs:
                        await obs.wait_online(ALL, timeout=60)
                        break
                except (TimeoutError, OSError, ConnectionError):
                    if time.perf_counter() - started > 60:
                        raise
                    await asyncio.sleep(0.05)
            online_s = time.perf_counter() - started
            await asyncio.sleep(3)  # let start-up work settle before measuring memory
            rss, pss, count = group_rss_mb(stack.pgid)
            started = time.perf_counter()
        finally:
            stack.stop()
        stop_s = time.perf_counter() - started
    return [
        Figure("chargebus run -> all 9 services online", online_s, "s", "goal <= 10 s"),
        Figure("stack memory, PSS sum (broker + services)", pss, "MB", "goal <= 300 MB", f"{count} processes"),
        Figure("stack memory, RSS sum (shared pages counted per process)", rss, "MB", "", f"{count} processes"),
        Figure("SIGTERM -> every process stopped", stop_s, "s", "goal <= 5 s"),
    ]

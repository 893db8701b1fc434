"""`chargebus run` → every service online, and the resident memory of the whole stack."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from tests.conftest import env_for, isolated_settings
from tests.system.stack import ALL, Observer, Stack

from .figures import Figure


def group_rss_mb(pgid: int) -> tuple[float, int]:
    """Total VmRSS of every process in the process group (the broker included), and their count."""
    total_kb, count = 0, 0
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
        except (OSError, ValueError, IndexError):
            continue
    return total_kb / 1024, count


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
            rss, count = group_rss_mb(stack.pgid)
        finally:
            stack.stop()
    return [
        Figure("chargebus run -> all 9 services online", online_s, "s", "goal <= 10 s"),
        Figure("stack resident memory (broker + services)", rss, "MB", "goal <= 300 MB", f"{count} processes"),
    ]

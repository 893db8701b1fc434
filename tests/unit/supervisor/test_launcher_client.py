"""The supervisor hears of every child's exit, even one that ends before the supervisor has read its pid."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from services.supervisor.launcher_client import LauncherClient


async def test_a_child_that_exits_at_once_is_seen_exited() -> None:
    # A broker refusing its database file exits within a millisecond of its fork: the launcher's answer (the pid)
    # and the exit then arrive in one read. The exit was dropped, and the supervisor waited on a dead broker.
    client = LauncherClient(on_output=lambda _line: None)
    await client.ensure()
    try:
        for _ in range(3):
            out = os.open(os.devnull, os.O_WRONLY)
            try:
                spawning = asyncio.create_task(client.spawn("quick", {"argv": ["false"]}, {},
                                                            {"stdout": out, "stderr": out}))
                await asyncio.sleep(0)  # the request is sent: the task now waits for the answer
                time.sleep(0.3)  # a busy supervisor: the child forks and exits meanwhile
                child = await spawning
            finally:
                os.close(out)
            async with asyncio.timeout(5):
                assert await child.wait() == 1
    finally:
        await client.stop(5)


async def test_a_service_starts_with_the_collector_on_and_the_preloaded_objects_frozen(tmp_path: Path) -> None:
    # the launcher keeps the collector off after its preload (a collection would free holes among the shared pages
    # that every child then fills and copies); each child must turn it back on, or its cycles would never be freed
    client = LauncherClient(on_output=lambda _line: None)
    await client.ensure()
    report = tmp_path / "gc.txt"
    out = os.open(report, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        child = await client.spawn("probe", {"module": "tests.unit.supervisor.gc_probe"}, {},
                                   {"stdout": out, "stderr": out})
    finally:
        os.close(out)
    try:
        async with asyncio.timeout(10):
            assert await child.wait() == 0
    finally:
        await client.stop(5)
    enabled, frozen = report.read_text().split()
    assert enabled == "True" and int(frozen) > 10_000

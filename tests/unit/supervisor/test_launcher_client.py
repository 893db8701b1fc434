"""The supervisor hears of every child's exit, even one that ends before the supervisor has read its pid."""

from __future__ import annotations

import asyncio
import os
import time

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

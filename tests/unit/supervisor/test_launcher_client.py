"""The supervisor hears of every child's exit, even one that ends before the supervisor has read its pid."""

from __future__ import annotations

import asyncio
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.supervisor.launcher_client import LauncherClient
from services.supervisor.page_merging import KSM_RUN
from tests.unit.supervisor.staged_launcher import spawn_probe


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
    enabled, frozen = (await _run_probe("tests.unit.supervisor.gc_probe", tmp_path)).split()
    assert enabled == "True" and int(frozen) > 10_000


async def _run_probe(module: str, tmp_path: Path) -> str:
    client = LauncherClient(on_output=lambda _line: None)
    await client.ensure()
    try:
        return await spawn_probe(client, module, tmp_path / "probe.txt")
    finally:
        await client.stop(5)


def _kernel_at_least(major: int, minor: int) -> bool:
    found = re.match(r"(\d+)\.(\d+)", platform.release())
    return found is not None and (int(found[1]), int(found[2])) >= (major, minor)


@pytest.mark.parametrize("merging", [True, False])
async def test_a_service_inherits_the_preloaded_memory_offered_to_page_merging_as_the_setting_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, merging: bool) -> None:
    monkeypatch.setenv("CHARGEBUS_PAGE_MERGING", str(merging).lower())
    offered_now, whole, later = (await _run_probe("tests.unit.supervisor.merge_probe", tmp_path)).split()
    offered, total = int(offered_now), int(whole)
    assert total > 20 * 1024 * 1024  # the preloaded image, in the child as in the launcher
    if merging and KSM_RUN.parent.is_dir():
        assert offered > 0.9 * total
        # and what the child allocates after its fork, where the kernel can (6.4+: it says so in ksm_stat)
        assert later in (("yes",) if _kernel_at_least(6, 4) else ("yes", "no", "unknown"))
    else:  # off, or a kernel without KSM: the launcher said so and the station runs as before
        assert offered == 0 and later != "yes"


def test_the_first_service_is_forked_before_the_late_preload_and_each_service_at_its_niceness() -> None:
    # the gateway starts first and the CSMS waits for its BootNotification: the web framework only the api uses
    # is imported by the launcher after forking it, and a service that gives way to the others runs niced
    run = subprocess.run([sys.executable, "-m", "tests.unit.supervisor.staged_launcher"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    first, second = run.stdout.split("\n")[:2]
    assert first == "0 False"
    assert second == "5 True"

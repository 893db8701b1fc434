"""Run in a subprocess by a test: `chargebus run`'s own launcher (forked after the preload, as `fork_launcher`
does), two services spawned through it; prints what each probe printed. `spawn_probe` serves the other launcher
tests too."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from pathlib import Path

from services.supervisor.launcher import fork_launcher
from services.supervisor.launcher_client import LauncherClient

MODULES_PROBE = "tests.unit.supervisor.modules_probe"


async def spawn_probe(client: LauncherClient, module: str, report: Path, extra: dict[str, object] | None = None,
                      timeout: float = 10.0) -> str:
    """Run the probe `module` through the launcher, its output into `report`; returns what it printed."""
    out = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        child = await client.spawn("probe", {"module": module, **(extra or {})}, {}, {"stdout": out, "stderr": out})
    finally:
        os.close(out)
    async with asyncio.timeout(timeout):
        assert await child.wait() == 0, report.read_text()
    return report.read_text().strip()


async def main(forked: tuple[int, socket.socket]) -> None:
    client = LauncherClient(on_output=lambda _line: None, forked=forked)
    await client.ensure()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = await spawn_probe(client, MODULES_PROBE, Path(tmp) / "first", {"preload_after": True}, 20)
            second = await spawn_probe(client, MODULES_PROBE, Path(tmp) / "second", {"nice": 5}, 20)
    finally:
        await client.stop(5)
    print(first)
    print(second)


if __name__ == "__main__":
    launched = fork_launcher()  # before any thread, as `chargebus run` forks it
    asyncio.run(main(launched))
    sys.exit(0)

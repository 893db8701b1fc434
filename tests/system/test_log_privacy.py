"""Security item 14: no secret reaches a file GetDiagnostics could upload, whatever writes the line: the OCPP
library's frame log at DEBUG, a crash's traceback on a child's stderr."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path

from ocpp.v16 import call

from services.supervisor.children import Child
from services.supervisor.launcher_client import LauncherClient
from tests.system.station import running_station

KEY = "Kx7QwErTyUiOp4sD"
PASSWORD = "p@ss word:9"


def _written(logs: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(logs.iterdir()) if p.is_file())


async def test_the_authorization_key_set_by_the_csms_is_in_no_log_at_debug(tmp_path: Path) -> None:
    async with running_station(tmp_path, CHARGEBUS_LOG_LEVEL="DEBUG") as station:
        reply = await station.csms.call(call.ChangeConfiguration(key="AuthorizationKey", value=KEY))
        assert reply.status == "Accepted"
        logs = station.settings.data_dir / "logs"
        # the positive sign: the library's frame line for it was written (its value masked)
        frame = '"key":"AuthorizationKey","value":"***"'
        for _ in range(200):
            if frame in (logs / "ocpp_gateway.log").read_text(errors="replace"):
                break
            await asyncio.sleep(0.05)
        await station.csms.wait_connected()  # the link reconnected with the key: basic auth was sent
        written = _written(logs) + station.stack.log.read_text(errors="replace")
        basic = base64.b64encode(f"{station.settings.charge_point_id}:{KEY}".encode()).decode()
    assert frame in written
    assert KEY not in written and basic not in written


async def test_a_crash_traceback_on_stderr_is_scrubbed_before_any_file(tmp_path: Path) -> None:
    crash = (f"import json; frame = json.dumps({{'key': 'AuthorizationKey', 'value': '{KEY}'}}); "
             f"raise RuntimeError('upload to ftp://cs:{PASSWORD}@10.9.8.7/diag failed ' + frame)")
    name = f"crasher{os.getpid()}"
    output: list[bytes] = []
    launcher = LauncherClient(output.append)
    child = Child(name, {"argv": [sys.executable, "-c", crash]}, tmp_path, 12, lambda: None, launcher)
    child.start()
    stderr_log = tmp_path / f"{name}.stderr.log"
    try:
        for _ in range(400):  # the positive sign: the traceback's last line was captured
            if child.restarts >= 1 and stderr_log.exists() and "RuntimeError" in stderr_log.read_text():
                break
            await asyncio.sleep(0.05)
    finally:
        await child.stop(0.5)
        await launcher.stop(1.0)
    written = stderr_log.read_text()
    assert "ftp://cs:***@10.9.8.7/diag failed" in written and "Traceback" in written
    assert PASSWORD not in written and "ss word" not in written and KEY not in written
    assert not any(PASSWORD in line or KEY in line for line in child.last_error)

"""What `chargebus run` imports before it forks is shared by every process of the station; what it need not run
stays out: the signature library (a firmware install or a `chargebus firmware` command loads it) and the OCPP
2.0.1 message classes (the dev CSMS loads them for a 2.0.1 station)."""

from __future__ import annotations

import json
import subprocess
import sys

_PRELOAD = """
import importlib, json, sys
import services.cli.main as cli
cli.build_parser()
import services.supervisor.main
from services.supervisor import launcher
for name in (*launcher.PRELOAD, *launcher.PRELOAD_LATE):
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_preload_carries_no_signature_library_and_no_201_classes() -> None:
    modules = json.loads(subprocess.run([sys.executable, "-c", _PRELOAD], check=True, capture_output=True,
                                        text=True).stdout)
    assert "services.ocpp_gateway.service" in modules and "services.firmware.service" in modules
    assert not [m for m in modules if m.startswith(("cryptography", "ocpp.v201"))]

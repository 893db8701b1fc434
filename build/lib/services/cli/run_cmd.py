"""`chargebus run`: the whole station (broker + every service) under the supervisor, in the foreground."""

from __future__ import annotations

import argparse
from typing import Any

from services.common.settings import Settings
from services.supervisor.main import run


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run", help="run the station: broker and every service, restarted when they die (Ctrl-C stops all)")
    parser.set_defaults(func=_run)


def _run(_args: argparse.Namespace, settings: Settings) -> int:
    return run(settings)

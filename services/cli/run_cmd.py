"""`chargebus run`: the whole station (broker + every service) under the supervisor, in the foreground."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import setproctitle

from services.common.logs import setup_logging
from services.common.settings import Settings
from services.supervisor.supervisor import supervise


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run", help="run the station: broker and every service, restarted when they die (Ctrl-C stops all)")
    parser.set_defaults(func=_run)


def _run(_args: argparse.Namespace, settings: Settings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging("supervisor", settings.log_level, settings.data_dir)
    setproctitle.setproctitle("chargebus-supervisor")
    return asyncio.run(supervise(settings))

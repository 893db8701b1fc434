"""Entry of the supervisor process: `chargebus run` and `python -m services.supervisor`."""

from __future__ import annotations

import asyncio

import setproctitle

from services.common.logs import setup_logging
from services.common.settings import Settings

from .supervisor import supervise


def run(settings: Settings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging("supervisor", settings.log_level, settings.data_dir)
    setproctitle.setproctitle("chargebus-supervisor")
    return asyncio.run(supervise(settings))

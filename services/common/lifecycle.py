"""Service life cycle: settings, logging, bus connection, health, clean shutdown on SIGTERM/SIGINT.

A service subclasses `Service`, registers its handlers in `setup()`, does its work in `run()`
and is started from its `__main__` with `run_service(MyService)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import ClassVar

import setproctitle

from . import failpoints
from .bus import Bus
from .logs import setup_logging
from .settings import Settings, load_settings

log = logging.getLogger(__name__)


class Service:
    """Base class: one process, one bus connection."""

    name: ClassVar[str]

    def __init__(self, settings: Settings, bus: Bus) -> None:
        self.settings = settings
        self.bus = bus

    async def setup(self) -> None:
        """Register bus handlers and open databases. Runs before the bus connects."""

    async def run(self) -> None:
        """The service's own work; the default just waits to be stopped."""
        await asyncio.Event().wait()

    async def shutdown(self) -> None:
        """Release resources (close CAN, databases). Runs after `run` is cancelled."""


async def serve(service_cls: type[Service], settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run a service until `stop` is set (or SIGTERM/SIGINT when called from `run_service`)."""
    stop = stop or asyncio.Event()
    failpoints.arm_from(settings.data_dir)
    bus = Bus(settings, service_cls.name)
    service = service_cls(settings, bus)
    await service.setup()
    await bus.start(timeout=0)
    worker = asyncio.create_task(service.run(), name=f"{service_cls.name}-run")
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if worker in done and worker.exception() is not None:
            raise worker.exception()  # type: ignore[misc]
    finally:
        for task in (worker, stopper):
            task.cancel()
        for task in (worker, stopper):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await service.shutdown()
        await bus.stop()


def run_service(service_cls: type[Service]) -> None:
    """Entry point of `python -m services.<name>`."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(service_cls.name, settings.log_level, settings.data_dir)
    setproctitle.setproctitle(f"chargebus-{service_cls.name}")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("starting service=%s pid=%d", service_cls.name, os.getpid())
        await serve(service_cls, settings, stop)
        log.info("stopped service=%s", service_cls.name)

    asyncio.run(main())

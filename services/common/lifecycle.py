"""Service life cycle: settings, logging, bus connection, health, watchdog, clean shutdown on SIGTERM/SIGINT.

A service subclasses `Service`, registers its handlers in `setup()`, does its work in `run()`
and is started from its `__main__` with `run_service(MyService)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from typing import ClassVar

import setproctitle

from . import failpoints
from .bus import Bus
from .contract.supervisor import RESTART_ORDER, RestartOrder
from .db import StorageError
from .logs import setup_logging
from .settings import Settings, load_settings

log = logging.getLogger(__name__)

WATCHDOG_PING_S = 1.0


def give_back_memory() -> None:
    """After a one-off large message (a 9999-entry local list): return the freed heap to the system.

    glibc keeps freed memory for reuse; a service that handled one 1.2 MB list would otherwise hold
    its peak (~20 MB) for the rest of its life.
    """
    # CPython's method cache keeps the last attribute name looked up per slot alive; libraries that build names
    # at run time (paho's MQTT properties) leave such strings scattered over the heap the large message took,
    # each of which keeps its whole 1 MiB arena from being given back
    sys._clear_type_cache()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to give back this way
        ctypes.CDLL(None).malloc_trim(0)


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

    def stopping(self) -> None:
        """An orderly stop begins (before `run` is cancelled): record now what must survive it, since closing
        links may take longer than the supervisor's grace."""

    async def shutdown(self) -> None:
        """Release resources (close CAN, databases). Runs after `run` is cancelled."""


async def watchdog_pings(name: str) -> None:
    """Tell the supervisor the event loop runs: a byte on the watchdog pipe every second.

    Written by a task of the loop itself, so a blocked loop falls silent at once (the broker notices only when
    the keepalive runs out); the supervisor then restarts the service. Nothing to do without a
    supervisor (`CHARGEBUS_WATCHDOG_FD` unset: compose, a terminal).
    """
    fd_text = os.environ.get("CHARGEBUS_WATCHDOG_FD")
    if not fd_text:
        return
    fd = int(fd_text)
    os.set_blocking(fd, False)
    while True:
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(fd, b".")
        await asyncio.sleep(WATCHDOG_PING_S)
        await failpoints.hit(f"{name}.block_loop")


async def cancel_and_wait(*tasks: asyncio.Task[object]) -> None:
    """Cancel `tasks` and wait until they have ended, whatever they end with.

    Not `with suppress(CancelledError): await task`: if the caller is itself cancelled during that await, the
    suppress swallows the caller's own cancellation and it runs on (a service that never stops)."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:  # retrieved: ending is all that matters here
            log.debug("task %s ended with %r", task.get_name(), task.exception())


async def serve(service_cls: type[Service], settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run a service until `stop` is set (or SIGTERM/SIGINT when called from `run_service`)."""
    stop = stop or asyncio.Event()
    failpoints.arm_from(settings.data_dir)
    bus = Bus(settings, service_cls.name)
    service = service_cls(settings, bus)
    started = datetime.now(UTC)

    async def on_order(order: RestartOrder | None, _p: dict[str, str]) -> None:
        if order is not None and service_cls.name in order.services and order.at >= started:
            log.warning("restart ordered service=%s reason=%r: stopping for the restart policy",
                        service_cls.name, order.reason)
            stop.set()

    bus.follow(RESTART_ORDER, on_order)
    pings = asyncio.create_task(watchdog_pings(service_cls.name), name="watchdog-pings")
    try:
        await service.setup()
        await bus.start(timeout=0)
        worker = asyncio.create_task(service.run(), name=f"{service_cls.name}-run")
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if worker in done and worker.exception() is not None:
                raise worker.exception()  # type: ignore[misc]
            if stopper in done:
                service.stopping()
        finally:
            await cancel_and_wait(worker, stopper)
            await service.shutdown()
            await bus.stop()
    finally:
        await cancel_and_wait(pings)


def run_service(service_cls: type[Service]) -> None:
    """Entry point of `python -m services.<name>`."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(service_cls.name, settings.log_level, settings.data_dir, settings.log_format)
    setproctitle.setproctitle(f"chargebus-{service_cls.name}")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("starting service=%s pid=%d", service_cls.name, os.getpid())
        await serve(service_cls, settings, stop)
        log.info("stopped service=%s", service_cls.name)

    try:
        asyncio.run(main())
    except StorageError as exc:
        # one line a technician can act on; the file is left exactly as it is
        log.critical("stopping: %s", exc)
        raise SystemExit(f"chargebus-{service_cls.name}: {exc} (the file is kept as it is; see docs/station.md)"
                         ) from None

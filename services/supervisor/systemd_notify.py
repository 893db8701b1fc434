"""systemd's notify protocol (sd_notify), for `Type=notify` with `WatchdogSec=` in deploy/systemd: READY
once the broker runs and the services are started, a watchdog ping from the supervisor's own event loop
(a hung supervisor is restarted by systemd), STOPPING at an orderly stop. Nothing without NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket


def notify(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)
        return True
    return False


async def watchdog_pings() -> None:
    """WATCHDOG=1 at half of systemd's WatchdogSec, for as long as this event loop runs."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit():
        return
    period = int(usec) / 2_000_000
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(period)

"""CAN I/O through python-can: frames are received in python-can's Notifier thread and handed to the loop.

`udp_multicast` (bench, tests: the simulator is another process), `socketcan` (station: can0) or
`virtual` (one process). Multicast loops our own frames back to us, so only the ids we listen to
get through (`accept`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

import can

from services.common.can_dbc import open_bus
from services.common.settings import Settings

log = logging.getLogger(__name__)


class _Forward(can.Listener):
    def __init__(self, loop: asyncio.AbstractEventLoop, accept: frozenset[int],
                 on_frame: Callable[[can.Message], None]) -> None:
        self._loop, self._accept, self._on_frame = loop, accept, on_frame

    def on_message_received(self, msg: can.Message) -> None:  # Notifier thread
        if msg.arbitration_id in self._accept and not msg.is_error_frame and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_frame, msg)

    def on_error(self, exc: Exception) -> None:
        log.error("CAN receive failed error=%s", exc)


class CanDriver:
    """Owns the python-can bus and its Notifier; `send` never blocks the loop for long."""

    SEND_TIMEOUT_S = 0.02

    def __init__(self, settings: Settings, accept: Iterable[int]) -> None:
        self._settings = settings
        self._accept = frozenset(accept)
        self._bus: can.BusABC | None = None
        self._notifier: can.Notifier | None = None
        self.send_errors = 0

    def open(self) -> None:
        self._bus = open_bus(self._settings)
        log.info("CAN open interface=%s channel=%s", self._settings.can_interface, self._settings.can_channel)

    def start(self, on_frame: Callable[[can.Message], None]) -> None:
        """Deliver accepted frames to `on_frame` on the running loop."""
        if self._bus is None:
            self.open()
        assert self._bus is not None
        listener = _Forward(asyncio.get_running_loop(), self._accept, on_frame)
        self._notifier = can.Notifier(self._bus, [listener], timeout=0.1)

    def send(self, msg: can.Message) -> bool:
        if self._bus is None:
            return False
        try:
            self._bus.send(msg, timeout=self.SEND_TIMEOUT_S)
        except can.CanError as exc:
            self.send_errors += 1
            if self.send_errors == 1 or self.send_errors % 100 == 0:
                log.warning("CAN send failed id=%#x errors=%d error=%s", msg.arbitration_id, self.send_errors, exc)
            return False
        return True

    def close(self) -> None:
        if self._notifier is not None:
            self._notifier.stop(timeout=1.0)
            self._notifier = None
        if self._bus is not None:
            self._bus.shutdown()
            self._bus = None

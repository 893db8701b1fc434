"""paho-mqtt's network I/O run on the asyncio event loop instead of in paho's own thread.

With `loop_start()` every message crossed two threads: paho's reader thread handed it to the event loop, and a
publish from the loop woke paho's thread through a socket pair to write it. Each crossing costs a wake-up and
a hand-over of the GIL, about a quarter of a bus round trip. Here the client's socket is watched by the loop
(paho's documented `on_socket_open`/`on_socket_close` callbacks and `loop_read`/`loop_write`/`loop_misc`), so a
message is read, handled and answered on one thread, and a publish is written at once.

What `loop_start()` did besides, this does too: keepalive pings (`loop_misc` every second) and reconnecting
with a growing delay after the link is lost. A connection attempt runs on the loop as well: paho makes the
socket before it queues CONNECT, so a publish from another thread could go out first. The broker is on the
station's own machine or network, where a connect succeeds or is refused at once; `CONNECT_TIMEOUT_S` bounds
the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

MIN_DELAY_S = 0.1
MAX_DELAY_S = 2.0
MISC_INTERVAL_S = 1.0
CONNECT_TIMEOUT_S = 2.0
DISCONNECT_NORMAL = b"\xe0\x00"  # MQTT 5 DISCONNECT, reason 0 (normal: no will), no properties


class LoopDriver:
    """Drives one paho client from the running event loop; `start()` once, `stop()` to disconnect and end.

    The client is made with `connect_timeout=CONNECT_TIMEOUT_S` (paho takes it only before the first connect)."""

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client
        self._loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()
        self._up = False
        self._watching_write = False
        self._inside = False  # in a call into paho, which may be calling us back
        self._task: asyncio.Task[None] | None = None
        client.on_socket_open = self._opened
        client.on_socket_close = self._closed

    def start(self) -> None:
        """Connect in the background, and again whenever the link is lost, until `stop()`."""
        self._task = asyncio.create_task(self._keep_connected(), name="mqtt-link")

    def established(self) -> None:
        """The broker accepted the connection (called from the client's on_connect): the next loss retries soon."""
        self._up = True

    def lost(self) -> None:
        """The client lost its link (called from its on_disconnect): reconnect after the delay."""
        self._lost.set()

    async def stop(self, timeout: float = 1.0) -> None:
        """End the reconnecting, send DISCONNECT (the will is not published), wait for the socket to close."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        sock = self._client.socket()
        if sock is not None:
            self._lost.clear()
            self.flush()
            if not self._sent_disconnect(sock):
                self._client.disconnect()  # written at once; the client's on_disconnect calls lost()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._lost.wait()
            if self._client.socket() is not None:  # a broker that did not close: ours closes now
                self._client.disconnect()

    def _sent_disconnect(self, sock: Any) -> bool:
        """DISCONNECT written while our socket stays open, when nothing else is half written.

        paho closes its socket as soon as DISCONNECT is written, and a socket closed with data unread (messages of
        others arriving meanwhile) is reset, not closed: the broker may then never read the DISCONNECT and
        publishes our will, "offline" after our "stopped". Written here, the broker reads it and closes the
        connection, and reading that end closes ours."""
        if self._client.want_write() or not self._client.is_connected() or not isinstance(sock, socket.socket):
            return False
        try:
            return sock.send(DISCONNECT_NORMAL) == len(DISCONNECT_NORMAL)
        except OSError:
            return False

    async def _keep_connected(self) -> None:
        delay = MIN_DELAY_S
        while True:  # until stop() cancels it
            self._lost.clear()
            self._up = False
            try:
                self._client.reconnect()
            except (OSError, ValueError) as exc:  # refused, unreachable, TLS: try again later
                log.debug("bus connect failed: %s", exc)
            else:
                while not self._lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(MISC_INTERVAL_S):
                            await self._lost.wait()
                    if not self._lost.is_set():
                        if self._paho(self._client.loop_misc) != mqtt.MQTT_ERR_SUCCESS:
                            break  # keepalive found the link dead and closed it
                        self.flush()  # its ping
            # a link that was up retries at once; a refused login or a broker that is not there yet, less often
            delay = MIN_DELAY_S if self._up else min(delay * 2, MAX_DELAY_S)
            await asyncio.sleep(delay)

    # -- paho's socket callbacks -------------------------------------------------------------------------------

    def _opened(self, _c: mqtt.Client, _u: object, sock: Any) -> None:
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Without it a QoS 1 round trip costs 44-88 ms (Nagle + delayed ACK)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._loop.add_reader(sock, self._read)

    def _closed(self, _c: mqtt.Client, _u: object, sock: Any) -> None:
        # paho closes the socket right after this returns: the loop must forget it first
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)
        self._watching_write = False

    def flush(self) -> None:
        """Write what paho has queued: after a call into paho from a callback of its own (it writes at once
        otherwise), and until the socket takes all of a big message.

        Never from inside one of paho's callbacks: paho holds a lock while it calls back and takes it again to
        report a QoS 0 message written, so writing there would wait for itself. What a callback publishes is
        written when paho returns (`_read`, `_keep_connected`)."""
        sock = self._client.socket()
        if sock is None or self._inside or not self._client.want_write():
            return
        self._paho(self._client.loop_write)
        if self._client.want_write() and self._client.socket() is sock:  # the kernel's buffer is full
            if not self._watching_write:
                self._watching_write = True
                self._loop.add_writer(sock, self._write)
        elif self._watching_write:
            self._watching_write = False
            self._loop.remove_writer(sock)

    def _paho(self, call: Callable[[], mqtt.MQTTErrorCode]) -> mqtt.MQTTErrorCode:
        self._inside = True
        try:
            return call()
        finally:
            self._inside = False

    def _read(self) -> None:
        self._paho(self._client.loop_read)
        self.flush()  # the acknowledgements it sent, and whatever our callbacks published meanwhile

    def _write(self) -> None:
        self.flush()

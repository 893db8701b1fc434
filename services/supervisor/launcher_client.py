"""The supervisor's side of the launcher (`launcher.py`): start it, ask it for children, hear of their exits.

A child started this way is a grandchild of the supervisor; `ForkedProcess` gives it the face of an
asyncio subprocess (pid, returncode, wait, terminate, kill), with its exit code reported by the launcher.
If the launcher dies, every child died with it: their handles end with -9, and the next spawn starts a
new launcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
SPAWN_TIMEOUT_S = 10.0


class LauncherGone(RuntimeError):
    """The launcher died or never became ready."""


class ForkedProcess:
    """A child forked by the launcher, seen like an asyncio subprocess."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def exited(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
            self._done.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._done)

    def _signal(self, sig: int) -> None:
        if self.returncode is None:  # never signal a pid that may belong to someone else by now
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)


class LauncherClient:
    def __init__(self, on_output: Callable[[bytes], None], forked: tuple[int, socket.socket] | None = None) -> None:
        self._on_output = on_output
        self._forked = forked  # the first launcher, forked by `chargebus run` before any thread started
        self._launcher_pid: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._sock: socket.socket | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._children: dict[int, ForkedProcess] = {}
        self._ready: asyncio.Future[int] | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()  # owned here: cancelled by stop()
        self._stopping = False
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._launcher_pid

    async def ensure(self) -> None:
        async with self._lock:
            if self._launcher_pid is None:
                await self._start()

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        if self._forked is not None:
            pid, ours = self._forked
            self._forked = None  # used once: a supervisor that runs threads never forks again
            exited = self._reaped(pid)
        else:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            env = {**os.environ, "CHARGEBUS_LAUNCHER_FD": str(theirs.fileno()),
                   "CHARGEBUS_SUPERVISOR_PID": str(os.getpid())}
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.supervisor.launcher", pass_fds=[theirs.fileno()], env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            theirs.close()
            pid, exited = self._proc.pid, self._proc.wait()
            self._own(self._pump(self._proc), "launcher-output")
        self._launcher_pid = pid
        ours.setblocking(False)
        self._sock = ours
        self.starts += 1
        loop.add_reader(ours.fileno(), self._readable)
        self._own(self._watch(pid, exited, ours), "launcher-watch")
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                pid = await asyncio.shield(self._ready)
        except TimeoutError:
            raise LauncherGone(f"the launcher was not ready within {READY_TIMEOUT_S:.0f} s") from None
        log.info("launcher ready pid=%d", pid)

    def _own(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _reaped(pid: int) -> int:
        """Exit code of our own forked child, awaited through a pidfd (no child watcher thread)."""
        loop = asyncio.get_running_loop()
        fd = os.pidfd_open(pid)
        done: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not done.done():
                done.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await done
        finally:
            loop.remove_reader(fd)
            os.close(fd)
        _pid, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    async def _pump(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self._on_output(line)

    async def _watch(self, pid: int, exited: Coroutine[Any, Any, int], sock: socket.socket) -> None:
        code = await exited
        self._launcher_pid = None
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(sock.fileno())
        sock.close()
        if self._sock is sock:
            self._sock = None
        if self._stopping:
            log.info("launcher pid=%d stopped", pid)
        else:
            log.error("launcher pid=%d exited code=%s: its children died with it", pid, code)
        for child in list(self._children.values()):
            child.exited(-signal.SIGKILL)
        self._children.clear()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(LauncherGone("the launcher exited"))
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(LauncherGone(f"the launcher exited code={code} before it was ready"))

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                return
            if not data:
                return
            self._message(json.loads(data))

    def _message(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(int(message["ready"]))
        elif "exit" in message:
            child = self._children.pop(int(message["exit"]), None)
            if child is not None:
                child.exited(int(message["code"]))
        else:
            if "pid" in message:
                # registered now, not when the waiting spawn() resumes: its exit may be the very next message read
                child = ForkedProcess(int(message["pid"]))
                self._children[child.pid] = child
                message["child"] = child
            fut = self._pending.pop(int(message["id"]), None)
            if fut is not None and not fut.done():
                fut.set_result(message)

    async def spawn(self, name: str, target: dict[str, Any], env: dict[str, str], fds: dict[str, int],
                    user: tuple[int, int] | None = None) -> ForkedProcess:
        """Fork a child: `target` is {"module": "services.power"} or {"argv": [...]}; `fds` name the
        descriptors handed over (stdout, stderr, watchdog), which the caller closes afterwards; `user`
        (uid, gid) the child runs as, None: as the launcher."""
        await self.ensure()
        sock = self._sock
        if sock is None:
            raise LauncherGone("no launcher")
        request_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = fut
        as_user = {"uid": user[0], "gid": user[1]} if user is not None else {}
        body = json.dumps({"op": "spawn", "id": request_id, "name": name, **target, "env": env,
                           "fds": list(fds), **as_user}).encode()
        sock.setblocking(True)
        try:
            socket.send_fds(sock, [body], list(fds.values()))
        finally:
            sock.setblocking(False)
        async with asyncio.timeout(SPAWN_TIMEOUT_S):
            answer = await fut
        if "error" in answer:
            raise OSError(f"launcher could not start {name}: {answer['error']}")
        child: ForkedProcess = answer["child"]
        return child

    async def stop(self, grace: float) -> None:
        self._stopping = True
        pid = self._launcher_pid
        watchers = [t for t in self._tasks if t.get_name() == "launcher-watch"]
        if pid is not None:
            if self._sock is not None:  # the launcher ignores SIGTERM: the end of its control socket ends it
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)
            try:
                async with asyncio.timeout(grace):
                    await asyncio.gather(*watchers)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for task in list(self._tasks):
            task.cancel()

"""One supervised child process: start, log pumping, back-off, stop.

Children stay in the supervisor's process group (a power cut, `kill -9` of the group, takes every
one of them) and get PR_SET_PDEATHSIG=SIGKILL, so a supervisor killed on its own never leaves an
orphan holding the CAN bus or the broker port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import logging.handlers
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from services.common.contract.supervisor import ProcessState, ProcessStatus

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.3
MAX_BACKOFF_S = 10.0
STABLE_AFTER_S = 30.0  # a child up this long is healthy again: the next death restarts fast
PR_SET_PDEATHSIG = 1
RESTART_GRACE_S = 3.0  # SIGTERM → SIGKILL for a restart on command, like a stop


def _die_with_parent() -> None:
    """Runs in the child between fork and exec.

    Ctrl-C in a terminal sends SIGINT to the whole process group; children keep it blocked (a
    blocked mask survives exec, unlike an ignored handler, which mosquitto would replace) so that
    the supervisor stops them in order, services first and the broker last, with SIGTERM.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


class Child:
    """A child the supervisor keeps running until told to stop."""

    def __init__(self, name: str, argv: list[str], logs: Path, width: int,
                 on_change: Callable[[], None], env: Callable[[], dict[str, str]] | None = None) -> None:
        self.name = name
        self.argv = argv
        self._env = env  # read at every start: a restart may bring a new boot id
        self.proc: asyncio.subprocess.Process | None = None
        self.state = ProcessState.STOPPED
        self.restarts = 0
        self.since = datetime.now(UTC)
        self._started_at = 0.0
        self._backoff = FIRST_BACKOFF_S
        self._wanted = False
        self._restart_now = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._prefix = f"{name:<{width}} | "
        self._on_change = on_change
        # stderr carries what logging cannot: tracebacks of a crash, interpreter errors
        self._errors = logging.getLogger(f"chargebus.child.{name}")
        self._errors.propagate = False
        if not self._errors.handlers:
            handler = logging.handlers.RotatingFileHandler(logs / f"{name}.stderr.log", maxBytes=2_000_000,
                                                           backupCount=2, encoding="utf-8")
            self._errors.addHandler(handler)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    def status(self) -> ProcessStatus:
        return ProcessStatus(name=self.name, state=self.state, pid=self.pid, restarts=self.restarts, since=self.since)

    def start(self) -> None:
        self._wanted = True
        self._task = asyncio.create_task(self._keep_running(), name=f"child-{self.name}")

    def restart(self) -> None:
        """Stop the running process; the keeper starts it again at once (no back-off)."""
        self._backoff = 0.0
        self._restart_now.set()
        proc = self.proc
        if proc is not None and proc.returncode is None:
            proc.terminate()
            # a service stuck in its shutdown must not block a Reset: it gets what a stop gives it
            asyncio.get_running_loop().call_later(RESTART_GRACE_S, self._kill_stuck, proc)

    def _kill_stuck(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            log.warning("child=%s pid=%d ignored SIGTERM for %.1f s: SIGKILL", self.name, proc.pid, RESTART_GRACE_S)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    def hold(self) -> None:
        """Do not restart the process when it exits (the station is stopping)."""
        self._wanted = False

    async def stop(self, grace: float) -> None:
        self._wanted = False
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                log.warning("child=%s did not stop in %.1f s: SIGKILL", self.name, grace)
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._set(ProcessState.STOPPED)

    def _set(self, state: ProcessState) -> None:
        self.state = state
        self.since = datetime.now(UTC)
        self._on_change()

    async def _keep_running(self) -> None:
        while self._wanted:
            await self._run_once()
            if not self._wanted:
                return
            self.restarts += 1
            if time.monotonic() - self._started_at > STABLE_AFTER_S:
                self._backoff = FIRST_BACKOFF_S
            delay = self._backoff
            self._set(ProcessState.BACKOFF)
            log.warning("child=%s exited code=%s restart_in=%.1fs restarts=%d", self.name,
                        self.proc.returncode if self.proc else None, delay, self.restarts)
            self._restart_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._restart_now.wait(), delay)
            self._backoff = min(MAX_BACKOFF_S, max(FIRST_BACKOFF_S, self._backoff * 2))

    async def _run_once(self) -> None:
        self._started_at = time.monotonic()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL, preexec_fn=_die_with_parent,
                env={**os.environ, **self._env()} if self._env is not None else None,
            )
        except OSError as exc:
            log.error("child=%s cannot start: %s", self.name, exc)
            await asyncio.sleep(0)
            return
        self._set(ProcessState.RUNNING)
        log.info("child=%s started pid=%d", self.name, self.proc.pid)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        await asyncio.gather(self._pump(self.proc.stdout, error=False), self._pump(self.proc.stderr, error=True),
                             self.proc.wait())

    async def _pump(self, stream: asyncio.StreamReader, error: bool) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line longer than the reader's limit: drop the rest of it
                continue
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip()
            sys.stdout.write(self._prefix + text + "\n")
            sys.stdout.flush()
            if error:
                self._errors.error(text)


def service_argv(name: str) -> list[str]:
    """The command that runs a service: the same in the supervisor and in docker-compose."""
    return [sys.executable, "-m", f"services.{name}"]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

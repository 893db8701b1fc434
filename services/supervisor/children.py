"""One supervised child: start (through the launcher), log pumping, watchdog, back-off, crash loops, stop.

Children stay in the supervisor's process group (a power cut, `kill -9` of the group, takes every one of
them) and die with the launcher, which dies with the supervisor (PR_SET_PDEATHSIG), so a supervisor
killed on its own never leaves an orphan holding the CAN bus or the broker port.

A child that dies is started again after 0.3 s, doubling to 10 s. After `CRASH_BURST` deaths within
`CRASH_WINDOW_S` it is marked `failed` (with its last error lines, for `chargebus status`) and tried
again every `failed_retry_s` until it stays up `STABLE_AFTER_S`. A service's event loop writes to its
watchdog pipe every second; one silent for `watchdog_s` is blocked, not just slow: it is killed and
started again (like systemd's WatchdogSec).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.common.contract.supervisor import ProcessState, ProcessStatus
from services.common.lifecycle import cancel_and_wait
from services.common.logs import UtcFormatter
from services.common.redact import scrub

from .launcher_client import ForkedProcess, LauncherClient, LauncherGone

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.3
MAX_BACKOFF_S = 10.0
STABLE_AFTER_S = 30.0  # a child up this long is healthy again: the next death restarts fast
CRASH_BURST = 5  # deaths within the window that make a crash loop
CRASH_WINDOW_S = 60.0
RESTART_GRACE_S = 3.0  # SIGTERM → SIGKILL for a restart on command, like a stop
WATCHDOG_START_GRACE_S = 10.0  # a service may take this long to start its event loop
ERROR_LINES = 10


@dataclass(frozen=True)
class Policy:
    failed_retry_s: float = 60.0
    watchdog_s: float = 5.0


class Child:
    """A child the supervisor keeps running until told to stop."""

    def __init__(self, name: str, target: dict[str, Any], logs: Path, width: int, on_change: Callable[[], None],
                 launcher: LauncherClient, env: Callable[[], dict[str, str]] | None = None,
                 watchdog: bool = False, policy: Policy | None = None, keep_output: bool = False,
                 mask_tags: bool = True, user: tuple[int, int] | None = None) -> None:
        self.name = name
        self.target = target  # {"module": "services.power"} or {"argv": [...]}
        self.proc: ForkedProcess | None = None
        self.state = ProcessState.STOPPED
        self.restarts = 0
        self.failed = False
        self.since = datetime.now(UTC)
        self.last_ping: float | None = None
        self.last_error: collections.deque[str] = collections.deque(maxlen=ERROR_LINES)
        self._launcher = launcher
        self._user = user  # (uid, gid) it runs as; None: the supervisor's own
        self._env = env  # read at every start: a restart may bring a new boot id
        self._watchdog = watchdog
        self._policy = policy or Policy()
        self._started_at = 0.0
        self._deaths: collections.deque[float] = collections.deque()
        self._backoff = FIRST_BACKOFF_S
        self._commanded = False
        self._wanted = False
        self._restart_now = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._prefix = f"{name:<{width}} | "
        self._on_change = on_change
        self._mask_tags = mask_tags  # idTags in full only when the station logs at DEBUG
        # stderr carries what logging cannot: tracebacks of a crash, interpreter errors, one-line exits
        self._errors = _line_log(f"chargebus.child.{name}", logs / f"{name}.stderr.log")
        # a child that has no log files of its own (the broker): its output, rotated like the services' logs
        self._output = _line_log(f"chargebus.output.{name}", logs / f"{name}.log") if keep_output else None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    def status(self) -> ProcessStatus:
        # `failed` while it waits for its next slow retry; a retry that runs shows `running` (restarts tell the story)
        state = ProcessState.FAILED if self.failed and self.state is ProcessState.BACKOFF else self.state
        return ProcessStatus(name=self.name, state=state, pid=self.pid, restarts=self.restarts, since=self.since,
                             last_error=list(self.last_error) if self.failed else [])

    def start(self) -> None:
        self._wanted = True
        self._task = asyncio.create_task(self._keep_running(), name=f"child-{self.name}")

    def restart(self) -> None:
        """Stop the running process; the keeper starts it again at once (no back-off, not a crash)."""
        self._restart_now.set()
        proc = self.proc
        if proc is not None and proc.returncode is None:
            self._commanded = True
            proc.terminate()
            # a service stuck in its shutdown must not block a Reset: it gets what a stop gives it
            asyncio.get_running_loop().call_later(RESTART_GRACE_S, self._kill_stuck, proc)

    def _kill_stuck(self, proc: ForkedProcess) -> None:
        if proc.returncode is None:
            log.warning("child=%s pid=%d ignored SIGTERM for %.1f s: SIGKILL", self.name, proc.pid, RESTART_GRACE_S)
            proc.kill()

    def hold(self) -> None:
        """Do not restart the process when it exits (the station is stopping)."""
        self._wanted = False

    async def stop(self, grace: float) -> None:
        self._wanted = False
        proc = self.proc
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(grace):
                    await proc.wait()
            except TimeoutError:
                log.warning("child=%s did not stop in %.1f s: SIGKILL", self.name, grace)
                proc.kill()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        await proc.wait()
        if self._task is not None:
            await cancel_and_wait(self._task)
        self._set(ProcessState.STOPPED)

    def check_watchdog(self, now: float) -> None:
        """Kill a service whose event loop stopped writing to its watchdog pipe (the keeper restarts it)."""
        proc = self.proc
        if not self._watchdog or proc is None or proc.returncode is not None:
            return
        last = self.last_ping if self.last_ping is not None else self._started_at + WATCHDOG_START_GRACE_S
        if now - last > self._policy.watchdog_s:
            log.error("child=%s pid=%d event loop silent for %.1f s: blocked, killing it", self.name, proc.pid,
                      now - last)
            self.last_error.append(f"event loop blocked for {now - last:.1f} s: killed by the watchdog")
            proc.kill()

    def _set(self, state: ProcessState) -> None:
        self.state = state
        self.since = datetime.now(UTC)
        self._on_change()

    async def _keep_running(self) -> None:
        while self._wanted:
            await self._run_once()
            if not self._wanted:
                return
            delay = self._after_death()
            self._restart_now.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._restart_now.wait()

    def _after_death(self) -> float:
        now = time.monotonic()
        self.restarts += 1
        ran = now - self._started_at
        if self._commanded:  # restarted on purpose (Reset, maintenance): not a crash
            self._commanded = False
            self._set(ProcessState.BACKOFF)
            return 0.0
        if ran > STABLE_AFTER_S:
            self._backoff, self.failed = FIRST_BACKOFF_S, False
            self._deaths.clear()
        self._deaths.append(now)
        while self._deaths and now - self._deaths[0] > CRASH_WINDOW_S:
            self._deaths.popleft()
        code = self.proc.returncode if self.proc else None
        if len(self._deaths) >= CRASH_BURST:
            if not self.failed:
                log.error("child=%s failed: %d deaths within %.0f s; trying again every %.0f s; last error: %s",
                          self.name, len(self._deaths), CRASH_WINDOW_S, self._policy.failed_retry_s,
                          self.last_error[-1] if self.last_error else "-")
            self.failed = True
            delay = self._policy.failed_retry_s
        else:
            delay = self._backoff
            self._backoff = min(MAX_BACKOFF_S, max(FIRST_BACKOFF_S, self._backoff * 2))
        self._set(ProcessState.BACKOFF)
        log.warning("child=%s exited code=%s after %.1fs restart_in=%.1fs restarts=%d", self.name, code, ran, delay,
                    self.restarts)
        return delay

    async def _run_once(self) -> None:
        self._started_at = time.monotonic()
        self.last_ping = None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        fds = {"stdout": out_w, "stderr": err_w}
        wd_r = None
        if self._watchdog:
            wd_r, fds["watchdog"] = os.pipe()
        try:
            self.proc = await self._launcher.spawn(self.name, self.target, self._env() if self._env else {}, fds,
                                                  self._user)
        except (OSError, LauncherGone, TimeoutError) as exc:
            log.error("child=%s cannot start: %s", self.name, exc)
            self.last_error.append(f"cannot start: {exc}")
            for fd in (out_r, err_r, wd_r):
                if fd is not None:
                    os.close(fd)
            await asyncio.sleep(0)
            return
        finally:
            for fd in fds.values():
                os.close(fd)
        self._set(ProcessState.RUNNING)
        log.info("child=%s started pid=%d", self.name, self.proc.pid)
        loop = asyncio.get_running_loop()
        if wd_r is not None:
            os.set_blocking(wd_r, False)
            loop.add_reader(wd_r, self._pinged, wd_r)
        try:
            await asyncio.gather(self._pump(out_r, error=False), self._pump(err_r, error=True), self.proc.wait())
        finally:
            if wd_r is not None:
                loop.remove_reader(wd_r)
                os.close(wd_r)

    def _pinged(self, fd: int) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            if os.read(fd, 512):
                self.last_ping = time.monotonic()

    async def _pump(self, fd: int, error: bool) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                    os.fdopen(fd, "rb", 0))
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # a line longer than the reader's limit: drop the rest of it
                    continue
                if not line:
                    return
                # scrubbed before it goes anywhere: a crash's traceback may quote a password, and these lines
                # reach the files diagnostics archives upload, the supervisor's own output and, on `failed`, the bus
                text = scrub(line.decode("utf-8", errors="replace").rstrip(), self._mask_tags)
                sys.stdout.write(self._prefix + text + "\n")
                sys.stdout.flush()
                if error:
                    self._errors.error(text)
                    self.last_error.append(text[:300])
                elif self._output is not None:
                    self._output.info(text)
        finally:
            transport.close()


def _line_log(name: str, path: Path) -> logging.Logger:
    """A rotated file of a child's lines, each stamped in UTC (diagnostics archives pick lines by their time)."""
    lines = logging.getLogger(name)
    lines.propagate = False
    lines.setLevel(logging.INFO)
    if not lines.handlers:
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
        # the lines come scrubbed, idTags masked or not as the station's level wants: not masked again here
        handler.setFormatter(UtcFormatter("%(asctime)s %(message)s", mask_tags=False))
        lines.addHandler(handler)
    return lines


# The scheduler's niceness of each service: the gateway (what the CSMS waits for) and power (the hardware) keep
# the default; the others give way to them when both cores are busy, and take what is left otherwise. On the
# bench the gateway's slowest answers to the CSMS come a quarter sooner (`make bench`, the configuration p99).
# The simulator stands for hardware, which takes none of the station's CPU: it gives way too.
NICENESS = {"auth": 5, "metering": 5, "smart_charging": 5, "sim": 5, "firmware": 10, "api": 10}


def service_target(name: str) -> dict[str, Any]:
    """What runs a service: the same module as `python -m services.<name>` in docker-compose, at its niceness."""
    return {"module": f"services.{name}", "nice": NICENESS.get(name, 0)}


def service_argv(name: str) -> list[str]:
    """The command that runs a service on its own (docker-compose, systemd per service)."""
    return [sys.executable, "-m", f"services.{name}"]


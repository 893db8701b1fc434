"""`chargebus run` and the `chargebus` commands of the system tests, forked from one pre-imported process instead
of a new interpreter.

Why: a new interpreter spends about a second of CPU importing what the station preloads (pydantic, SQLAlchemy,
the `ocpp` library, FastAPI, ...) before it runs a line of the supervisor; with 150 stations started per test
run on two cores that was a third of `make test`. The zygote imports it all once per test worker; each station
is a fork of it that runs `services.cli.main.main(["run"])`, the very function the `chargebus` script calls,
in a session of its own (so a test can still kill -9 the whole process group), with the environment and log
file the test gave it. The paths that start a real interpreter stay tested where they matter: the deploy
tests run the compose and systemd commands as written, and the services' own tests start `python -m`.

Protocol on a SOCK_SEQPACKET socket pair (`CHARGEBUS_ZYGOTE_FD` in the zygote):
- the test sends `{"id", "env", "log", "argv", "stderr"}` (argv `["run"]`: a station, in a session of its own;
  any other: a CLI command, its stderr apart when named); the zygote answers `{"id", "pid"}` or `{"id", "error"}`;
- when a child ends, the zygote sends `{"exit": pid, "code"}` (negative: killed by that signal, like Popen).
The zygote is single-threaded and runs no event loop, so a fork of it is as clean as a new process.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _child(request: dict[str, Any]) -> int:
    """In the fork: become `chargebus <argv>` with the test's environment and output; a station (`run`) in a
    session of its own."""
    argv: list[str] = request.get("argv", ["run"])
    if argv == ["run"]:
        os.setsid()
    out = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    err = os.open(request.get("stderr", request["log"]), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.closerange(3, 1 << 16)  # the zygote's socket and selector are not the child's
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(request["env"])
    gc.enable()  # off in the zygote since its preload, as in the launcher
    sys.argv = ["chargebus", *argv]
    from services.cli.main import main

    try:
        return main(argv)
    except SystemExit as exc:  # as the interpreter would report it
        if isinstance(exc.code, int):
            return exc.code
        if exc.code is not None:
            print(exc.code, file=sys.stderr)
        return 1


def _fork(request: dict[str, Any]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        code = _child(request)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            import logging

            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(control: socket.socket) -> None:
    from services.cli.main import build_parser
    from services.supervisor.launcher import preload

    preload()
    build_parser()  # imports every sub-command module, as `chargebus run` does
    import setproctitle

    # before a child clears its environment: set up later, the title would find no room and stay unchanged
    setproctitle.setproctitle("chargebus-test-zygote")
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                data = control.recv(1 << 20)
                if not data:
                    return  # the test worker is gone
                request = json.loads(data)
                try:
                    answer: dict[str, Any] = {"id": request["id"], "pid": _fork(request)}
                except OSError as exc:
                    answer = {"id": request["id"], "error": str(exc)}
                control.send(json.dumps(answer).encode())
            else:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                while True:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    control.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


class Zygote:
    """The test worker's side: starts the zygote once and hands out its forks."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote"], pass_fds=[theirs.fileno()],
            env={**os.environ, "CHARGEBUS_ZYGOTE_FD": str(theirs.fileno())},
            cwd=Path(__file__).parent.parent,
        )
        theirs.close()
        self._control = ours
        self._lock = threading.Lock()
        self._answers: dict[int, dict[str, Any]] = {}
        self.exits: dict[int, int] = {}
        self._next = 0

    def _pump(self, timeout: float) -> None:
        """Read what the zygote said (an answer, an exit), for whoever waits on it."""
        with self._lock:
            self._control.settimeout(max(timeout, 0.001))
            try:
                data = self._control.recv(1 << 16)
            except TimeoutError:
                return
            if not data:
                raise RuntimeError("the test zygote is gone")
            message = json.loads(data)
            if "exit" in message:
                self.exits[message["exit"]] = message["code"]
            else:
                self._answers[message["id"]] = message

    def spawn(self, env: dict[str, str], log: Path, argv: list[str] | None = None, stderr: Path | None = None
              ) -> Forked:
        request: dict[str, Any] = {"env": env, "log": str(log), "argv": argv or ["run"]}
        if stderr is not None:
            request["stderr"] = str(stderr)
        with self._lock:
            self._next += 1
            ident = self._next
            self._control.send(json.dumps({"id": ident, **request}).encode())
        deadline = time.monotonic() + 30
        while ident not in self._answers:
            if time.monotonic() > deadline:
                raise TimeoutError("the test zygote did not fork")
            self._pump(deadline - time.monotonic())
        answer = self._answers.pop(ident)
        if "error" in answer:
            raise OSError(answer["error"])
        self.exits.pop(answer["pid"], None)  # an earlier child that had this pid
        return Forked(self, answer["pid"])

    def wait(self, pid: int, timeout: float | None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self.exits:
            remaining = 1.0 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._pump(min(remaining, 1.0))
        return self.exits[pid]


class Forked:
    """A station forked by the zygote, used like the `subprocess.Popen` of `chargebus run`."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self._zygote = zygote
        self.pid = pid
        self.args = ["chargebus", "run"]

    @property
    def returncode(self) -> int | None:
        return self._zygote.exits.get(self.pid)

    def poll(self) -> int | None:
        return self._zygote.wait(self.pid, 0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._zygote.wait(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_zygote: Zygote | None = None


def chargebus(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """A `chargebus` command as a technician types it (the same `main`), forked from the zygote: its exit code and
    what it printed on stdout and stderr."""
    with tempfile.TemporaryDirectory(prefix="chargebus-cli-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        child = zygote().spawn(env, out, list(args), stderr=err)
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
            raise
        return subprocess.CompletedProcess(["chargebus", *args], code, out.read_text(errors="replace"),
                                           err.read_text(errors="replace"))


def zygote() -> Zygote:
    global _zygote
    if _zygote is None:
        _zygote = Zygote()
    return _zygote


def main() -> None:
    # no death signal: it is tied to the thread that started us (a test may have, from asyncio.to_thread), not to
    # the worker; the worker's end closes the control socket, and that ends the zygote
    serve(socket.socket(fileno=int(os.environ.pop("CHARGEBUS_ZYGOTE_FD"))))


if __name__ == "__main__":
    main()

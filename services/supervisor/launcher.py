"""The launcher: one pre-imported, single-threaded process that forks every child of the station.

Why: nine Python processes that each import pydantic, paho, SQLAlchemy, the `ocpp` library... hold the
same pages nine times. Forked from one process that imported them once (and froze its objects out of
the garbage collector's reach), they share those pages copy-on-write. And the supervisor, which runs
threads (paho), never forks: a `preexec_fn` in a threaded process can deadlock the fork.

Protocol on the SOCK_SEQPACKET socket the supervisor hands over (`CHARGEBUS_LAUNCHER_FD`):
- the supervisor sends `{"op": "spawn", "id", "name", "module" | "argv", "env", "fds": [names]}` with
  the file descriptors (stdout, stderr, and a watchdog pipe for services) attached (SCM_RIGHTS), and
  `"uid", "gid"` when the child is to run as that user (the launcher runs as root then; `separation.py`),
  `"nice"` for a service that gives way to the others (`children.NICENESS`), and `"preload_after": true` for
  the first service: the launcher imports `PRELOAD_LATE` once it is forked;
- the launcher answers `{"id", "pid"}` (or `{"id", "error"}`) and later `{"exit": pid, "code"}`.
Every child dies with the launcher (PR_SET_PDEATHSIG), the launcher dies with the supervisor, and all
of them keep SIGINT blocked: on Ctrl-C the supervisor stops the services first and the broker last. The
launcher also ignores SIGTERM (a stop of the whole process group) and leaves when the supervisor closes
the socket.
A service's own process is the one `python -m services.<name>` would give: same code, same main.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import sys
import traceback
from typing import Any

from . import page_merging, shared_heap

PR_SET_PDEATHSIG = 1
M_ARENA_MAX = -8
CHILD_UMASK = 0o027
WATCHDOG_FD = 3  # where a service finds its watchdog pipe (CHARGEBUS_WATCHDOG_FD names it)
PRELOAD = (
    # what most services import anyway: imported once here, shared by every fork; and the gateway's own (the
    # first service to start: the CSMS waits for it)
    "pydantic", "pydantic_settings", "paho.mqtt.client", "sqlalchemy", "setproctitle", "jsonschema",
    "services.common.settings", "services.common.bus", "services.common.lifecycle", "services.common.db",
    "services.common.settings_view",
    "services.common.contract", "ocpp.v16", "websockets.asyncio.client", "services.ocpp_gateway.service",
)
# what the other services import besides: once the first service is forked, which does not wait for it
PRELOAD_LATE = (
    "can", "cantools", "services.power.service", "services.sim.service", "services.auth.service",
    "services.metering.service", "services.smart_charging.service", "services.firmware.service",
    "services.api.service",
)


def die_with_parent(expected_parent: int | None = None) -> None:
    """PR_SET_PDEATHSIG=SIGKILL, SIGINT blocked; exit at once if the parent is already gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)  # the parent died before the death signal was armed


def become_user(uid: int, gid: int) -> None:
    """Drop root for good: the account's uid, the station's group and no other, files the group may read
    (its logs, for diagnostics archives) and nobody else."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.umask(CHILD_UMASK)


def limit_malloc_arenas() -> None:
    """One malloc arena per extra thread would be private to every process (each worker of `asyncio.to_thread`):
    two arenas in all, set before the first fork, are inherited by every child."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mallopt(M_ARENA_MAX, 2)


# what the gateway imports only for one OCPP version (the 1.6 side is in PRELOAD: the default)
PRELOAD_FOR_VERSION = {"2.0.1": ("ocpp.v201", "services.ocpp_gateway.v201.edition")}


def preload(names: tuple[str, ...] = (*PRELOAD, *PRELOAD_LATE), merge_pages: bool = False) -> None:
    """Import what the children share (`names`), then freeze it for them, and with `merge_pages` offer it to
    the kernel's same-page merging (`page_merging.py`).

    The collector stays off from here until each child starts (the recipe of the `gc` documentation for
    fork without exec): a collection now would free objects among the shared ones, and every child's first
    allocations would fill those holes, copying each page they sit in."""
    gc.disable()
    limit_malloc_arenas()
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # a service that cannot import will say so itself when it starts
            print(f"launcher: preload of {name} failed: {exc}", file=sys.stderr)
    warm_up(names)
    shared_heap.tag_classes()
    shared_heap.take_heap_holes()
    gc.freeze()  # objects imported so far are never touched by the collector: their pages stay shared
    if merge_pages:
        try:
            page_merging.mark_mergeable()
        except OSError as exc:  # a kernel without KSM: the station runs as without the setting
            print(f"launcher: memory not offered for page merging: {exc}", file=sys.stderr)


def warm_up(names: tuple[str, ...] = (*PRELOAD, *PRELOAD_LATE)) -> None:
    """Build what the libraries build lazily on first use, once, before the forks share it: a forked child
    that builds it itself writes into pages it shares with every other child, and each gets its own copy.

    Each preloaded module that knows what to build declares it as a module-level `warm_up()`; the launcher
    knows none of it. A warm-up that fails costs memory, not function: it is reported and the next one runs."""
    for name in names:
        hook = getattr(sys.modules.get(name), "warm_up", None)
        if callable(hook):
            try:
                hook()
            except Exception as exc:
                print(f"launcher: warm-up of {name} failed: {exc!r}", file=sys.stderr)


class Launcher:
    def __init__(self, control: socket.socket, late: tuple[str, ...] = (), merge_pages: bool = False) -> None:
        """`late`: imported once the first service is forked (`PRELOAD_LATE`), when not already."""
        self.control = control
        self.late, self.merge_pages = late, merge_pages
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.control:
                    if not self._request():
                        return  # the supervisor is gone
                else:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 4096)
                    self._reap()

    def _send(self, message: dict[str, Any]) -> None:
        self.control.send(json.dumps(message).encode())

    def _request(self) -> bool:
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.control, 65536, 8)
        except ConnectionResetError:
            return False
        if not data:
            return False
        request = json.loads(data)
        try:
            pid = self._spawn(request, fds)
        except OSError as exc:
            self._send({"id": request.get("id"), "error": str(exc)})
        else:
            self._send({"id": request["id"], "pid": pid})
        finally:
            for fd in fds:
                os.close(fd)
        if self.late and request.get("preload_after"):  # the next spawn requests wait in the socket meanwhile
            late, self.late = self.late, ()
            preload(late, self.merge_pages)
        return True

    def _spawn(self, request: dict[str, Any], fds: list[int]) -> int:
        pid = os.fork()
        if pid != 0:
            return pid
        code = 1
        try:
            self._become(request, fds)
            if "argv" in request:
                os.execvpe(request["argv"][0], request["argv"], dict(os.environ))
            sys.argv = [request["module"]]
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            if isinstance(exc.code, int) or exc.code is None:
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        return 0  # never reached: the child always ends in os._exit

    def _become(self, request: dict[str, Any], fds: list[int]) -> None:
        """In the forked child: the launcher's plumbing goes, the child's own comes in."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # ignored by the launcher only; an exec would keep SIG_IGN
        self.selector.close()
        self.control.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        if "uid" in request:
            become_user(int(request["uid"]), int(request["gid"]))
        die_with_parent()  # after the change of user, which clears the death signal
        names = request.get("fds", ["stdout", "stderr"])
        given = dict(zip(names, fds, strict=True))
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(given["stdout"], 1)
        os.dup2(given["stderr"], 2)
        keep = 3
        if "watchdog" in given:
            os.dup2(given["watchdog"], WATCHDOG_FD)
            os.environ["CHARGEBUS_WATCHDOG_FD"] = str(WATCHDOG_FD)
            keep = WATCHDOG_FD + 1
        os.closerange(keep, 1 << 16)
        os.nice(int(request.get("nice", 0)))
        os.environ.update(request.get("env", {}))
        gc.enable()  # off in the launcher since the preload (see `preload`)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._send({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _run(control: socket.socket, late: tuple[str, ...] = (), merge_pages: bool = False) -> None:
    # A stop of the whole process group (systemd's KillMode=control-group, `kill -- -PGID`) reaches the launcher
    # with the rest: dying then would SIGKILL every child (their death signal) in the middle of its orderly
    # stop. The launcher leaves when the supervisor, done stopping them, closes the control socket.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    launcher = Launcher(control, late, merge_pages)
    try:
        import setproctitle

        setproctitle.setproctitle("chargebus-launcher")
    except ImportError:
        pass
    launcher._send({"ready": os.getpid()})
    launcher.serve()


def fork_launcher(ocpp_version: str = "1.6", merge_pages: bool = False) -> tuple[int, socket.socket]:
    """From `chargebus run` before it starts any thread: preload, then fork the launcher from this very process,
    so the supervisor shares every preloaded page with the launcher and the services. Returns (pid, socket).

    What only the services after the first need (`PRELOAD_LATE`) the launcher imports after forking the first:
    the supervisor has no use for it, and the gateway's start does not wait for it."""
    preload((*PRELOAD, *PRELOAD_FOR_VERSION.get(ocpp_version, ())), merge_pages)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ours.close()
            die_with_parent(parent)
            keep = sorted({0, 1, 2, theirs.fileno()})
            for low, high in zip(keep, [*keep[1:], 1 << 16], strict=True):  # the supervisor's files are not ours
                os.closerange(low + 1, high)
            _run(theirs, PRELOAD_LATE, merge_pages)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    theirs.close()
    return pid, ours


def main() -> None:
    """A launcher started on its own (after the first one died: the supervisor then runs threads and must
    not fork itself)."""
    die_with_parent(int(os.environ["CHARGEBUS_SUPERVISOR_PID"]))
    control = socket.socket(fileno=int(os.environ.pop("CHARGEBUS_LAUNCHER_FD")))
    from services.common.settings import load_settings  # preloaded anyway

    settings = load_settings()
    preload((*PRELOAD, *PRELOAD_FOR_VERSION.get(settings.ocpp_version, ()), *PRELOAD_LATE), settings.page_merging)
    _run(control)


if __name__ == "__main__":
    main()

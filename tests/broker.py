"""A real Mosquitto broker on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import getpass
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

LOWEST_PORT = 10_000
_given: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A port to listen on that nobody else will take meanwhile.

    Not from the kernel's ephemeral range: any outgoing connection of a parallel test (a client of a broker,
    of a CSMS) may be given that very port between our check and the listener's bind. Each xdist worker has
    its own slice below that range, and a port is handed out once per worker.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    slices = 16
    width = (_ephemeral_start() - LOWEST_PORT) // slices
    low = LOWEST_PORT + (index % slices) * width
    for _ in range(1000):
        port = random.randrange(low, low + width)
        if port in _given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {low}..{low + width}")


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port}")


class Broker:
    """Mosquitto with persistence in `data_dir`; `restart()` keeps port and persisted state."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None
        data_dir.mkdir(parents=True, exist_ok=True)
        self.conf = data_dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"user {getpass.getuser()}\n"
            "allow_anonymous true\n"
            "set_tcp_nodelay true\n"
            "persistence true\n"
            f"persistence_location {data_dir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 100000\n"
            "log_dest none\n"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class MosquittoProcess:
    """`mosquitto -c conf` for the length of a `with` block."""

    def __init__(self, conf: Path, port: int) -> None:
        self.conf = conf
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Any:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)


class StationBroker(MosquittoProcess):
    """The station's own broker as `chargebus run` configures it (accounts, ACL, bridge), for a test."""

    def __init__(self, settings: Any) -> None:
        from services.supervisor.broker_conf import write_conf

        super().__init__(write_conf(settings), settings.mqtt_port)

"""`chargebus run`: the launcher, the broker, then every service; restarts, watchdog, clean stop.

The supervisor is itself a bus client named `supervisor` (health, the restart command, the
process table), so a technician sees and drives it with the same tools as every service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import time
import uuid

import websockets
from websockets.asyncio.client import connect

from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode
from services.common.contract.supervisor import PROCESSES, RESTART, ProcessTable, RestartReply, RestartRequest
from services.common.redact import scrub
from services.common.settings import Settings

from .broker_conf import BrokerSetupError, broker_db, move_aside, write_conf
from .children import Child, Policy, service_target
from .launcher_client import LauncherClient
from .separation import identity
from .slot_keeper import SlotKeeper
from .slots import BootState
from .systemd_notify import notify, watchdog_pings

log = logging.getLogger(__name__)

BROKER = "mosquitto"
STOP_GRACE_S = 3.0  # SIGTERM → SIGKILL per child; the whole stop stays within 5 s
BROKER_WAIT_S = 10.0
BUSY_PORT_WAIT_S = 2.0
WATCHDOG_CHECK_S = 1.0
DEV_CSMS = "csms"
DEV_CSMS_WAIT_S = 5.0


def dev_csms_wanted(settings: Settings) -> bool:
    """The bench with no Central System configured: the development CSMS stands in for one.

    A station (with_sim off) never runs it, and a CSMS URL of one's own switches it off.
    """
    return settings.with_sim and settings.csms_url == Settings.model_fields["csms_url"].default


def dev_csms_url(settings: Settings) -> str:
    return f"ws://127.0.0.1:{settings.dev_csms_port}/ocpp"


class Supervisor:
    def __init__(self, settings: Settings, launcher: tuple[int, socket.socket] | None = None,
                 boot: BootState | None = None, separate: bool = False) -> None:
        self.settings = settings
        self.logs = settings.data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        names = list(self.service_names())
        width = max(len(n) for n in [*names, BROKER, "supervisor", "launcher"])
        self._launcher_prefix = f"{'launcher':<{width}} | "
        self.launcher = LauncherClient(self._launcher_output, launcher)
        # one boot of the station: every child gets it; restarting them all (Reset, firmware) is a new boot,
        # restarting one is not (the gateway announces itself to the CSMS only for a new boot)
        self.boot_id = uuid.uuid4().hex
        policy = Policy(failed_retry_s=settings.failed_retry_s, watchdog_s=settings.watchdog_s)
        mask_tags = settings.log_level != "DEBUG"
        try:
            conf = write_conf(settings)
        except BrokerSetupError as exc:
            raise SystemExit(f"chargebus: {exc}") from None
        self.broker = Child(BROKER, {"argv": [self._mosquitto(), "-c", str(conf)]}, self.logs,
                            width, self._changed, self.launcher, policy=policy, keep_output=True, mask_tags=mask_tags)
        def user(name: str) -> tuple[int, int] | None:
            return identity(settings, name) if separate else None

        # the broker stays root: it reads the hashed passwords, root's alone, at start
        # the first service (the gateway: the CSMS waits for it) starts before the launcher imports what only
        # the others need (`launcher.PRELOAD_LATE`)
        self.children = {n: Child(n, service_target(n) | ({"preload_after": True} if n == names[0] else {}),
                                  self.logs, width, self._changed, self.launcher, env=self._child_env,
                                  watchdog=True, policy=policy, mask_tags=mask_tags, user=user(n))
                         for n in names}
        # not a station service (no bus, no watchdog pipe): it stands for the remote Central System
        self.dev_csms = Child(DEV_CSMS, {"module": "services.csms"}, self.logs, width, self._changed, self.launcher,
                              env=self._child_env, policy=policy, user=user(DEV_CSMS)
                              ) if dev_csms_wanted(settings) else None
        self.bus = Bus(settings, "supervisor")
        self.bus.handle(RESTART, self.on_restart)
        self.bus.when_connected(self._publish)
        self._publish_soon = False
        self._dirty = False
        self.exec_into: str | None = None  # a firmware slot to restart from, once everything stopped
        self._stop: asyncio.Event | None = None
        self.slots = SlotKeeper(self.bus, settings.data_dir, boot, settings.firmware_trial_s, tuple(names),
                                lambda name: self.children[name].pid, self._switch) if boot is not None else None

    def _child_env(self) -> dict[str, str]:
        env = {"CHARGEBUS_BOOT_ID": self.boot_id}
        if self.dev_csms is not None:
            env["CHARGEBUS_CSMS_URL"] = dev_csms_url(self.settings)
        return env

    def _launcher_output(self, line: bytes) -> None:
        sys.stdout.write(self._launcher_prefix + scrub(line.decode("utf-8", errors="replace").rstrip()) + "\n")
        sys.stdout.flush()

    def service_names(self) -> tuple[str, ...]:
        return tuple(s for s in self.settings.services if s != "sim" or self.settings.with_sim)

    def _mosquitto(self) -> str:
        found = shutil.which(self.settings.mosquitto_bin)
        if found is None:
            raise SystemExit(f"chargebus: the broker `{self.settings.mosquitto_bin}` is not installed "
                             "(apt-get install mosquitto, or run `make run`)")
        return found

    def _switch(self, slot: str) -> None:
        """Stop the station, then restart the supervisor from `slot` (a firmware install or its rollback)."""
        self.exec_into = slot
        self.boot_id = uuid.uuid4().hex
        if self._stop is not None:
            self._stop.set()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        started = time.monotonic()
        await self._refuse_busy_port()
        await self.launcher.ensure()
        if self.dev_csms is not None:
            self.dev_csms.start()
        await self._start_broker()
        await self.bus.start(timeout=BROKER_WAIT_S)
        if self.dev_csms is not None:
            await self._wait_dev_csms()
        for child in self.children.values():
            child.start()
        log.info("station started services=%d broker_port=%d in=%.2fs", len(self.children), self.settings.mqtt_port,
                 time.monotonic() - started)
        self._publish()
        notify(f"READY=1\nSTATUS=broker and {len(self.children)} services started\nMAINPID={os.getpid()}")
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self._republish(), name="republish"),
                     tg.create_task(self._watchdog(), name="watchdog"),
                     tg.create_task(watchdog_pings(), name="systemd-watchdog")]
            if self.slots is not None:
                tasks.append(tg.create_task(self.slots.watch_trial(), name="firmware-trial"))
            await stop.wait()
            for task in tasks:
                task.cancel()

    async def _start_broker(self) -> None:
        """Start the broker; a persistence file it cannot read is moved aside (kept), and it starts again.

        SQLite is the station's source of truth: the broker's file only saves what every service publishes
        again when it reconnects.
        """
        self.broker.start()
        try:
            await self._wait_broker()
            return
        except SystemExit:
            db = broker_db(self.settings)
            if not db.exists():
                raise
        aside = move_aside(db)
        log.error("the broker could not start with %s: moved aside to %s (kept), starting it again", db, aside)
        self.broker.restart()
        await self._wait_broker()

    async def shutdown(self) -> None:
        notify("STOPPING=1")
        extra = [self.dev_csms] if self.dev_csms is not None else []
        for child in (self.broker, *self.children.values(), *extra):
            child.hold()  # from now on a child that exits stays down
        await asyncio.gather(*(c.stop(STOP_GRACE_S) for c in self.children.values()))
        await asyncio.gather(*(c.stop(STOP_GRACE_S) for c in extra))
        self._publish()
        await self.bus.stop()
        await self.broker.stop(1.0)
        await self.launcher.stop(1.0)

    async def _refuse_busy_port(self) -> None:
        """Refuse to start on a port someone else listens on: our broker could not bind, and we would find theirs.

        Our services would then join a foreign bus with the same client ids and take over its sessions.
        A broker of ours that is still dying (power cut, then an immediate restart) gets a moment to go.
        """
        deadline = time.monotonic() + BUSY_PORT_WAIT_S
        while True:
            try:
                _, writer = await asyncio.open_connection(self.settings.mqtt_host, self.settings.mqtt_port)
            except OSError:
                return
            writer.close()
            if time.monotonic() > deadline:
                raise SystemExit(f"chargebus: port {self.settings.mqtt_port} is already in use (another station or a "
                                 "system mosquitto?); stop it or set CHARGEBUS_MQTT_URL")
            await asyncio.sleep(0.1)

    async def _wait_broker(self) -> None:
        deadline = time.monotonic() + BROKER_WAIT_S
        deaths = self.broker.restarts
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(self.settings.mqtt_host, self.settings.mqtt_port)
                writer.close()
                return
            if self.broker.restarts > deaths:
                break  # it died at start (the log says why)
            await asyncio.sleep(0.02)
        raise SystemExit(f"chargebus: the broker did not listen on port {self.settings.mqtt_port} within "
                         f"{BROKER_WAIT_S:.0f} s; see {self.logs / 'mosquitto.log'}")

    async def _wait_dev_csms(self) -> None:
        """The gateway's first connection finds the dev CSMS listening (a refused one backs off for a while).

        The probe is a WebSocket handshake on its control path, which a bare handshake leaves silent."""
        url = f"ws://127.0.0.1:{self.settings.dev_csms_port}/control"
        deadline = time.monotonic() + DEV_CSMS_WAIT_S
        while time.monotonic() < deadline:
            try:
                async with connect(url, open_timeout=1, close_timeout=1):
                    return
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                await asyncio.sleep(0.05)
        log.warning("the dev CSMS does not listen on port %d (see its lines above): the gateway keeps trying",
                    self.settings.dev_csms_port)

    async def on_restart(self, request: RestartRequest, _params: dict[str, str]) -> RestartReply:
        if request.service is not None and request.service not in self.children:
            raise BusError(ErrorCode.NOT_FOUND, f"no service {request.service!r}; known: {sorted(self.children)}")
        names = [request.service] if request.service else list(self.children)
        if request.service is None:
            self.boot_id = uuid.uuid4().hex
        log.warning("restart services=%s reason=%r", names, request.reason)
        self.bus.after_reply(lambda: self._restart(names))  # the caller may be one of the services restarted
        return RestartReply(restarting=names)

    def _restart(self, names: list[str]) -> None:
        for name in names:
            self.children[name].restart()

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_CHECK_S)
            now = time.monotonic()
            for child in self.children.values():
                child.check_watchdog(now)

    def _changed(self) -> None:
        if not self._publish_soon:
            self._publish_soon = True
            asyncio.get_running_loop().call_soon(self._publish)

    def _publish(self) -> None:
        self._publish_soon = False
        self._dirty = True
        if self.bus.connected:
            extra = [self.dev_csms] if self.dev_csms is not None else []
            table = ProcessTable(processes=[c.status() for c in (self.broker, *self.children.values(), *extra)])
            self.bus.publish(PROCESSES, table)
            self._dirty = False

    async def _republish(self) -> None:
        """A change seen while the broker was down (e.g. its own restart) is published once it is back."""
        while True:
            await asyncio.sleep(0.2)
            if self._dirty and self.bus.connected:
                self._publish()


async def supervise(settings: Settings, launcher: tuple[int, socket.socket] | None = None,
                    boot: BootState | None = None, separate: bool = False) -> str | None:
    """Run the station until SIGTERM/SIGINT; returns the firmware slot to restart from, if one was chosen."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    supervisor = Supervisor(settings, launcher, boot, separate)
    log.info("chargebus run pid=%d pgid=%d data_dir=%s", os.getpid(), os.getpgid(0), settings.data_dir)
    try:
        await supervisor.run(stop)
    finally:
        await supervisor.shutdown()
    log.info("station stopped")
    return supervisor.exec_into

"""The supervisor's side of a firmware install: switch to a slot, keep the new version on trial, go back.

The firmware service builds the slot and asks (`cmd/install`); from then on the decision is here, in the
process that outlives every service: the station stops, restarts itself from the slot, and the version
stays on trial until every service has reported online under it within `firmware_trial_s`. Otherwise the
previous slot comes back, and `state/slots` says why (the firmware service of whichever version runs
then reports install_failed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from services.common.bus import Bus
from services.common.contract.common import HEALTH, Health, HealthState
from services.common.contract.supervisor import (
    INSTALL,
    SLOTS,
    FirmwareOutcome,
    InstallReply,
    InstallRequest,
    SlotState,
)
from services.common.version import VERSION

from . import data_snapshot, slots
from .slots import BootState

log = logging.getLogger(__name__)

TRIAL_CHECK_S = 0.5


class SlotKeeper:
    def __init__(self, bus: Bus, data_dir: Path, boot: BootState, trial_s: float, services: tuple[str, ...],
                 pid_of: Callable[[str], int | None], switch: Callable[[str], None]) -> None:
        self.bus = bus
        self.data_dir = data_dir
        self.path = slots.state_path(data_dir)
        self.boot = boot
        self.trial_s = trial_s
        self.services = services
        self.pid_of = pid_of  # the running pid of a child, to tell its health from a predecessor's
        self.switch = switch  # stop everything, then restart the supervisor from this slot
        self.online: dict[str, int] = {}
        bus.handle(INSTALL, self.on_install)
        bus.follow(HEALTH, self.on_health)
        bus.when_connected(self.publish)

    def publish(self) -> None:
        outcome = self.boot.outcome
        self.bus.publish(SLOTS, SlotState(
            running_version=VERSION, active=self.boot.active, previous=self.boot.previous,
            trial=self.boot.trial_version,
            outcome=None if outcome is None else FirmwareOutcome(
                version=outcome.version, installed=outcome.installed, reason=outcome.reason,
                at=datetime.fromisoformat(outcome.at))))

    async def on_health(self, health: Health | None, params: dict[str, str]) -> None:
        name = params.get("service", "")
        if health is not None and health.state is HealthState.ONLINE:
            self.online[name] = health.pid
        else:
            self.online.pop(name, None)

    async def on_install(self, request: InstallRequest, _p: dict[str, str]) -> InstallReply:
        if self.boot.trial_version is not None:
            return InstallReply(switching=False, reason=f"version {self.boot.trial_version} is still on trial")
        refused = slots.not_installable(request.slot, request.version, self.data_dir)
        if refused is not None:
            log.error("install of %s refused: %s", request.slot, refused)
            return InstallReply(switching=False, reason=refused)
        self.boot = slots.switching(self.boot, request.slot, request.version)
        slots.save(self.path, self.boot)
        log.warning("firmware %s installed in %s: the station restarts from it (on trial for %.0f s)",
                    request.version, request.slot, self.trial_s)
        self.bus.after_reply(lambda: self.switch(request.slot))  # the caller is one of the services that stop
        return InstallReply(switching=True)

    async def watch_trial(self) -> None:
        """While a version is on trial: every service online under it, or back to the previous slot."""
        if self.boot.trial_version is None:
            return
        deadline = time.monotonic() + self.trial_s
        while time.monotonic() < deadline:
            missing = self._missing()
            if not missing:
                self.boot = slots.installed(self.boot)
                slots.save(self.path, self.boot)
                data_snapshot.discard(self.data_dir)  # the version stays: so do the databases it migrated
                log.info("firmware %s runs: every service online", self.boot.outcome.version if self.boot.outcome
                         else "?")
                self.publish()
                return
            await asyncio.sleep(TRIAL_CHECK_S)
        reason = f"not online within {self.trial_s:.0f} s: {', '.join(self._missing())}"
        self.boot = slots.rolled_back(self.boot, reason)
        slots.save(self.path, self.boot)
        log.error("firmware on trial rolled back (%s): restarting from %s", reason, self.boot.active)
        self.switch(self.boot.active)

    def _missing(self) -> list[str]:
        return [s for s in self.services if self.pid_of(s) is None or self.online.get(s) != self.pid_of(s)]

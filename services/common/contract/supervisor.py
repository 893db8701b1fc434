"""Supervisor topics: restarting services (Reset, firmware install) and the process table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Never

from pydantic import Field

from .base import Kind, Model, Topic


class RestartRequest(Model):
    service: str | None = Field(None, description="Service to restart; null restarts every service.")
    reason: str = Field("", max_length=200, description="Logged with the restart.")


class RestartReply(Model):
    restarting: list[str] = Field(description="Services that will be restarted.")


class ProcessState(StrEnum):
    RUNNING = "running"
    BACKOFF = "backoff"  # died, waiting before the next start
    FAILED = "failed"  # a crash loop: it died again and again; tried again slowly until it stays up
    STOPPED = "stopped"


class ProcessStatus(Model):
    name: str
    state: ProcessState
    pid: int | None
    restarts: int = Field(ge=0, description="Restarts since the supervisor started.")
    since: datetime
    last_error: list[str] = Field(default_factory=list, max_length=10,
                                  description="Its last error lines (stderr) while `failed`.")


class ProcessTable(Model):
    processes: list[ProcessStatus]


RESTART = Topic(
    "chargebus/supervisor/cmd/restart",
    Kind.CMD,
    RestartRequest,
    reply=RestartReply,
    owner="supervisor",
    subscribers=("ocpp_gateway", "api", "cli"),
    doc="Restart one service, or all of them (the broker stays up). Answered before the restart begins.",
    example={"service": "metering", "reason": "maintenance"},
)

class RestartOrder(Model):
    services: list[str] = Field(description="The services to stop now; their restart policy starts them again.")
    reason: str = ""
    at: datetime = Field(description="A service started after this ignores the order (a late delivery).")


RESTART_ORDER: Topic[RestartOrder, Never] = Topic(
    "chargebus/supervisor/event/restart_order", Kind.EVENT, RestartOrder, owner="supervisor",
    subscribers=("every service",),
    doc="Under docker-compose, where no supervisor holds the processes: the named services stop in order and "
    "compose's restart policy starts them again (the Reset of a CSMS, `chargebus restart`).",
    example={"services": ["metering"], "reason": "maintenance", "at": "2026-11-26T17:00:00Z"},
)

PROCESSES: Topic[ProcessTable, Never] = Topic(
    "chargebus/supervisor/state/processes",
    Kind.STATE,
    ProcessTable,
    owner="supervisor",
    retain=True,
    subscribers=("api", "cli"),
    doc="The supervisor's view of its children, published on every change.",
    example={"processes": [{"name": "power", "state": "running", "pid": 4243, "restarts": 0,
                            "since": "2026-11-24T22:00:00Z"}]},
)


# written last into a slot by the firmware service once the image verified and the slot passed its self-check;
# the supervisor installs only a slot under `<data_dir>/firmware/slots/` that carries it, naming the version
SLOT_MARKER = "slot.json"


class InstallRequest(Model):
    slot: str = Field(min_length=1, description="The directory of a complete installed version (a virtual "
                      "environment built from a verified image).")
    version: str = Field(min_length=1, max_length=64)


class InstallReply(Model):
    switching: bool = Field(description="The station restarts into the slot now (false: refused, see reason).")
    reason: str | None = None


class FirmwareOutcome(Model):
    version: str
    installed: bool = Field(description="True: the version came up and runs; false: rolled back.")
    reason: str | None = Field(None, description="Why it was rolled back.")
    at: datetime


class SlotState(Model):
    """Which installed version runs, which ran before it, and the last install's outcome."""

    running_version: str
    active: str = Field(description="The slot (virtual environment) the station starts from.")
    previous: str | None = Field(None, description="The slot a failed install goes back to.")
    trial: str | None = Field(None, description="The version on trial: not yet seen with every service online.")
    outcome: FirmwareOutcome | None = None


INSTALL = Topic(
    "chargebus/supervisor/cmd/install",
    Kind.CMD,
    InstallRequest,
    reply=InstallReply,
    owner="supervisor",
    subscribers=("firmware",),
    doc="Switch to an installed slot: every service and the broker stop, the supervisor restarts itself from the "
    "slot, and the new version is on trial until every service is online (`firmware_trial_s`); otherwise the "
    "previous slot comes back and the outcome says why. Answered before the switch begins.",
    example={"slot": "/var/lib/chargebus/firmware/slots/0.2.0-1", "version": "0.2.0"},
)

SLOTS: Topic[SlotState, Never] = Topic(
    "chargebus/supervisor/state/slots",
    Kind.STATE,
    SlotState,
    owner="supervisor",
    retain=True,
    subscribers=("firmware", "api", "cli"),
    doc="The installed versions (active, previous), a version on trial and the last install's outcome.",
    example={"running_version": "0.2.0", "active": "/var/lib/chargebus/firmware/slots/0.2.0-1",
             "previous": "/opt/chargebus/venv", "trial": None,
             "outcome": {"version": "0.2.0", "installed": True, "reason": None, "at": "2026-11-26T18:00:00Z"}},
)

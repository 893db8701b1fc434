"""Supervisor topics: restarting services (Reset, firmware install) and the process table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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
    subscribers=("ocpp_gateway", "firmware", "api", "cli"),
    doc="Restart one service, or all of them (the broker stays up). Answered before the restart begins.",
    example={"service": "metering", "reason": "maintenance"},
)

PROCESSES = Topic(
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

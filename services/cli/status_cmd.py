"""`chargebus status`: one screen of truth read from the bus's retained topics.

It connects as a throw-away client, collects every retained state under `chargebus/` for a
moment and prints services (state, pid, uptime), the connector, the set-point and the latest
measurements. Exit status 1 when the broker cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from services.common.bus import Bus
from services.common.contract import Topic
from services.common.contract.auth import LAST_DECISION, Decided
from services.common.contract.common import Health
from services.common.contract.firmware import JOBS, JobsState, UploadPhase
from services.common.contract.ocpp_gateway import ConnectionState, ConnectorReport, TransactionState
from services.common.contract.power import ConnectorState, Measurement
from services.common.contract.smart_charging import ChargingLimit
from services.common.contract.supervisor import PROCESSES, SLOTS, ProcessState, ProcessTable, SlotState
from services.common.logs import mask_token
from services.common.settings import SERVICES, Settings

COLLECT_S = 1.0  # upper bound: retained states arrive in a burst right after the subscription
MIN_S = 0.3  # the broker sends them right after SUBACK; this covers a loaded machine
QUIET_S = 0.2  # the burst is over once nothing new came for this long


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("status", help="show services, connector and measurements")
    parser.add_argument("--json", action="store_true", help="print every retained state as JSON")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the broker")
    parser.add_argument("--id-tags", action="store_true", help="show idTags in full (personal data: masked otherwise)")
    parser.set_defaults(func=_run)


async def collect(settings: Settings, timeout: float) -> dict[str, BaseModel]:
    """Every retained state currently on the bus, by topic."""
    found: dict[str, BaseModel] = {}
    last_seen = [0.0]

    async def seen(topic: str, _declared: Topic, payload: BaseModel | None, _p: dict[str, str]) -> None:
        last_seen[0] = time.monotonic()
        if payload is not None:
            found[topic] = payload

    bus = Bus(settings, "cli", client_id=f"cli-status-{uuid.uuid4().hex[:8]}", persistent=False, health=False)
    bus.watch("chargebus/#", seen)
    try:
        await bus.start(timeout)
        started = last_seen[0] = time.monotonic()
        while True:
            now = time.monotonic()
            if now - started >= COLLECT_S or (now - started >= MIN_S and now - last_seen[0] >= QUIET_S):
                break
            await asyncio.sleep(0.05)
    finally:
        await bus.stop()
    return found


def _uptime(since: datetime) -> str:
    seconds = int((datetime.now(UTC) - since).total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s"


def render(found: dict[str, BaseModel], reveal: bool = False) -> str:
    table = found.get(PROCESSES.path)
    processes = {p.name: p for p in table.processes} if isinstance(table, ProcessTable) else {}
    lines = ["SERVICE          STATE     PID      UPTIME      VERSION  RESTARTS"]
    for name in ("supervisor", *SERVICES):
        health = found.get(f"chargebus/{name}/health")
        process = processes.get(name)
        restarts = str(process.restarts) if process is not None else "-"
        failed = process is not None and process.state == ProcessState.FAILED
        if isinstance(health, Health):
            state = "FAILED" if failed else health.state
            lines.append(f"{name:<16} {state:<9} {health.pid:<8} {_uptime(health.since):<11} "
                         f"{health.version:<8} {restarts}")
        else:
            lines.append(f"{name:<16} {'FAILED' if failed else 'unknown':<9}")
        if process is not None and process.last_error:
            lines += [f"    last error: {line}" for line in process.last_error[-3:]]
    broker = processes.get("mosquitto")
    if broker is not None:  # the broker has no health topic: the supervisor's table speaks for it
        lines.append(f"{'(broker)':<16} {broker.state:<9} {broker.pid or '-':<8} {_uptime(broker.since):<11} "
                     f"{'':<8} {broker.restarts}")
    for _topic, value in sorted(found.items()):
        if isinstance(value, ConnectorState):
            report = found.get(f"chargebus/ocpp_gateway/state/connector/{value.connector_id}")
            said = (f"{report.status} ({', '.join(x for x in (report.error, report.detail) if x) or 'no error'})"
                    if isinstance(report, ConnectorReport) else "no status from the gateway")
            lines += ["", f"CONNECTOR {value.connector_id}: {said}",
                      f"  plugged={value.plugged} energized={value.energized} fault={value.fault or '-'} "
                      f"limit={value.limit_a:.1f} A setpoint={value.setpoint_a:.1f} A"]
            if value.cap_fail_closed is not None:
                lines.append(f"  maintenance cap {value.cap_a or 0:.1f} A FAIL-CLOSED: {value.cap_fail_closed} "
                             "(chargebus charging cap AMPS|clear replaces the file)")
            elif value.cap_a is not None:
                lines.append(f"  maintenance cap {value.cap_a:.1f} A (chargebus charging cap clear)")
            limit = found.get(f"chargebus/smart_charging/state/limit/{value.connector_id}")
            if isinstance(limit, ChargingLimit):
                lines.append(f"  {_limit(limit)}")
    for _topic, value in sorted(found.items()):
        if isinstance(value, Measurement):
            soc = f"{value.soc_pct:.0f} %" if value.soc_pct is not None else "-"
            lines.append(f"  measured {value.voltage_v:.1f} V {value.current_a:.1f} A {value.power_w / 1000:.1f} kW "
                         f"meter={value.energy_wh:.0f} Wh temp={value.temperature_c:.1f} C soc={soc}")
    for _topic, value in sorted(found.items()):
        if isinstance(value, TransactionState):
            lines.append(_transaction(value))
    connection = next((v for v in found.values() if isinstance(v, ConnectionState)), None)
    lines += ["", _connection(connection)]
    decided = found.get(LAST_DECISION.path)
    if isinstance(decided, Decided):
        tag = decided.token.value if reveal else mask_token(decided.token.value)
        lines.append(f"LAST CARD {tag} on connector {decided.connector_id}: {decided.status} at "
                     f"{decided.at:%Y-%m-%d %H:%M:%S} UTC ({decided.reason or decided.source})")
    lines += _firmware(found)
    station = found.get("chargebus/smart_charging/state/limit/0")
    if isinstance(station, ChargingLimit) and station.limit_a is not None:
        lines += ["", f"STATION {_limit(station)}"]
    shown = (Health | ConnectorState | Measurement | TransactionState | ConnectionState | ProcessTable
             | ChargingLimit | JobsState | SlotState | Decided)
    others = [t for t, v in sorted(found.items()) if not isinstance(v, shown) and "/state/" in t]
    if others:
        lines += ["", "OTHER STATES"]
        lines += [f"  {t}: {found[t].model_dump_json()}" for t in others]
    return "\n".join(lines)


def _firmware(found: dict[str, BaseModel]) -> list[str]:
    """The version running, a firmware update under way (with its download progress), the last install."""
    lines: list[str] = []
    slots = found.get(SLOTS.path)
    if isinstance(slots, SlotState):
        trial = f" (on trial: {slots.trial})" if slots.trial else ""
        lines.append(f"FIRMWARE {slots.running_version}{trial} from {slots.active}")
        if slots.outcome is not None:
            done = "installed" if slots.outcome.installed else f"rolled back: {slots.outcome.reason}"
            lines.append(f"  last install: {slots.outcome.version} {done} "
                         f"({slots.outcome.at.isoformat(timespec='seconds')})")
    jobs = found.get(JOBS.path)
    if isinstance(jobs, JobsState) and jobs.update is not None and jobs.update.phase != "done":
        u = jobs.update
        line = f"  update: {u.phase} {u.location}"
        if u.phase == "downloading":
            total = f" of {u.bytes_total / 1e6:.1f} MB" if u.bytes_total else ""
            percent = f" {u.percent:.1f} %" if u.percent is not None else ""
            line += f":{percent} {u.bytes_done / 1e6:.1f}{total} MB, attempt {u.attempt}"
        if u.error:
            line += f" (last error: {u.error})"
        lines.append(line)
    if isinstance(jobs, JobsState) and jobs.now.diagnostics is not UploadPhase.IDLE:
        lines.append(f"  diagnostics: {jobs.now.diagnostics.value} {jobs.diagnostics_file or ''}")
    return ["", *lines] if lines else []


def _limit(limit: ChargingLimit) -> str:
    """The smart charging limit in force, who sets it, and its next change."""
    if limit.limit_a is None:
        now = "smart charging: no profile in force"
    else:
        now = f"smart charging: {limit.limit_a:.1f} A by {limit.purpose} #{limit.profile_id}"
    if limit.next_change_at is None:
        return now
    later = "no profile" if limit.next_limit_a is None else f"{limit.next_limit_a:.1f} A"
    return f"{now}; {later} from {limit.next_change_at.isoformat(timespec='seconds')}"


def _transaction(value: TransactionState) -> str:
    if not value.open:
        return f"  transaction: none on connector {value.connector_id}"
    csms_id = value.transaction_id if value.transaction_id is not None else "not yet confirmed"
    return (f"  transaction: {csms_id} tag={value.token.value if value.token else '-'} since "
            f"{value.started_at.isoformat(timespec='seconds') if value.started_at else '-'} "
            f"meter_start={value.meter_start_wh} Wh")


def _connection(value: ConnectionState | None) -> str:
    if value is None:
        return "CSMS: not published (is ocpp_gateway running?)"
    link = "connected" if value.connected else "disconnected"
    return (f"CSMS: {link} {value.subprotocol} registration={value.registration} {value.url} "
            f"for {_uptime(value.since)} "
            f"outbox_pending={value.outbox_pending}")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        found = asyncio.run(collect(settings, args.timeout))
    except (TimeoutError, OSError) as exc:
        print(f"chargebus: no broker at {settings.mqtt_url} ({str(exc) or 'timeout'}); is the station running?",
              file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({t: v.model_dump(mode="json") for t, v in sorted(found.items())}, indent=2))
    else:
        print(render(found, reveal=args.id_tags))
    return 0

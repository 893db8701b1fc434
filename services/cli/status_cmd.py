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
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from services.common.bus import Bus
from services.common.contract import Topic
from services.common.contract.common import Health
from services.common.contract.power import ConnectorState, Measurement
from services.common.settings import SERVICES, Settings

COLLECT_S = 0.5


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("status", help="show services, connector and measurements")
    parser.add_argument("--json", action="store_true", help="print every retained state as JSON")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the broker")
    parser.set_defaults(func=_run)


async def collect(settings: Settings, timeout: float) -> dict[str, BaseModel]:
    """Every retained state currently on the bus, by topic."""
    found: dict[str, BaseModel] = {}

    async def seen(topic: str, _declared: Topic, payload: BaseModel | None, _p: dict[str, str]) -> None:
        if payload is not None:
            found[topic] = payload

    bus = Bus(settings, "cli", client_id=f"cli-status-{uuid.uuid4().hex[:8]}", persistent=False, health=False)
    bus.watch("chargebus/#", seen)
    try:
        await bus.start(timeout)
        await asyncio.sleep(COLLECT_S)
    finally:
        await bus.stop()
    return found


def _uptime(since: datetime) -> str:
    seconds = int((datetime.now(UTC) - since).total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s"


def render(found: dict[str, BaseModel]) -> str:
    lines = ["SERVICE          STATE     PID      UPTIME      VERSION"]
    for name in ("supervisor", *SERVICES):
        health = found.get(f"chargebus/{name}/health")
        if isinstance(health, Health):
            lines.append(f"{name:<16} {health.state:<9} {health.pid:<8} {_uptime(health.since):<11} {health.version}")
        else:
            lines.append(f"{name:<16} {'unknown':<9}")
    for _topic, value in sorted(found.items()):
        if isinstance(value, ConnectorState):
            lines += ["", f"CONNECTOR {value.connector_id}: {value.status} ({value.error_code}"
                      f"{', ' + value.vendor_error_code if value.vendor_error_code else ''})",
                      f"  plugged={value.plugged} energized={value.energized} operative={value.operative} "
                      f"limit={value.limit_a:.1f} A setpoint={value.setpoint_a:.1f} A"]
    for _topic, value in sorted(found.items()):
        if isinstance(value, Measurement):
            soc = f"{value.soc_pct:.0f} %" if value.soc_pct is not None else "-"
            lines.append(f"  measured {value.voltage_v:.1f} V {value.current_a:.1f} A {value.power_w / 1000:.1f} kW "
                         f"meter={value.energy_wh:.0f} Wh temp={value.temperature_c:.1f} C soc={soc}")
    others = [t for t, v in sorted(found.items())
              if not isinstance(v, Health | ConnectorState | Measurement) and "/state/" in t]
    if others:
        lines += ["", "OTHER STATES"]
        lines += [f"  {t}: {found[t].model_dump_json()}" for t in others]
    return "\n".join(lines)


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
        print(render(found))
    return 0

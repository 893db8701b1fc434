"""`chargebus charging ...`: the charging profiles, the composite schedule and the maintenance cap.

The limit in force (and which profile sets it, and its next change) is in `chargebus status`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.common.contract import power, smart_charging
from services.common.contract.base import Empty
from services.common.contract.hardware import CONNECTORS
from services.common.contract.power import SetLimitRequest
from services.common.contract.smart_charging import (
    ClearProfilesRequest,
    CompositeRequest,
    InstalledProfile,
    LimitPurpose,
)
from services.common.settings import Settings

from .bus_call import run

PURPOSES = tuple(p.value for p in LimitPurpose)


def register(sub: Any) -> None:
    parser = sub.add_parser("charging", help="charging profiles, composite schedule, maintenance cap")
    cmds = parser.add_subparsers(dest="charging_command", required=True)
    profiles = cmds.add_parser("profiles", help="the installed charging profiles")
    profiles.add_argument("--json", action="store_true")
    profiles.set_defaults(func=_profiles)
    schedule = cmds.add_parser("schedule", help="the composite schedule the station will follow (amperes)")
    schedule.add_argument("--connector", type=int, default=CONNECTORS[0], help="0: the whole station")
    schedule.add_argument("--duration", type=int, default=3600, help="seconds from now (default 3600)")
    schedule.add_argument("--json", action="store_true")
    schedule.set_defaults(func=_schedule)
    cap = cmds.add_parser("cap", help="set or clear the maintenance current cap (kept across restarts)")
    cap.add_argument("amps", help="the cap in amperes, or 'clear'")
    cap.add_argument("--connector", type=int, default=CONNECTORS[0])
    cap.set_defaults(func=_cap)
    clear = cmds.add_parser("clear", help="remove charging profiles (by id, or all that match; none given: all)")
    clear.add_argument("--id", type=int, dest="profile_id")
    clear.add_argument("--connector", type=int)
    clear.add_argument("--purpose", choices=PURPOSES)
    clear.add_argument("--stack-level", type=int)
    clear.set_defaults(func=_clear)


def _describe(item: InstalledProfile) -> str:
    p = item.profile
    s = p.schedule
    periods = ", ".join(f"+{x.start_s}s {x.limit:g} {s.unit}" for x in s.periods)
    parts = [f"#{p.id} connector {item.connector_id} {p.purpose.value} stack {p.stack_level} {p.kind.value}"]
    if p.recurrence:
        parts.append(p.recurrence.value)
    if s.starts_at:
        parts.append(f"from {s.starts_at.isoformat(timespec='seconds')}")
    if s.duration_s is not None:
        parts.append(f"for {s.duration_s} s")
    if item.session_id:
        parts.append(f"session {item.session_id}")
    return " ".join(parts) + f": {periods}"


def _profiles(args: argparse.Namespace, settings: Settings) -> int:
    reply = run("charging profiles", settings, smart_charging.LIST_PROFILES, Empty())
    if reply is None:
        return 1
    if args.json:
        print(reply.model_dump_json())
    elif not reply.profiles:
        print("no charging profile installed")
    else:
        print("\n".join(_describe(item) for item in reply.profiles))
    return 0


def _schedule(args: argparse.Namespace, settings: Settings) -> int:
    if args.connector not in (0, *CONNECTORS) or args.duration < 1:
        print(f"chargebus charging schedule: connector is one of {(0, *CONNECTORS)}, duration at least 1 s",
              file=sys.stderr)
        return 2
    reply = run("charging schedule", settings, smart_charging.GET_COMPOSITE,
                CompositeRequest(connector_id=args.connector, duration_s=args.duration))
    if reply is None:
        return 1
    if args.json:
        print(reply.model_dump_json())
        return 0
    print(f"connector {reply.connector_id} from {reply.schedule_start.isoformat(timespec='seconds')} "
          f"for {reply.duration_s} s:")
    for period in reply.periods:
        print(f"  +{period.start_s:>6} s  {period.limit:g} A")
    return 0


def _cap(args: argparse.Namespace, settings: Settings) -> int:
    if args.amps == "clear":
        amps = None
    else:
        try:
            amps = float(args.amps)
        except ValueError:
            amps = -1.0
        if not 0 <= amps <= 10000:
            print(f"chargebus charging cap: {args.amps!r} is not a current in amperes (0..10000) or 'clear'",
                  file=sys.stderr)
            return 2
    state = run("charging cap", settings, power.SET_LIMIT, SetLimitRequest(connector_id=args.connector,
                                                                           current_a=amps))
    if state is None:
        return 1
    cap = "none" if state.cap_a is None else f"{state.cap_a:g} A"
    print(f"connector {state.connector_id}: maintenance cap {cap}, limit in force {state.limit_a:g} A")
    return 0


def _clear(args: argparse.Namespace, settings: Settings) -> int:
    reply = run("charging clear", settings, smart_charging.CLEAR_PROFILES, ClearProfilesRequest(
        profile_id=args.profile_id, connector_id=args.connector, purpose=args.purpose, stack_level=args.stack_level))
    if reply is None:
        return 1
    print(f"cleared: {', '.join(f'#{i}' for i in reply.cleared)}" if reply.cleared else "no profile matched")
    return 0

"""Commands the deployment files run: `chargebus health SERVICE` (a container's healthcheck) and
`chargebus broker-setup` (compose's one-shot job that writes the broker's configuration, accounts and ACL
into the data volume before the broker container starts)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from services.common.contract.common import Health, HealthState
from services.common.settings import SERVICES, Settings

from .status_cmd import collect


def register(sub: Any) -> None:
    health = sub.add_parser("health", help="exit 0 when SERVICE is online on the bus (a container healthcheck)")
    health.add_argument("service", choices=("supervisor", *SERVICES))
    health.add_argument("--same-host", action="store_true",
                        help="also require its process to be alive here (inside the service's own container)")
    health.set_defaults(func=_health)
    setup = sub.add_parser("broker-setup", help="write the broker's configuration, accounts and ACL (compose)")
    setup.add_argument("--broker-sees", type=Path, default=Path("/chargebus"),
                       help="where the broker container mounts the data directory")
    setup.set_defaults(func=_broker_setup)


def _health(args: argparse.Namespace, settings: Settings) -> int:
    try:
        found = asyncio.run(collect(settings, 3.0))
    except (TimeoutError, OSError) as exc:
        print(f"{args.service}: no broker at {settings.mqtt_url} ({exc or 'timeout'})", file=sys.stderr)
        return 1
    health = found.get(f"chargebus/{args.service}/health")
    if not isinstance(health, Health) or health.state is not HealthState.ONLINE:
        print(f"{args.service}: {health.state if isinstance(health, Health) else 'never seen'}", file=sys.stderr)
        return 1
    if args.same_host:
        try:
            os.kill(health.pid, 0)
        except ProcessLookupError:
            print(f"{args.service}: online on the bus but pid {health.pid} is gone", file=sys.stderr)
            return 1
        except PermissionError:
            pass  # alive, another user's
    print(f"{args.service}: online pid {health.pid}")
    return 0


def _broker_setup(args: argparse.Namespace, settings: Settings) -> int:
    from services.supervisor import separation
    from services.supervisor.broker_conf import BrokerSetupError, broker_dir, write_compose_conf

    try:
        conf = write_compose_conf(settings, seen_as=args.broker_sees)
    except BrokerSetupError as exc:
        print(f"chargebus broker-setup: {exc}", file=sys.stderr)
        return 1
    if separation.separates():  # as root: each container gets its files and its password only
        separation.prepare_data_dir(settings)
        separation.hand_broker_files(settings, broker_dir(settings))
    print(f"broker configuration: {conf} (the broker reads it as {args.broker_sees / 'mosquitto' / conf.name})")
    return 0

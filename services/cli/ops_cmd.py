"""The technician's commands against a running station: restart, logs, config.

`chargebus restart SERVICE|all`   the supervisor restarts one service or all of them (a new boot for the CSMS)
`chargebus logs SERVICE [-f] [--since 10m|2h|ISO time]`   from `<data_dir>/logs`, rotated files included
`chargebus config get [KEY]` / `chargebus config set KEY VALUE`   the OCPP keys; a change goes through the
    gateway, checked as if the CSMS had changed them (secret keys are never shown)
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.common.contract import ocpp_gateway, supervisor
from services.common.contract.common import ConfigValue
from services.common.contract.ocpp_gateway import ChangeConfigurationRequest, KeyChange
from services.common.contract.supervisor import RestartRequest
from services.common.logs import within
from services.common.redact import is_secret_name
from services.common.settings import SERVICES, Settings

from .bus_call import run
from .status_cmd import collect

FOLLOW_POLL_S = 0.3


def register(sub: Any) -> None:
    restart = sub.add_parser("restart", help="restart one service, or all of them, of the running station")
    restart.add_argument("service", choices=(*SERVICES, "all"))
    restart.add_argument("--reason", default="chargebus restart", help="logged with the restart")
    restart.set_defaults(func=_restart)

    logs = sub.add_parser("logs", help="a service's log (rotated files included, oldest first)")
    logs.add_argument("service", choices=(*SERVICES, "supervisor", "mosquitto"))
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (Ctrl-C stops)")
    logs.add_argument("--since", help="only records since: 10m, 2h, 1d, or an ISO time (UTC when no zone)")
    logs.set_defaults(func=_logs)

    config = sub.add_parser("config", help="the OCPP configuration keys")
    cmds = config.add_subparsers(dest="config_command", required=True)
    get = cmds.add_parser("get", help="every key, or one")
    get.add_argument("key", nargs="?")
    get.set_defaults(func=_config_get)
    put = cmds.add_parser("set", help="change a key, checked as if the CSMS changed it (the CSMS is not told)")
    put.add_argument("key")
    put.add_argument("value")
    put.set_defaults(func=_config_set)


def _restart(args: argparse.Namespace, settings: Settings) -> int:
    service = None if args.service == "all" else args.service
    reply = run("restart", settings, supervisor.RESTART, RestartRequest(service=service, reason=args.reason))
    if reply is None:
        return 1
    print(f"restarting: {', '.join(reply.restarting)}")
    return 0


def parse_since(text: str, now: datetime) -> datetime:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def log_files(data_dir: Path, service: str) -> list[Path]:
    """The service's log files, oldest first: `.log.3`, `.log.2`, `.log.1`, `.log`, then its stderr log."""
    folder = data_dir / "logs"
    files: list[Path] = []
    for base in (f"{service}.log", f"{service}.stderr.log"):
        rotated = sorted(folder.glob(f"{base}.*"), key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
        files += [p for p in rotated if p.suffix[1:].isdigit()]
        if (folder / base).is_file():
            files.append(folder / base)
    return files


def _lines(files: list[Path]) -> Iterator[str]:
    for path in files:
        with path.open(encoding="utf-8", errors="replace") as f:
            yield from f


def _logs(args: argparse.Namespace, settings: Settings) -> int:
    files = log_files(settings.data_dir, args.service)
    if not files and not args.follow:
        print(f"chargebus logs: no log of {args.service} in {settings.data_dir / 'logs'}", file=sys.stderr)
        return 1
    try:
        since = parse_since(args.since, datetime.now(UTC)) if args.since else None
    except ValueError:
        print(f"chargebus logs: --since {args.since!r} is neither 10m/2h/1d nor an ISO time", file=sys.stderr)
        return 2
    for line in within(_lines(files), since, None):
        sys.stdout.write(line)
    sys.stdout.flush()
    if args.follow:
        try:
            _follow(settings.data_dir / "logs" / f"{args.service}.log")
        except KeyboardInterrupt:
            return 0
    return 0


def _follow(path: Path) -> None:
    """Print what is appended to `path`; a rotation (the file replaced or shorter) starts over at its top."""
    position = path.stat().st_size if path.exists() else 0
    inode = path.stat().st_ino if path.exists() else None
    while True:
        time.sleep(FOLLOW_POLL_S)
        if not path.exists():
            continue
        stat = path.stat()
        if stat.st_ino != inode or stat.st_size < position:
            inode, position = stat.st_ino, 0
        if stat.st_size > position:
            with path.open(encoding="utf-8", errors="replace") as f:
                f.seek(position)
                sys.stdout.write(f.read())
                position = f.tell()
            sys.stdout.flush()


def _config_get(args: argparse.Namespace, settings: Settings) -> int:
    try:
        found = asyncio.run(collect(settings, 5.0))
    except TimeoutError:
        print(f"chargebus config: no MQTT broker at {settings.mqtt_url}", file=sys.stderr)
        return 1
    keys = {v.key: v.value for v in found.values() if isinstance(v, ConfigValue)}
    if not keys:
        print("chargebus config: no configuration on the bus (is the gateway running?)", file=sys.stderr)
        return 1
    if args.key is not None:
        if args.key not in keys:
            print(f"chargebus config: no key {args.key!r}", file=sys.stderr)
            return 1
        keys = {args.key: keys[args.key]}
    for key in sorted(keys):
        print(f"{key} = {'(secret)' if is_secret_name(key) else keys[key]}")
    return 0


def _config_set(args: argparse.Namespace, settings: Settings) -> int:
    reply = run("config set", settings, ocpp_gateway.CHANGE_CONFIGURATION,
                ChangeConfigurationRequest(key=args.key, value=args.value))
    if reply is None:
        return 1
    print(f"{args.key}: {reply.status.value}")
    return 0 if reply.status in (KeyChange.ACCEPTED, KeyChange.REBOOT_REQUIRED) else 1

"""Entry point of the `chargebus` console script."""

from __future__ import annotations

import argparse
import importlib
import sys

from services.common.settings import SettingsError, load_settings

# each command and the module that registers it: `chargebus run` imports the station, not the technician's tools
# (a tenth of a second before the CSMS hears of the station)
COMMANDS = {
    "run": "run_cmd", "status": "status_cmd", "restart": "ops_cmd", "logs": "ops_cmd", "config": "ops_cmd",
    "sim": "sim_cmd", "auth": "auth_cmd", "charging": "charging_cmd", "firmware": "firmware_cmd",
    "health": "deploy_cmd", "broker-setup": "deploy_cmd", "csms": "csms_cmd",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command, or only `command`'s when it is one (its module registers its neighbours too)."""
    parser = argparse.ArgumentParser(prog="chargebus", description="DC charging station on an MQTT bus.")
    sub = parser.add_subparsers(dest="command", required=True)
    names = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in names:
        try:
            module = importlib.import_module(f"services.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = build_parser(next((word for word in given if not word.startswith("-")), None)).parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    status: int = args.func(args, settings)
    return status


if __name__ == "__main__":
    raise SystemExit(main())

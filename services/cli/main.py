"""Entry point of the `chargebus` console script."""

from __future__ import annotations

import argparse
import importlib
import sys

from services.common.settings import SettingsError, load_settings

# sub-command modules, each with register(subparsers)
COMMANDS = ("run_cmd", "status_cmd", "ops_cmd", "sim_cmd", "auth_cmd", "charging_cmd", "firmware_cmd",
            "deploy_cmd", "csms_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chargebus", description="DC charging station on an MQTT bus.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"services.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    status: int = args.func(args, settings)
    return status


if __name__ == "__main__":
    raise SystemExit(main())

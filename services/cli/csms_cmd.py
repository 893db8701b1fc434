"""`chargebus csms`: the bench's development Central System, and `chargebus csms send` to drive the station.

`chargebus run` starts the dev CSMS itself on the bench when no CSMS URL is set; `chargebus csms` runs one
in the foreground (for a station pointed at it by hand). `send` has it send one OCPP 1.6 call of the six
profiles to the connected station and prints the station's answer. Exit status: 0 answered, 1 refused,
not answered or no dev CSMS, 2 bad argument.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from services.common.settings import Settings
from services.csms import control, server


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "csms", help="the bench's development Central System (accepts every card, logs every message)",
        description="Without a sub-command: run the dev CSMS in the foreground on 127.0.0.1:dev_csms_port.")
    parser.add_argument("--port", type=int, help="port to listen on (default: the dev_csms_port setting)")
    parser.add_argument("--meter-interval", type=int, default=server.BENCH_METER_INTERVAL_S, metavar="S",
                        help="the meter interval set on each station after its boot, seconds (1.6: "
                        "MeterValueSampleInterval, 2.0.1: SampledDataCtrlr.TxUpdatedInterval)")
    parser.set_defaults(func=_serve)
    cmds = parser.add_subparsers(dest="csms_command")
    send = cmds.add_parser(
        "send", help="send the station a CSMS command through the running dev CSMS",
        epilog="OCPP 1.6 commands by profile: " + "; ".join(f"{p}: {', '.join(a)}" for p, a in control.PROFILES.items())
        + ". OCPP 2.0.1 commands by functional block: "
        + "; ".join(f"{b}: {', '.join(a)}" for b, a in control.BLOCKS_201.items()) + ".")
    send.add_argument("action", choices=control.COMMANDS, metavar="ACTION",
                      help="the call, in the OCPP version the station speaks, e.g. Reset")
    send.add_argument("payload", nargs="?", default="{}",
                      help="its payload as JSON, camelCase as on the wire, e.g. '{\"idTag\": \"04A2B3C4\"}'")
    send.add_argument("--cp", help="charge point id (needed only while several are connected)")
    send.set_defaults(func=_send)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    return server.main(settings, args.port, args.meter_interval)


def _send(args: argparse.Namespace, settings: Settings) -> int:
    try:
        payload = json.loads(args.payload)
    except ValueError as exc:
        print(f"chargebus csms send: the payload is not JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(payload, dict):
        print("chargebus csms send: the payload must be a JSON object", file=sys.stderr)
        return 2
    try:
        cp, answer = control.send(args.port or settings.dev_csms_port, args.action, payload, args.cp)
    except control.ControlError as exc:
        print(f"chargebus csms send: {exc.code}: {exc}", file=sys.stderr)
        return 2 if exc.code in ("bad_request", "invalid_payload") else 1
    print(f"{cp} {args.action}: {json.dumps(answer)}")
    return 0

"""`chargebus sim ...`: drive the bench simulator (plug, unplug, swipe, fault, ev) over the bus.

Each sub-command sends one command to the `sim` service with a deadline and prints the resulting
state as one line (or JSON with `--json`). Exit status: 0 done, 1 refused/timed out/no broker,
2 bad argument.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from pydantic import BaseModel, ValidationError

from services.common.bus import BusError
from services.common.contract import ErrorCode, Topic
from services.common.contract import sim as contract
from services.common.contract.sim import SIM_FAULTS, SimState
from services.common.settings import Settings

from .bus_call import ask

TIMEOUT_S = 5.0
CLEAR = "clear"


def register(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the resulting state as JSON")
    common.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds to wait for broker and sim")
    parser = sub.add_parser("sim", help="drive the bench hardware simulator")
    cmds = parser.add_subparsers(dest="sim_command", required=True)

    plug = cmds.add_parser("plug", parents=[common], help="plug the EV in")
    plug.add_argument("connector", nargs="?", type=int, default=1, help="connector id (default 1)")
    plug.set_defaults(func=_run, topic=contract.PLUG)
    unplug = cmds.add_parser("unplug", parents=[common], help="unplug the EV")
    unplug.add_argument("connector", nargs="?", type=int, default=1, help="connector id (default 1)")
    unplug.set_defaults(func=_run, topic=contract.UNPLUG)
    swipe = cmds.add_parser("swipe", parents=[common], help="present a card at the RFID reader")
    swipe.add_argument("tag", help="the card's id (1-20 characters)")
    swipe.set_defaults(func=_run, topic=contract.SWIPE)
    fault = cmds.add_parser("fault", parents=[common], help="raise a hardware fault, or `clear` them all")
    fault.add_argument("code", choices=[CLEAR, *(f.value for f in SIM_FAULTS)], metavar="CODE",
                       help=f"one of: {', '.join(f.value for f in SIM_FAULTS)}; or {CLEAR}")
    fault.set_defaults(func=_run, topic=contract.FAULT)
    estop = cmds.add_parser("estop", parents=[common], help="press the emergency-stop button, or `clear` it")
    estop.add_argument("action", nargs="?", choices=["press", CLEAR], default="press",
                       help="press (default) or clear (release the button)")
    estop.set_defaults(func=_run, topic=contract.ESTOP)
    ev = cmds.add_parser("ev", parents=[common], help="set the EV's state of charge and current")
    ev.add_argument("--soc", type=float, help="state of charge, percent (0-100)")
    ev.add_argument("--max-current", type=float, help="most current the EV draws, A")
    ev.add_argument("connector", nargs="?", type=int, default=1, help="connector id (default 1)")
    ev.set_defaults(func=_run, topic=contract.EV)


def _request(args: argparse.Namespace) -> BaseModel:
    """The request model for the chosen sub-command (ValidationError on a bad value)."""
    topic: Topic = args.topic
    if topic is contract.PLUG or topic is contract.UNPLUG:
        return contract.PlugRequest(connector_id=args.connector)
    if topic is contract.SWIPE:
        return contract.SwipeRequest(card=args.tag)
    if topic is contract.FAULT:
        code = next((f for f in SIM_FAULTS if f.value == args.code), None)
        return contract.FaultRequest(code=code)
    if topic is contract.ESTOP:
        return contract.EstopRequest(pressed=args.action != CLEAR)
    return contract.EvRequest(connector_id=args.connector, soc_pct=args.soc, max_current_a=args.max_current)


def _line(state: SimState) -> str:
    faults = ", ".join(state.faults) if state.faults else "none"
    plug = "plugged" if state.plugged else "unplugged"
    estop = ", EMERGENCY STOP pressed" if state.estop else ""
    return (f"connector {state.connector_id}: {plug}, soc {state.soc_pct:.1f} %, "
            f"max current {state.max_current_a:g} A, faults: {faults}{estop}")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        request = _request(args)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "argument"
        print(f"chargebus sim {args.sim_command}: bad {field}: {err['msg']}", file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print(f"chargebus sim {args.sim_command}: --timeout must be positive", file=sys.stderr)
        return 2
    try:
        state: SimState = asyncio.run(ask(settings, args.topic, request, args.timeout))
    except BusError as exc:
        hint = " (is the sim service running?)" if exc.code is ErrorCode.TIMEOUT else ""
        print(f"chargebus sim {args.sim_command}: {exc.code}: {exc.message}{hint}", file=sys.stderr)
        return 2 if exc.code is ErrorCode.BAD_REQUEST else 1
    print(state.model_dump_json() if args.json else _line(state))
    return 0

"""`chargebus auth ...`: what the station's authorization knows (the local list, the cache)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.common.contract import auth
from services.common.contract.auth import IdToken, LookupRequest, TokenInfo, TokenType
from services.common.contract.base import Empty
from services.common.settings import Settings

from .bus_call import run


def register(sub: Any) -> None:
    parser = sub.add_parser("auth", help="the local authorization list and the cache")
    cmds = parser.add_subparsers(dest="auth_command", required=True)
    listed = cmds.add_parser("list", help="the local list's version and size")
    listed.add_argument("--json", action="store_true")
    listed.set_defaults(func=_list)
    lookup = cmds.add_parser("lookup", help="what the local list and the cache say of a card")
    lookup.add_argument("tag", help="the token's value (any case: tokens are compared case-insensitively)")
    lookup.add_argument("--type", default=TokenType.ISO14443.value, choices=[t.value for t in TokenType],
                        help="what kind of token (default: a card's UID, iso14443)")
    lookup.add_argument("--json", action="store_true")
    lookup.set_defaults(func=_lookup)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    reply = run("auth list", settings, auth.GET_LOCAL_LIST_VERSION, Empty())
    if reply is None:
        return 1
    if args.json:
        print(reply.model_dump_json())
    elif reply.version < 0:
        print("local list: switched off (the local_list setting is false)")
    else:
        print(f"local list: version {reply.version}, {reply.size} entries")
    return 0


def _describe(info: TokenInfo | None) -> str:
    if info is None:
        return "-"
    parts = [info.status.value]
    if info.group:
        parts.append(f"group {info.group.value}")
    if info.expires_at:
        parts.append(f"until {info.expires_at.isoformat(timespec='seconds')}")
    return ", ".join(parts)


def _lookup(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= len(args.tag) <= 36:
        print("chargebus auth lookup: a token has 1 to 36 characters", file=sys.stderr)
        return 2
    reply = run("auth lookup", settings, auth.LOOKUP, LookupRequest(token=IdToken(value=args.tag,
                                                                                    type=TokenType(args.type))))
    if reply is None:
        return 1
    if args.json:
        print(reply.model_dump_json())
    else:
        print(f"{reply.token.value}: local list (version {reply.list_version}): {_describe(reply.local)}; "
              f"cache: {_describe(reply.cached)}")
    return 0

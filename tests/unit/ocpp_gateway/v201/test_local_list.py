"""OCPP 2.0.1 D01, D02 over the link: a list from the library's Central System reaches auth (here a stand-in on
the real broker) in ordered parts of one update, with 2.0.1 token types and statuses in the station's terms."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ocpp.v201 import call

from services.common.bus import Bus
from services.common.contract import auth
from services.common.contract.auth import (
    AuthorizationStatus,
    LocalListVersion,
    SendLocalListReply,
    SendLocalListRequest,
    TokenType,
    UpdateStatus,
)
from services.common.contract.base import Empty
from services.common.settings import Settings

from .conftest import running_link


def entry(n: int) -> dict[str, Any]:
    return {"idToken": {"idToken": f"CARD{n:05d}", "type": "ISO14443"},
            "idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "FLEET-7", "type": "Central"}}}


async def test_tc_d_01_02_a_list_reaches_auth_in_parts_and_its_version_is_read_back(settings: Settings,
                                                                                      tmp_path: Path) -> None:
    parts: list[SendLocalListRequest] = []
    answers = {"status": UpdateStatus.ACCEPTED}

    async def store(request: SendLocalListRequest, _p: dict[str, str]) -> SendLocalListReply:
        parts.append(request)
        return SendLocalListReply(status=answers["status"], version=request.version, size=len(request.entries))

    async def version(_request: Empty, _p: dict[str, str]) -> LocalListVersion:
        return LocalListVersion(version=parts[-1].version if parts else 0)

    stand_in = Bus(settings, "auth", client_id=f"stand-in-auth-{os.getpid()}", persistent=False, health=False)
    stand_in.handle(auth.SEND_LOCAL_LIST, store)
    stand_in.handle(auth.GET_LOCAL_LIST_VERSION, version)
    await stand_in.start(5)
    try:
        async with running_link(settings, tmp_path, pending_first=False) as running:
            await running.link.wait_accepted()
            station = running.csms.stations[0]
            result = await station.call(call.SendLocalList(version_number=3, update_type="Full",
                                                           local_authorization_list=[entry(n) for n in range(600)]))
            assert result.status == "Accepted"
            assert [(p.part, p.more, len(p.entries)) for p in parts] == [(0, True, 250), (1, True, 250),
                                                                        (2, False, 100)]
            assert len({p.update for p in parts}) == 1 and {p.update_type for p in parts} == {"full"}
            first = parts[0].entries[0]
            assert first.token.value == "CARD00000" and first.token.type is TokenType.ISO14443
            assert first.info is not None and first.info.status is AuthorizationStatus.ACCEPTED
            assert first.info.group is not None and first.info.group.type is TokenType.CENTRAL
            assert (await station.call(call.GetLocalListVersion())).version_number == 3

            answers["status"] = UpdateStatus.VERSION_MISMATCH
            stale = await station.call(call.SendLocalList(version_number=2, update_type="Differential",
                                                          local_authorization_list=[entry(1)]))
            assert stale.status == "VersionMismatch"
            sent = len(parts)
            blank = entry(1) | {"idToken": {"idToken": "", "type": "ISO14443"}}  # the schema allows it, a card not
            refused = await station.call(call.SendLocalList(version_number=4, update_type="Differential",
                                                            local_authorization_list=[entry(2), blank]))
            assert refused.status == "Failed" and len(parts) == sent  # auth was never asked: nothing to undo
    finally:
        await stand_in.stop()

"""SendLocalList through the gateway: a long list reaches auth in parts, in order, and the CSMS hears auth's word."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from services.common.contract import auth
from services.common.contract.auth import (
    LIST_PART_ENTRIES,
    SendLocalListReply,
    SendLocalListRequest,
    TokenType,
    UpdateStatus,
    UpdateType,
)
from tests.gateway_rig import GatewayRig, running_gateway


def _entries(count: int) -> list[dict[str, object]]:
    return [{"idTag": f"C{i:05d}", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET1",
                                                 "expiryDate": "2030-01-01T00:00:00Z"}} for i in range(count)]


def _auth_says(refuse_part: int | None = None, status: UpdateStatus = UpdateStatus.FAILED
               ) -> Callable[[GatewayRig], None]:
    def answers(rig: GatewayRig) -> None:
        def reply(request: SendLocalListRequest) -> SendLocalListReply:
            if request.part == refuse_part:
                return SendLocalListReply(status=status, version=1, size=1)
            return SendLocalListReply(status=UpdateStatus.ACCEPTED, version=request.version, size=len(request.entries))
        rig.stand_in("auth").answer(auth.SEND_LOCAL_LIST, reply)
    return answers


async def test_9999_entries_reach_auth_in_parts_of_one_update_in_order(tmp_path: Path) -> None:
    """Issue 16 item 20: no process holds the whole list as objects; auth applies it with its last part."""
    async with running_gateway(tmp_path, answers=_auth_says()) as gateway:
        answer = await gateway.csms.raw_call([2, "l1", "SendLocalList", {
            "listVersion": 7, "updateType": "Full", "localAuthorizationList": _entries(9999)}], timeout=30)
        assert answer == [3, "l1", {"status": "Accepted"}]
        parts: list[SendLocalListRequest] = gateway.stand_in("auth").asked(auth.SEND_LOCAL_LIST)
        assert [p.part for p in parts] == list(range(len(parts))) and len(parts) == -(-9999 // LIST_PART_ENTRIES)
        assert len({p.update for p in parts}) == 1 and parts[0].update
        assert [p.more for p in parts] == [True] * (len(parts) - 1) + [False]
        assert {(p.version, p.update_type) for p in parts} == {(7, UpdateType.FULL)}
        tokens = [e.token for p in parts for e in p.entries]
        assert [t.value for t in tokens] == [f"C{i:05d}" for i in range(9999)]
        assert {t.type for t in tokens} == {TokenType.ISO14443}
        last = parts[-1].entries[-1].info
        assert last is not None and last.group is not None and last.group.value == "FLEET1"


async def test_a_part_auth_refuses_ends_the_update_with_auths_answer(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, answers=_auth_says(refuse_part=2, status=UpdateStatus.FAILED)) as gateway:
        answer = await gateway.csms.raw_call([2, "l2", "SendLocalList", {
            "listVersion": 3, "updateType": "Full", "localAuthorizationList": _entries(6 * LIST_PART_ENTRIES)}])
        assert answer == [3, "l2", {"status": "Failed"}]
        # the part after it was on its way (two are in flight), none after that
        assert [p.part for p in gateway.stand_in("auth").asked(auth.SEND_LOCAL_LIST)] == [0, 1, 2, 3]


async def test_a_differential_removal_and_an_empty_full_list_are_one_part_each(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, answers=_auth_says()) as gateway:
        await gateway.csms.raw_call([2, "l3", "SendLocalList", {
            "listVersion": 4, "updateType": "Differential", "localAuthorizationList": [{"idTag": "GONE1"}]}])
        await gateway.csms.raw_call([2, "l4", "SendLocalList", {"listVersion": 5, "updateType": "Full"}])
        removal, empty = gateway.stand_in("auth").asked(auth.SEND_LOCAL_LIST)
        assert [(e.token.value, e.info) for e in removal.entries] == [("GONE1", None)] and not removal.more
        assert empty.entries == [] and empty.update_type is UpdateType.FULL and not empty.more

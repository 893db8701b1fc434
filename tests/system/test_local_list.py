"""Local Authorization List Management against the whole station and a real CSMS (OCTT 1.6 case ids)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from ocpp.v16 import call
from ocpp.v16.enums import AuthorizationStatus

from services.common.contract import auth
from services.common.contract.auth import Decided
from tests import zygote
from tests.conftest import env_for
from tests.system.stack import CommandTap, kill9
from tests.system.station import Station, charging, running_station

LIST_REQUEST = auth.SEND_LOCAL_LIST.path


def entry(tag: str, status: str = "Accepted", parent: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"status": status}
    if parent is not None:
        info["parent_id_tag"] = parent
    return {"id_tag": tag, "id_tag_info": info}


def _decided(station: Station, tag: str) -> Decided | None:
    return next((p for _t, topic, p in station.observer.history
                 if topic == "chargebus/auth/event/decided" and isinstance(p, Decided) and p.token.value == tag), None)


async def send(station: Station, version: int, update: str, entries: list[dict[str, Any]] | None = None) -> str:
    result = await station.csms.call(call.SendLocalList(list_version=version, update_type=update,
                                                        local_authorization_list=entries))
    return str(result.status)


async def version(station: Station) -> int:
    return int((await station.csms.call(call.GetLocalListVersion())).list_version)


async def test_tc_042_1_tc_043_1_the_list_disabled(station: Station) -> None:
    await station.configure(LocalAuthListEnabled="false")
    assert await version(station) == -1
    assert await send(station, 1, "Full", [entry("LOCAL1")]) == "NotSupported"


async def test_tc_042_2_a_full_list_without_entries_is_version_0(station: Station) -> None:
    assert await send(station, 3, "Full", [entry("LOCAL1")]) == "Accepted"
    assert await version(station) == 3
    assert await send(station, 1, "Full") == "Accepted"
    assert await version(station) == 0  # an empty list is version 0


async def test_tc_043_tc_008_full_then_differential_and_a_start_without_authorize(station: Station) -> None:
    await station.configure(AuthorizationCacheEnabled="false", LocalPreAuthorize="true")
    assert await send(station, 1, "Full", [entry("LOCAL1"), entry("GONE1")]) == "Accepted"
    # add one, change none, remove one (no idTagInfo)
    assert await send(station, 2, "Differential", [entry("LOCAL2"), {"id_tag": "GONE1"}]) == "Accepted"
    assert await version(station) == 2
    start = await charging(station, "local2")  # on the list, in another case: no Authorize.req at all
    assert start["id_tag"] == "local2" and station.csms.calls("Authorize") == []
    assert await send(station, 2, "Differential", [entry("LOCAL3")]) == "VersionMismatch"
    assert await send(station, 1, "Differential", [entry("LOCAL3")]) == "VersionMismatch"
    assert await version(station) == 2
    # the CLI shows the same list
    env = env_for(station.settings)
    listed = zygote.chargebus(env, "auth", "list")
    assert listed.returncode == 0 and listed.stdout.strip() == "local list: version 2, 2 entries", listed.stderr
    looked = zygote.chargebus(env, "auth", "lookup", "gone1", "--json")
    assert looked.returncode == 0 and json.loads(looked.stdout)["local"] is None


async def test_tc_043_3_a_list_beyond_the_limits_fails_and_changes_nothing(station: Station) -> None:
    assert await send(station, 5, "Full", [entry("KEEP1")]) == "Accepted"
    too_many = [entry(f"T{i:05d}") for i in range(10_000)]  # SendLocalListMaxLength is 9999
    assert await send(station, 6, "Full", too_many) == "Failed"
    assert await send(station, 7, "Full", [{"id_tag": "NOINFO"}]) == "Failed"  # a Full list needs idTagInfo
    assert await version(station) == 5


async def test_blocked_entries_refuse_and_the_list_authorizes_offline_and_wins_over_the_cache(
        station: Station) -> None:
    station.csms.tags["BLOCKED1"] = AuthorizationStatus.accepted  # what the CSMS would say: the list counts
    assert await send(station, 1, "Full", [entry("BLOCKED1", "Blocked"), entry("OFFLINE1")]) == "Accepted"
    await station.plug()
    await station.status("Preparing")
    await station.swipe("BLOCKED1")
    refused = await station.observer.wait(lambda: _decided(station, "BLOCKED1"), what="BLOCKED1 decided")
    assert (refused.status, refused.source) == ("blocked", "local_list")
    # the gateway has the answer, so the reader is free again (auth logs the same words a moment earlier)
    await station.logged("services.ocpp_gateway.peers: authorize id_token=BL**D1 status=blocked")
    await station.swipe("OFFLINE1")
    start = (await station.csms.wait("StartTransaction"))[0]
    assert start["id_tag"] == "OFFLINE1" and station.csms.calls("Authorize") == []
    await station.swipe("OFFLINE1")
    await station.csms.wait("StopTransaction")
    await station.unplug_until_available()
    # offline: the list decides (LocalAuthorizeOffline)
    station.csms.refuse = True
    await station.csms.drop()
    await station.observer.wait(lambda: not station.observer.get("chargebus/ocpp_gateway/state/connection")
                                .connected, what="offline")
    await station.plug()
    await station.swipe("OFFLINE1")
    state = await station.observer.wait(
        lambda: (t := station.observer.get("chargebus/ocpp_gateway/state/transaction/1")) and t.open
        and t.phase == "active" and t, what="started offline from the list")
    assert state.token is not None and state.token.value == "OFFLINE1"
    station.csms.refuse = False
    assert (await station.csms.wait("StartTransaction", 2, timeout=40))[1]["id_tag"] == "OFFLINE1"


async def test_a_csms_answer_that_contradicts_the_list_is_a_local_list_conflict(station: Station) -> None:
    await station.configure(LocalPreAuthorize="false")  # the CSMS is asked even for cards on the list
    assert await send(station, 1, "Full", [entry("LISTED1")]) == "Accepted"
    station.csms.tags["LISTED1"] = AuthorizationStatus.blocked
    await station.plug()
    await station.status("Preparing")
    await station.swipe("LISTED1")
    conflict = (await station.csms.wait("StatusNotification", where=lambda p: p["error_code"] == "LocalListConflict"))
    assert conflict[0]["connector_id"] == 1 and conflict[0]["status"] == "Preparing"
    statuses = lambda: [s.payload for s in station.csms.seen if s.action == "StatusNotification"]  # noqa: E731
    # then the connector's status as it is, without the error
    await station.observer.wait(lambda: statuses()[-1]["error_code"] == "NoError", what="the status without error")
    assert statuses()[-1]["status"] == "Preparing" and station.csms.calls("StartTransaction") == []


async def test_the_list_survives_a_restart_of_auth_and_9999_entries_hold_nothing_up(tmp_path: Path) -> None:
    # auth is held (SIGSTOP) until the test has looked: the list stays on its way for as long as that takes,
    # however fast this machine writes it; a watchdog longer than the hold keeps auth from being restarted
    async with running_station(tmp_path, CHARGEBUS_WATCHDOG_S="60") as station:
        await station.configure(HeartbeatInterval="1")
        full = [entry(f"CARD{i:05d}", parent="FLEET1") for i in range(9999)]
        held = station.pause("auth")
        tap = CommandTap(station.settings, "auth")  # only auth's account reads auth's commands
        try:
            sending = asyncio.create_task(send(station, 42, "Full", full))
            await station.observer.wait(lambda: any(topic == LIST_REQUEST for topic, _ in tap.seen),
                                        what="the list on its way to auth")
            # the gateway sends a heartbeat only once the one before was answered: two more mean that the link
            # went on answering with the list in hand
            beats = len(station.csms.calls("Heartbeat"))
            await station.csms.wait("Heartbeat", beats + 2, timeout=10)
            assert not sending.done()
        finally:
            tap.close()
            station.resume(held)
        assert await sending == "Accepted"
        assert await version(station) == 42
        pid = station.pid("auth")
        kill9(pid)
        await station.observer.wait_online(("auth",), not_pids={"auth": pid})
        assert await version(station) == 42
        start = await charging(station, "card09998")
        assert start["id_tag"] == "card09998" and station.csms.calls("Authorize") == []

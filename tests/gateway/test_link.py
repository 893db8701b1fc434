"""The CSMS link as the CSMS sees it: the boot interval it may set, the heartbeat and ping intervals, the
charge point id in the URL, and the keys whose change needs a new connection (and only when the value changes)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from ocpp.v16 import call

from services.common.contract.common import HEALTH, Health, HealthState
from services.ocpp_gateway.service import POWER_WAIT_S
from tests.gateway_rig import GatewayRig, running_gateway

KEY = "0123456789abcdefABCD"


async def test_item_1_2_boot_interval_is_clamped_and_a_heartbeat_interval_change_applies_at_once(
        tmp_path: Path) -> None:
    async with running_gateway(tmp_path, boot_interval=86400) as gateway:
        await gateway.status("Available", connector=1)  # sent once the boot is Accepted and its interval taken
        keys = await gateway.csms.call(call.GetConfiguration(key=["HeartbeatInterval"]))
        assert keys.configuration_key[0]["value"] == "65535"  # the nearest the station supports (PICS ORS-7)
        changed_at = time.monotonic()
        await gateway.configure(HeartbeatInterval="2")
        await gateway.csms.wait("Heartbeat", timeout=4)  # not after the old 65535 s
        first = next(s.at for s in gateway.csms.seen if s.action == "Heartbeat")
        assert first - changed_at <= 2.5
        await gateway.csms.wait("Heartbeat", 3, timeout=8)


async def test_item_14_ping_interval_change_reconnects_without_a_boot_and_pings_at_that_interval(
        gateway: GatewayRig) -> None:
    await gateway.status("Available")
    await gateway.configure(WebSocketPingInterval="1")
    await gateway.observer.wait(lambda: gateway.csms.connections == 2, what="reconnected with the new interval")
    await asyncio.sleep(0)
    seen = len(gateway.csms.pings)
    await gateway.observer.wait(lambda: len(gateway.csms.pings) >= seen + 4, 10, "four pings")
    gaps = [b - a for a, b in zip(gateway.csms.pings[seen:], gateway.csms.pings[seen + 1:], strict=False)]
    assert all(0.7 <= g <= 1.5 for g in gaps), gaps
    assert len(gateway.csms.calls("BootNotification")) == 1


async def test_link_item_2_a_48_character_charge_point_id_registers(tmp_path: Path) -> None:
    long_id = "CB-" + "0123456789" * 4 + "ABCDE"
    assert len(long_id) == 48
    async with running_gateway(tmp_path, charge_point_id=long_id) as gateway:
        boot = (await gateway.csms.wait("BootNotification", timeout=30))[0]
        assert "charge_point_serial_number" not in boot  # CiString25: the id does not fit, so none is sent
        assert gateway.csms.paths[-1] == f"/ocpp/{long_id}"
        await gateway.status("Available")


async def test_link_item_12_an_unchanged_ping_interval_or_key_does_not_reconnect(gateway: GatewayRig) -> None:
    await gateway.csms.wait("BootNotification")
    await gateway.configure(AuthorizationKey=KEY)  # new credentials: one reconnect
    await gateway.observer.wait(lambda: gateway.csms.connections == 2, what="the reconnect for the new key")
    await gateway.configure(AuthorizationKey=KEY, WebSocketPingInterval="300")  # what the link already uses
    heartbeats = len(gateway.csms.calls("Heartbeat"))
    await gateway.configure(HeartbeatInterval="1")
    # two heartbeats a second apart: a reconnect for the keys above would have closed the link by then
    await gateway.csms.wait("Heartbeat", heartbeats + 2)
    assert gateway.csms.connections == 2


async def test_the_boot_does_not_wait_for_power_but_the_csms_calls_wait_for_the_recovered_sessions(
        tmp_path: Path) -> None:
    # The gateway recovers its sessions once power is online (it may have to tell power something); the CSMS
    # hears the BootNotification meanwhile (start to BootNotification within a second), and what it asks then
    # is answered once the sessions are known, in the order asked.
    def power_not_yet_online(rig: GatewayRig) -> None:
        power = rig.stand_in("power")

        async def connect_only() -> None:
            await power.bus.start(10)

        power.start = connect_only  # type: ignore[method-assign]

    async with running_gateway(tmp_path, answers=power_not_yet_online, log_level="DEBUG") as gateway:
        await gateway.csms.wait("BootNotification", timeout=POWER_WAIT_S - 1)
        asking = asyncio.create_task(gateway.csms.call(call.GetConfiguration(key=["HeartbeatInterval"])))
        await gateway.logged('"GetConfiguration"')  # the frame is with the station
        assert not asking.done() and not gateway.csms.calls("StatusNotification")
        gateway.stand_in("power").publish(HEALTH, Health(state=HealthState.ONLINE, version="stand-in", pid=1,
                                                         since=datetime.now(UTC)), service="power")
        keys = await asking
        assert keys.configuration_key[0]["key"] == "HeartbeatInterval"
        await gateway.status("Available")

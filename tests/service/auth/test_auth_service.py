"""auth over a real broker: online through the gateway's Authorize.req, offline from the cache, cache kept."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from services.auth.service import AuthService
from services.common.bus import Bus, BusError
from services.common.contract import auth, ocpp_gateway
from services.common.contract.auth import AuthorizationStatus, AuthorizeRequest, IdToken, TokenInfo, TokenType
from services.common.contract.base import Empty, ErrorCode
from services.common.contract.ocpp_gateway import ConnectionState, CsmsAuthorizeRequest, Registration
from services.common.lifecycle import serve
from services.common.settings import Settings


class Running:
    def __init__(self, settings: Settings) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(serve(AuthService, settings, self.stop))

    async def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(10):
                await self.task


def _connection(online: bool) -> ConnectionState:
    return ConnectionState(connected=online, registration=Registration.ACCEPTED if online else Registration.NONE,
                           url="ws://csms/ocpp/CB1", since=datetime.now(UTC), outbox_pending=0)


async def _decide(bus: Bus, tag: str) -> tuple[str, str]:
    for _ in range(50):
        try:
            card = IdToken(value=tag, type=TokenType.ISO14443)
            decision = await bus.request(auth.AUTHORIZE, AuthorizeRequest(token=card), timeout=2)
            return decision.info.status.value, decision.source.value
        except BusError as exc:
            if exc.code is not ErrorCode.TIMEOUT:
                raise
    raise AssertionError("auth never answered")


async def test_online_offline_and_the_cache_survives_a_restart(settings: Settings) -> None:
    asked: list[str] = []
    gateway = Bus(settings, "ocpp_gateway")

    async def csms_authorize(request: CsmsAuthorizeRequest, _p: dict[str, str]) -> TokenInfo:
        asked.append(request.token.value)
        status = AuthorizationStatus.BLOCKED if request.token.value == "BAD" else AuthorizationStatus.ACCEPTED
        return TokenInfo(status=status)

    gateway.handle(ocpp_gateway.CSMS_AUTHORIZE, csms_authorize)
    await gateway.start(5)
    gateway.publish(ocpp_gateway.CONNECTION, _connection(True))
    service = Running(settings)
    try:
        assert await _decide(gateway, "GOOD") == ("accepted", "csms")
        assert await _decide(gateway, "BAD") == ("blocked", "csms")
        assert await _decide(gateway, "GOOD") == ("accepted", "cache")  # local_first
        assert asked == ["GOOD", "BAD"]
        gateway.publish(ocpp_gateway.CONNECTION, _connection(False))
        await asyncio.sleep(0.3)
        await service.close()
        service = Running(settings)  # the cache is on disk
        assert await _decide(gateway, "GOOD") == ("accepted", "cache")
        assert await _decide(gateway, "BAD") == ("blocked", "cache")
        assert await _decide(gateway, "NEVERSEEN") == ("invalid", "offline_policy")  # PICS C-02: No
        cleared = await gateway.request(auth.CLEAR_CACHE, Empty(), timeout=5)
        assert cleared.accepted
        assert await _decide(gateway, "GOOD") == ("invalid", "offline_policy")
    finally:
        await service.close()
        await gateway.stop()

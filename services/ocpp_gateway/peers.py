"""The gateway's requests to the services that own the hardware and the decisions: power, metering, auth.

Each request has its timeout and its failure answer here, so the engine reads as the order of a start
or a stop, not as bus plumbing. A failed request is logged and answered None (the caller decides what
is safe); none of them raises.
"""

from __future__ import annotations

import asyncio
import logging
import time

from pydantic import BaseModel

from services.common.bus import Bus, BusError
from services.common.contract import Topic, auth, metering, power, smart_charging
from services.common.contract.auth import AuthorizeRequest, IdToken, TokenInfo
from services.common.contract.metering import Cause, Measurand, MeterReading
from services.common.contract.metering import ReadRequest as MeterReadRequest
from services.common.contract.power import ConnectorRequest, ConnectorState
from services.common.contract.smart_charging import BeginSessionRequest, ChargingLimit, LimitProfile, SessionRef

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 3.0
AUTHORIZE_TIMEOUT_S = 35.0  # auth may ask the CSMS (Authorize.req, 30 s response timeout)


class Peers:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def command(self, topic: Topic, request: BaseModel) -> ConnectorState | None:
        """A power command; its answer is the connector state after the command went out."""
        try:
            state: ConnectorState = await self.bus.request(topic, request, timeout=COMMAND_TIMEOUT_S)
        except BusError as exc:
            log.warning("%s failed: %s", topic.path.rsplit("/", 1)[-1], exc)
            return None
        return state

    async def deenergize(self, connector: int) -> None:
        if await self.command(power.DEENERGIZE, ConnectorRequest(connector_id=connector)) is None:
            log.error("deenergize failed connector=%d: power's own session check will cut the output", connector)

    async def power_state(self, connector: int, wait_s: float) -> ConnectorState | None:
        """Power's state of the connector, asked again for up to `wait_s` (power may be starting with us)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                state: ConnectorState = await self.bus.request(
                    power.GET_STATE, ConnectorRequest(connector_id=connector), timeout=2)
            except BusError as exc:
                if time.monotonic() > deadline:
                    log.warning("power did not answer get_state in %.0f s: %s", wait_s, exc)
                    return None
                await asyncio.sleep(0.5)
                continue
            return state

    async def read(self, connector: int, cause: Cause, measurands: list[Measurand]) -> MeterReading | None:
        try:
            reading: MeterReading = await self.bus.request(metering.READ, MeterReadRequest(
                connector_id=connector, cause=cause, measurands=measurands), timeout=COMMAND_TIMEOUT_S)
        except BusError as exc:
            log.error("meter read failed connector=%d: %s", connector, exc)
            return None
        return reading

    async def authorize(self, token: IdToken, connector: int) -> TokenInfo | None:
        """auth's decision (None: auth did not answer)."""
        try:
            decision = await self.bus.request(auth.AUTHORIZE, AuthorizeRequest(
                token=token, connector_id=connector), timeout=AUTHORIZE_TIMEOUT_S)
        except BusError as exc:
            log.warning("authorize failed id_token=%s: %s", token.value, exc)
            return None
        info = decision.info
        log.info("authorize id_token=%s status=%s source=%s", token.value, info.status, decision.source)
        return info

    async def begin_session(self, connector: int, session: SessionRef, profile: LimitProfile | None
                            ) -> ChargingLimit | None:
        """Tell smart_charging a session starts (before power energizes): its limit is on the bus when this returns.

        None when smart_charging did not confirm: no energy may flow without the limit in force.
        """
        try:
            limit: ChargingLimit = await self.bus.request(smart_charging.BEGIN_SESSION, BeginSessionRequest(
                connector_id=connector, session=session, profile=profile), timeout=COMMAND_TIMEOUT_S)
        except BusError as exc:
            log.error("session=%s: smart_charging did not confirm its limit (%s)", session.session_id, exc)
            return None
        return limit

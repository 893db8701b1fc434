"""One command on the bus from the command line: connect, ask, print, exit with a status a script can test."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

from pydantic import BaseModel

from services.common.bus import Bus, BusError
from services.common.contract import ErrorCode, Topic
from services.common.settings import Settings

TIMEOUT_S = 5.0


async def ask(settings: Settings, topic: Topic, request: BaseModel, timeout: float = TIMEOUT_S) -> Any:
    bus = Bus(settings, "cli", client_id=f"chargebus-cli-{uuid.uuid4().hex[:12]}", persistent=False, health=False)
    try:
        try:
            await bus.start(timeout=timeout)
        except TimeoutError:
            raise BusError(ErrorCode.UNAVAILABLE, f"no MQTT broker at {settings.mqtt_url}") from None
        return await bus.request(topic, request, timeout=timeout)
    finally:
        await bus.stop()


def run(command: str, settings: Settings, topic: Topic, request: BaseModel, timeout: float = TIMEOUT_S) -> Any:
    """The reply, or None after one line on stderr (the exit status is then the caller's: 1)."""
    try:
        return asyncio.run(ask(settings, topic, request, timeout))
    except BusError as exc:
        hint = f" (is the {topic.owner} service running?)" if exc.code is ErrorCode.TIMEOUT else ""
        print(f"chargebus {command}: {exc.code}: {exc.message}{hint}", file=sys.stderr)
        return None

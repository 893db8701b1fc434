"""A local list update on its way to auth, whichever protocol brought it: in parts of LIST_PART_ENTRIES entries,
one update id, the last part with more=False (auth applies the whole update with it, all or nothing).

Each part is converted just before it is sent, so that neither process holds the whole list as the contract's
objects (issue 16). Two parts are in flight at a time: the gateway converts the next while auth stores the one
before; auth applies them in the order they arrive, and after a part it refuses, it refuses the rest too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from services.common.bus import Bus
from services.common.contract import auth
from services.common.contract.auth import SendLocalListReply, SendLocalListRequest, UpdateStatus
from services.common.lifecycle import cancel_and_wait

APPLY_TIMEOUT_S = 30.0
IN_FLIGHT = 2  # parts sent and not yet answered

Convert = Callable[[Any], dict[str, Any]]  # one entry as the protocol has it -> {"token": ..., "info": ...}


async def apply(bus: Bus, version: int, update_type: str, entries: Sequence[Any], convert: Convert) -> UpdateStatus:
    """auth's answer to the whole update. Raises ValidationError or ValueError for an entry the contract cannot
    carry, BusError when auth does not answer (the parts staged so far are dropped by auth's next update)."""
    in_flight: deque[asyncio.Task[SendLocalListReply]] = deque()
    reply: SendLocalListReply | None = None
    try:
        for request in _parts(version, update_type, entries, convert):
            in_flight.append(asyncio.create_task(bus.request(auth.SEND_LOCAL_LIST, request, timeout=APPLY_TIMEOUT_S)))
            del request  # sent by its task: not held here while an answer is awaited
            if len(in_flight) == IN_FLIGHT:
                reply = await in_flight.popleft()
                if reply.status is not UpdateStatus.ACCEPTED:
                    break
        else:
            while in_flight:
                reply = await in_flight.popleft()
                if reply.status is not UpdateStatus.ACCEPTED:
                    break
    finally:
        await cancel_and_wait(*in_flight)
    assert reply is not None  # an update is one part at least
    return reply.status


def _parts(version: int, update_type: str, entries: Sequence[Any], convert: Convert
           ) -> Iterator[SendLocalListRequest]:
    update, size = uuid.uuid4().hex, auth.LIST_PART_ENTRIES
    for part, start in enumerate(range(0, max(len(entries), 1), size)):
        yield SendLocalListRequest.model_validate({
            "version": version, "update_type": update_type.lower(), "update": update, "part": part,
            "more": start + size < len(entries), "entries": [convert(e) for e in entries[start:start + size]]})

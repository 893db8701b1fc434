"""Local Authorization List Management: the list is auth's; the gateway translates.

SendLocalList can carry 9999 entries (~1.2 MB): the WebSocket takes frames up to 4 MiB, the list goes to
auth in parts of 250 entries (applied all or nothing there, with the last part), and the call is answered in
a task of its own, so the connection keeps reading (our own calls' answers, heartbeats) meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, UpdateStatus
from pydantic import ValidationError

from services.common.bus import BusError
from services.common.contract import auth
from services.common.contract.auth import SendLocalListReply, SendLocalListRequest
from services.common.contract.base import Empty
from services.common.lifecycle import cancel_and_wait

from .. import tokens
from ..list_frames import ListEntry
from ..protocol import raw_call
from .base import Actions

log = logging.getLogger(__name__)

APPLY_TIMEOUT_S = 30.0
IN_FLIGHT = 2  # parts sent and not yet answered


class LocalListActions(Actions):
    @on(Action.get_local_list_version)
    async def on_get_local_list_version(self) -> call_result.GetLocalListVersion:
        try:
            reply = await self.station.bus.request(auth.GET_LOCAL_LIST_VERSION, Empty(), timeout=5)
        except BusError as exc:
            raise InternalError(description=f"the local list is not reachable: {exc.code}") from None
        return call_result.GetLocalListVersion(list_version=reply.version)

    @raw_call(Action.send_local_list)
    async def send_local_list(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a list already checked against the 1.6 schema; the reply is Accepted only once auth stored it.

        The entries come as `list_frames` read them (or as dicts, from a frame the ordinary path read). They go to
        auth in parts, each converted just before it is sent: neither process holds 9999 entries as the
        contract's objects, whose heap would stay behind after the list (issue 16). Two parts are in flight at a
        time, so the gateway converts the next while auth stores the one before; auth applies them in the order
        they arrive, and after a part it refuses it refuses the rest of the update too."""
        entries = payload.get("localAuthorizationList") or []
        limit = self.station.config.get_int("SendLocalListMaxLength")
        if len(entries) > limit:
            log.warning("SendLocalList with %d entries refused: SendLocalListMaxLength is %d", len(entries), limit)
            return {"status": UpdateStatus.failed.value}
        in_flight: deque[asyncio.Task[SendLocalListReply]] = deque()
        reply: SendLocalListReply | None = None
        try:
            for request in _parts(payload["listVersion"], payload["updateType"], entries):
                in_flight.append(asyncio.create_task(
                    self.station.bus.request(auth.SEND_LOCAL_LIST, request, timeout=APPLY_TIMEOUT_S)))
                del request  # sent by its task: not held here while an answer is awaited
                if len(in_flight) == IN_FLIGHT:
                    reply = await in_flight[0]
                    in_flight.popleft()
                    if reply.status is not auth.UpdateStatus.ACCEPTED:
                        break
            else:
                while in_flight:
                    reply = await in_flight[0]
                    in_flight.popleft()
                    if reply.status is not auth.UpdateStatus.ACCEPTED:
                        break
        except (ValidationError, ValueError) as exc:  # the parts staged so far are dropped by auth's next update
            log.warning("SendLocalList refused: %s", exc)
            return {"status": UpdateStatus.failed.value}
        except BusError as exc:
            log.error("SendLocalList not applied: %s", exc)
            return {"status": UpdateStatus.failed.value}
        finally:
            await cancel_and_wait(*in_flight)
        assert reply is not None  # an update is one part at least
        return {"status": tokens.UPDATE_STATUSES[reply.status]}


def _parts(version: int, update_type: str, entries: list[Any]) -> Iterator[SendLocalListRequest]:
    """The update as auth takes it: parts of LIST_PART_ENTRIES, one update id, the last with more=False (an empty
    list is one empty part). Raises ValidationError or ValueError for an entry the contract cannot carry."""
    update, size = uuid.uuid4().hex, auth.LIST_PART_ENTRIES
    for part, start in enumerate(range(0, max(len(entries), 1), size)):
        yield SendLocalListRequest.model_validate({
            "version": version, "update_type": update_type.lower(), "update": update, "part": part,
            "more": start + size < len(entries),
            "entries": [_entry(e if isinstance(e, ListEntry) else ListEntry.of(e))
                        for e in entries[start:start + size]]})


def _entry(entry: ListEntry) -> dict[str, Any]:
    info = None if entry.status is None else tokens.info(
        {"status": entry.status, "parentIdTag": entry.parent, "expiryDate": entry.expiry})
    return {"token": tokens.token(entry.id_tag), "info": info}

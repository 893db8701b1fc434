"""Local Authorization List Management: the list is auth's; the gateway translates.

SendLocalList can carry 9999 entries (~1.2 MB): the WebSocket takes frames up to 4 MiB, the list goes to
auth in parts (`list_parts`, applied all or nothing there, with the last part), and the call is answered in
a task of its own, so the connection keeps reading (our own calls' answers, heartbeats) meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, UpdateStatus
from pydantic import ValidationError

from services.common.bus import BusError
from services.common.contract import auth
from services.common.contract.base import Empty

from .. import list_parts, tokens
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

        The entries come as `list_frames` read them (or as dicts, from a frame the ordinary path read)."""
        entries = payload.get("localAuthorizationList") or []
        limit = self.station.config.get_int("SendLocalListMaxLength")
        if len(entries) > limit:
            log.warning("SendLocalList with %d entries refused: SendLocalListMaxLength is %d", len(entries), limit)
            return {"status": UpdateStatus.failed.value}
        try:
            status = await list_parts.apply(self.station.bus, payload["listVersion"], payload["updateType"],
                                            entries, _entry)
        except (ValidationError, ValueError) as exc:  # the parts staged so far are dropped by auth's next update
            log.warning("SendLocalList refused: %s", exc)
            return {"status": UpdateStatus.failed.value}
        except BusError as exc:
            log.error("SendLocalList not applied: %s", exc)
            return {"status": UpdateStatus.failed.value}
        return {"status": tokens.UPDATE_STATUSES[status]}


def _entry(raw: Any) -> dict[str, Any]:
    """A 1.6 entry (as `list_frames` read it, or a dict from the ordinary path) as auth takes it."""
    entry = raw if isinstance(raw, ListEntry) else ListEntry.of(raw)
    info = None if entry.status is None else tokens.info(
        {"status": entry.status, "parentIdTag": entry.parent, "expiryDate": entry.expiry})
    return {"token": tokens.token(entry.id_tag), "info": info}

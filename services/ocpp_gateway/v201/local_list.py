"""OCPP 2.0.1 D01, D02: SendLocalList and GetLocalListVersion. The list is auth's; the gateway translates and
sends it in parts (`list_parts`), as under 1.6.

More entries than LocalAuthListCtrlr.ItemsPerMessage in one message is Failed, as is an entry the station
cannot take (an unknown token type, an idTokenInfo status it does not know); nothing of the update is kept.

A SendLocalList frame is read by `list_frames` (entry by entry, against the 2.0.1 schema) before the library
sees it: the library's own check of a 9999-entry frame takes 2.7 s. A frame that reader leaves is the library's,
checked and answered as any call.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.exceptions import InternalError
from ocpp.messages import CallResult
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import SendLocalListStatusEnumType as ListStatus
from pydantic import ValidationError

from services.common.bus import Bus, BusError
from services.common.contract import auth
from services.common.contract.auth import UpdateStatus
from services.common.contract.base import Empty

from .. import list_frames, list_parts
from ..list_frames import ListEntry201
from . import tokens
from .variable_store import VariableStore
from .variables import LOCAL_LIST

log = logging.getLogger(__name__)

# 2.0.1 has no NotSupported: a list switched off takes no update
STATUSES = {UpdateStatus.ACCEPTED: ListStatus.accepted, UpdateStatus.FAILED: ListStatus.failed,
            UpdateStatus.NOT_SUPPORTED: ListStatus.failed, UpdateStatus.VERSION_MISMATCH: ListStatus.version_mismatch}


def _entry(raw: Any) -> dict[str, Any]:
    """An AuthorizationData entry (as `list_frames` read it, or the library's snake_case dict) as auth takes it;
    ValueError for one the station cannot take."""
    if isinstance(raw, ListEntry201):
        info = None if raw.status is None else {"status": raw.status, "cache_expiry_date_time": raw.expiry} | (
            {"group_id_token": {"id_token": raw.group, "type": raw.group_type}} if raw.group is not None else {})
        token = tokens.token({"id_token": raw.token, "type": raw.token_type})
    else:
        info, token = raw.get("id_token_info"), tokens.token(raw["id_token"])
    return {"token": token, "info": tokens.info(info) if info else None}


class LocalListActions(ChargePoint):
    """Needs `bus` and `variables` from the class it is mixed into."""

    bus: Bus
    variables: VariableStore

    @on(Action.get_local_list_version)
    async def on_get_local_list_version(self) -> call_result.GetLocalListVersion:
        try:
            reply = await self.bus.request(auth.GET_LOCAL_LIST_VERSION, Empty(), timeout=5)
        except BusError as exc:
            raise InternalError(description=f"the local list is not reachable: {exc.code}") from None
        return call_result.GetLocalListVersion(version_number=reply.version)

    async def route_message(self, raw_msg: str | bytes) -> None:
        checked = list_frames.read(raw_msg, "v201")
        if checked is None:
            await super().route_message(raw_msg)
            return
        payload = checked.payload
        answer = await self.on_send_local_list(payload["versionNumber"], payload["updateType"],
                                               payload.get("localAuthorizationList"))
        await self._send(CallResult(checked.unique_id, {"status": answer.status}).to_json())

    @on(Action.send_local_list)
    async def on_send_local_list(self, version_number: int, update_type: str,
                                 local_authorization_list: list[Any] | None = None, **_custom: Any
                                 ) -> call_result.SendLocalList:
        entries = local_authorization_list or []
        limit = self.variables.get_int(f"{LOCAL_LIST}.ItemsPerMessage")
        if len(entries) > limit:
            log.warning("SendLocalList with %d entries refused: ItemsPerMessage is %d", len(entries), limit)
            return call_result.SendLocalList(status=ListStatus.failed)
        try:
            status = await list_parts.apply(self.bus, version_number, update_type, entries, _entry)
        except (ValidationError, ValueError) as exc:  # the parts staged so far are dropped by auth's next update
            log.warning("SendLocalList refused: %s", exc)
            return call_result.SendLocalList(status=ListStatus.failed)
        except BusError as exc:
            log.error("SendLocalList not applied: %s", exc)
            return call_result.SendLocalList(status=ListStatus.failed)
        return call_result.SendLocalList(status=STATUSES[status])

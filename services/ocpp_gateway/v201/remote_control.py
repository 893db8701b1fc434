"""OCPP 2.0.1 F01-F03, F05 and B11-B12: RequestStartTransaction, RequestStopTransaction, UnlockConnector and
Reset, on the transaction engine and the restart the 1.6 calls use (`engine.py`, `reset.py`).

- A remote start names its token and, optionally, its EVSE and a TxProfile. AuthCtrlr.AuthorizeRemoteStart
  decides whether the token is authorized first, as AuthorizeRemoteTxRequests does under 1.6. The
  remoteStartId comes back in the Started event (transactionInfo.remoteStartId, triggerReason RemoteStart).
- A remote stop names the transactionId the station made: the session id.
- The cable is fixed: there is no lock to open. UnlockConnector is answered UnlockFailed (or
  OngoingAuthorizedTransaction while a transaction runs, UnknownConnector for one the station has not).
- Reset Immediate stops every transaction (stoppedReason ImmediateReset) and restarts the station; OnIdle does
  the same at once when nothing runs, else it is Scheduled and done when the last transaction has ended. A
  reset of one EVSE stops its transaction the same way and restarts `power`, which drives the EVSE's hardware:
  the station does not boot again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ocpp.routing import after, on
from ocpp.v16.enums import ResetType
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import RequestStartStopStatusEnumType as StartStop
from ocpp.v201.enums import ResetEnumType as ResetKind
from ocpp.v201.enums import ResetStatusEnumType as ResetStatus
from ocpp.v201.enums import UnlockStatusEnumType as Unlock

from services.common.bus import Bus, BusError
from services.common.contract import smart_charging
from services.common.contract.hardware import CONNECTORS
from services.common.contract.smart_charging import LimitProfile, LimitPurpose, SetProfileRequest

from ..engine import TransactionEngine
from ..limits import REQUEST_TIMEOUT_S, ProfileError
from . import limits, tokens
from .provisioning import Spawn
from .tx_messages import key

log = logging.getLogger(__name__)


def _info(reason: str, why: str) -> dict[str, Any]:
    return {"reason_code": reason, "additional_info": why[:512]}


class RemoteControlActions(ChargePoint):
    """Needs `bus`, `transactions`, `reset`, `reset_pending` and `spawn` from the class it is mixed into."""

    bus: Bus
    transactions: TransactionEngine
    reset: Callable[[str], Coroutine[Any, Any, None]]
    reset_evse: Callable[[int], Coroutine[Any, Any, None]]
    reset_pending: Callable[[], bool]  # a reset is scheduled (OnIdle) or under way
    schedule_reset: Callable[[int], None]  # a Reset OnIdle of the station (0) or an EVSE, after its transaction
    spawn: Spawn
    resetting: int | None = None  # a Reset was accepted, of the station (0) or an EVSE: it runs once the answer is out

    @on(Action.request_start_transaction)
    async def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None,
                               charging_profile: dict[str, Any] | None = None, **_custom: Any
                               ) -> call_result.RequestStartTransaction:
        if evse_id is not None and evse_id not in CONNECTORS:
            return call_result.RequestStartTransaction(status=StartStop.rejected,
                                                       status_info=_info("UnknownEvse", f"EVSE {evse_id}"))
        try:
            token = tokens.token(id_token)
        except ValueError as exc:
            return call_result.RequestStartTransaction(status=StartStop.rejected,
                                                       status_info=_info("InvalidIdToken", str(exc)))
        profile = None
        if charging_profile is not None:  # a TxProfile for the new transaction, or no start at all
            try:
                profile = limits.read({"charging_profile": charging_profile})[0]
            except ProfileError as exc:
                return call_result.RequestStartTransaction(status=StartStop.rejected,
                                                           status_info=_info("InvalidProfile", str(exc)))
            why = await self._refusal(evse_id if evse_id is not None else CONNECTORS[0], profile)
            if why is not None:
                return call_result.RequestStartTransaction(status=StartStop.rejected,
                                                           status_info=_info("InvalidProfile", why))
        running = self.transactions.sessions.running(evse_id) if evse_id is not None else None
        accepted = await self.transactions.remote_start(key(token), evse_id, profile, remote_start_id)
        log.info("remote start evse=%s remote_start_id=%d accepted=%s", evse_id, remote_start_id, accepted)
        return call_result.RequestStartTransaction(
            status=StartStop.accepted if accepted else StartStop.rejected,
            transaction_id=running.session_id if running is not None else None)

    async def _refusal(self, connector: int, profile: LimitProfile) -> str | None:
        """Why smart_charging would not take this profile for the transaction a remote start begins, or None."""
        if profile.purpose is not LimitPurpose.SESSION:
            return "only a TxProfile comes with a remote start"
        try:
            reply = await self.bus.request(smart_charging.SET_PROFILE, SetProfileRequest(
                connector_id=connector, profile=profile, check_only=True), timeout=REQUEST_TIMEOUT_S)
        except BusError as exc:
            return f"smart charging did not answer: {exc}"
        return None if reply.status == "accepted" else reply.reason or "refused"

    @on(Action.request_stop_transaction)
    async def on_request_stop(self, transaction_id: str, **_custom: Any) -> call_result.RequestStopTransaction:
        accepted = await self.transactions.remote_stop(transaction_id)
        log.info("remote stop transaction=%s accepted=%s", transaction_id, accepted)
        return call_result.RequestStopTransaction(status=StartStop.accepted if accepted else StartStop.rejected)

    @on(Action.unlock_connector)
    def on_unlock_connector(self, evse_id: int, connector_id: int, **_custom: Any) -> call_result.UnlockConnector:
        if evse_id not in CONNECTORS or connector_id != 1:
            return call_result.UnlockConnector(status=Unlock.unknown_connector)
        if self.transactions.sessions.running(evse_id) is not None:
            return call_result.UnlockConnector(status=Unlock.ongoing_authorized_transaction)
        return call_result.UnlockConnector(status=Unlock.unlock_failed,
                                           status_info=_info("FixedCable", "the cable is fixed: it has no lock"))

    @on(Action.reset)
    def on_reset(self, type: str, evse_id: int | None = None, **_custom: Any) -> call_result.Reset:
        target = 0 if evse_id is None else evse_id
        if target != 0 and target not in CONNECTORS:
            return call_result.Reset(status=ResetStatus.rejected, status_info=_info("UnknownEvse", f"EVSE {evse_id}"))
        if self.reset_pending():
            return call_result.Reset(status=ResetStatus.rejected,
                                     status_info=_info("UnsupportedRequest", "a reset is already under way"))
        busy = any(self.transactions.sessions.busy(c) for c in (CONNECTORS if target == 0 else (target,)))
        if type == ResetKind.on_idle and busy:
            self.schedule_reset(target)
            log.warning("reset OnIdle of %s scheduled: after its transaction", f"EVSE {target}" if target else
                        "the station")
            return call_result.Reset(status=ResetStatus.scheduled)
        self.resetting = target
        return call_result.Reset(status=ResetStatus.accepted)

    @after(Action.reset)
    def after_reset(self, **_payload: Any) -> None:
        target, self.resetting = self.resetting, None
        if target == 0:  # the station: every Ended event delivered before the restart
            self.spawn(self.reset(ResetType.soft), "reset")
        elif target is not None:
            self.spawn(self.reset_evse(target), f"reset-evse-{target}")

"""OCPP 2.0.1 H01-H04: ReserveNow, CancelReservation and ReservationStatusUpdate, on the reservations the
transaction engine keeps under 1.6 too (`sessions.py`: one per EVSE, persisted, ended when used, cancelled or
expired).

A reservation names its EVSE: ReservationCtrlr.NonEvseSpecific is false, as the 1.6 station refuses connector
0. The connector type, when given, must be the station's (cCCS1). The CSMS is told when a reservation expires
(ReservationStatusUpdate Expired); one it cancelled or one a transaction used it knows of already.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from ocpp.v201.enums import CancelReservationStatusEnumType as CancelStatus
from ocpp.v201.enums import ReservationUpdateStatusEnumType as Update
from ocpp.v201.enums import ReserveNowStatusEnumType as Status

from services.common.contract.hardware import CONNECTORS

from ..engine import TransactionEngine
from ..link import Link
from ..ports import CsmsCallError, CsmsUnavailable
from ..request_values import utc
from ..sessions import Booking
from . import tokens
from .tx_messages import key

log = logging.getLogger(__name__)

CONNECTOR_TYPE = "cCCS1"


def _refused(reason: str, why: str) -> call_result.ReserveNow:
    return call_result.ReserveNow(status=Status.rejected, status_info={"reason_code": reason,
                                                                       "additional_info": why[:512]})


class ReservationActions(ChargePoint):
    """Needs `transactions` from the class it is mixed into."""

    transactions: TransactionEngine

    @on(Action.reserve_now)
    async def on_reserve_now(self, id: int, expiry_date_time: str, id_token: dict[str, Any],
                             connector_type: str | None = None, evse_id: int | None = None,
                             group_id_token: dict[str, Any] | None = None, **_custom: Any) -> call_result.ReserveNow:
        if evse_id is None:
            return _refused("UnsupportedRequest", "a reservation names its EVSE (NonEvseSpecific is false)")
        if evse_id not in CONNECTORS:
            return _refused("UnknownEvse", f"EVSE {evse_id}")
        if connector_type is not None and connector_type != CONNECTOR_TYPE:
            return _refused("UnknownConnectorType", f"the station's connector is {CONNECTOR_TYPE}")
        try:
            token = tokens.token(id_token)
            group = tokens.token(group_id_token) if group_id_token is not None else None
            expiry = utc(expiry_date_time)
        except ValueError as exc:
            return _refused("InvalidValue", str(exc))
        status = self.transactions.reserve(Booking(id, evse_id, key(token), key(group) if group else None, expiry))
        log.info("reservation=%d evse=%d status=%s", id, evse_id, status.value)
        return call_result.ReserveNow(status=Status(status.value))

    @on(Action.cancel_reservation)
    async def on_cancel_reservation(self, reservation_id: int, **_custom: Any) -> call_result.CancelReservation:
        found = self.transactions.cancel_reservation(reservation_id)
        return call_result.CancelReservation(status=CancelStatus.accepted if found else CancelStatus.rejected)


async def tell_expired(link: Link, reservation_id: int, why: str) -> None:
    """ReservationStatusUpdate for a reservation that ended without the CSMS asking (H01.FR.07: expired)."""
    if why != "expired":
        return
    try:
        await link.call(call.ReservationStatusUpdate(reservation_id=reservation_id,
                                                     reservation_update_status=Update.expired))
    except (CsmsUnavailable, CsmsCallError) as exc:
        log.warning("reservation=%d expiry not told: %s", reservation_id, exc)

"""Reservation: connector reservations only (PICS R-1 No: connector 0 is refused). The gateway owns them."""

from __future__ import annotations

import logging

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, CancelReservationStatus, ReservationStatus

from services.common.contract.hardware import CONNECTORS

from .. import tokens
from ..sessions import Booking
from .base import Actions

log = logging.getLogger(__name__)


class ReservationActions(Actions):
    @on(Action.reserve_now)
    async def on_reserve_now(self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int,
                             parent_id_tag: str | None = None) -> call_result.ReserveNow:
        if connector_id not in CONNECTORS:  # 0 is the whole station: ReserveConnectorZeroSupported is false
            return call_result.ReserveNow(status=ReservationStatus.rejected)
        try:
            expiry = tokens.utc_date(expiry_date)
        except ValueError:
            log.info("ReserveNow rejected: expiryDate %r is no date-time", expiry_date)
            return call_result.ReserveNow(status=ReservationStatus.rejected)
        status = self.station.transactions.reserve(Booking(reservation_id, connector_id, id_tag, parent_id_tag,
                                                           expiry))
        return call_result.ReserveNow(status=status.value)

    @on(Action.cancel_reservation)
    async def on_cancel_reservation(self, reservation_id: int) -> call_result.CancelReservation:
        found = self.station.transactions.cancel_reservation(reservation_id)
        return call_result.CancelReservation(
            status=CancelReservationStatus.accepted if found else CancelReservationStatus.rejected)




"""What the gateway publishes about a connector's session and reservation, built from its own records.

Pure: the engine passes what it knows and publishes the result (retained), on every change and on
every reconnect to the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from services.common.contract.auth import IdToken
from services.common.contract.ocpp_gateway import (
    Reservation,
    ReservationState,
    SessionPhase,
    SessionView,
    TransactionState,
)

from .sessions import Booking, Running
from .tx_store import Tx


class Naming(Protocol):
    """How the OCPP version in use names tokens and transactions (`tx_messages.TxMessages`)."""

    def token(self, key: str) -> IdToken: ...

    def transaction_id(self, session_id: str, confirmed: int | None) -> str | None: ...


def transaction_state(connector: int, run: Running | None, starting: Tx | None, stored: Tx | None, naming: Naming
                      ) -> TransactionState:
    """`run`: the session the state machine runs; `starting`: one being started (written, not yet energized);
    `stored`: the run's row, for its start time."""
    if run is not None:
        phase = SessionPhase.SUSPENDED if run.suspended else SessionPhase.ACTIVE
        return TransactionState(connector_id=connector, phase=phase, session_id=run.session_id,
                                transaction_id=naming.transaction_id(run.session_id, run.transaction_id),
                                token=naming.token(run.id_tag), started_at=stored.started_at if stored else None,
                                meter_start_wh=run.meter_start_wh)
    if starting is not None:
        return TransactionState(connector_id=connector, phase=SessionPhase.STARTING,
                                session_id=starting.session_id, token=naming.token(starting.id_tag),
                                started_at=starting.started_at, meter_start_wh=starting.meter_start)
    return TransactionState(connector_id=connector)


def session_view(connector: int, run: Running | None, starting: Tx | None) -> SessionView:
    """What power may energize for: the session persisted on the connector (starting, active, suspended)."""
    if starting is not None:
        return SessionView(connector_id=connector, phase=SessionPhase.STARTING, session_id=starting.session_id)
    if run is None:
        return SessionView(connector_id=connector, phase=SessionPhase.NONE)
    return SessionView(connector_id=connector, session_id=run.session_id, suspended=run.suspended,
                       phase=SessionPhase.SUSPENDED if run.suspended else SessionPhase.ACTIVE)


def reservation_state(connector: int, booking: Booking | None, token: Callable[[str], IdToken]) -> ReservationState:
    reservation = None if booking is None else Reservation(
        reservation_id=booking.reservation_id, connector_id=booking.connector_id, token=token(booking.id_tag),
        group=token(booking.parent_id_tag) if booking.parent_id_tag else None, expires_at=booking.expiry)
    return ReservationState(connector_id=connector, reservation=reservation)

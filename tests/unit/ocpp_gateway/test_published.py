"""What the gateway publishes about a connector, from its own records (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.contract.auth import IdToken, TokenType
from services.common.contract.ocpp_gateway import SessionPhase
from services.ocpp_gateway.messages import OCPP16
from services.ocpp_gateway.published import reservation_state, session_view, transaction_state
from services.ocpp_gateway.sessions import Booking, Running
from services.ocpp_gateway.tx_store import STARTING, Tx

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ROW = Tx(session_id="s1", connector_id=1, id_tag="TAG1", started_at=AT, meter_start=100, transaction_id=None,
         phase=STARTING, last_meter_wh=100, last_meter_at=AT)


def test_a_running_session_is_active_or_suspended_with_its_row_start() -> None:
    run = Running("s1", "TAG1", None, 100, transaction_id=7)
    state = transaction_state(1, run, None, ROW, OCPP16)
    assert (state.open, state.phase, state.transaction_id, state.started_at) == (True, SessionPhase.ACTIVE, "7", AT)
    suspended = Running("s1", "TAG1", None, 100, suspended=True)
    assert transaction_state(1, suspended, None, ROW, OCPP16).phase is SessionPhase.SUSPENDED
    assert session_view(1, suspended, None).phase is SessionPhase.SUSPENDED


def test_a_starting_session_is_active_before_power_energized() -> None:
    state = transaction_state(1, None, ROW, None, OCPP16)
    assert (state.open, state.phase, state.session_id, state.transaction_id) == (True, SessionPhase.STARTING,
                                                                                    "s1", None)
    view = session_view(1, None, ROW)
    assert (view.phase, view.session_id) == (SessionPhase.STARTING, "s1")


def test_no_session_is_inactive() -> None:
    assert transaction_state(1, None, None, None, OCPP16).open is False
    assert session_view(1, None, None).phase is SessionPhase.NONE


def test_reservation_state_with_and_without_a_booking() -> None:
    assert reservation_state(1, None, OCPP16.token).reservation is None
    booked = reservation_state(1, Booking(12, 1, "TAG1", "FLEET", AT), OCPP16.token).reservation
    assert booked is not None and (booked.reservation_id, booked.token.value, booked.group, booked.expires_at) == (
        12, "TAG1", IdToken(value="FLEET", type=TokenType.ISO14443), AT)

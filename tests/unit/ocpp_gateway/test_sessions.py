"""The session state machine, driven with a fake clock: events in, actions out (no bus, no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from services.common.contract.auth import AuthorizationStatus, TokenInfo
from services.ocpp_gateway.sessions import (
    Action,
    Authorize,
    Booking,
    Budget,
    ConnectorInput,
    Phase,
    Prepare,
    Purpose,
    Reason,
    Reserve,
    ReserveStatus,
    Rules,
    Running,
    Sessions,
    Start,
    Stop,
    Suspend,
    Unreserve,
)
from services.ocpp_gateway.tokens import token

ACCEPTED = TokenInfo(status=AuthorizationStatus.ACCEPTED)
WALL = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PLUGGED = ConnectorInput(plugged=True, usable=True)
UNPLUGGED = ConnectorInput(plugged=False, usable=True)


@dataclass
class Rig:
    rules: Rules = field(default_factory=Rules)

    def __post_init__(self) -> None:
        self.sessions = Sessions((1,), lambda: self.rules)

    def running(self, tag: str = "TAG1", parent: str | None = None, meter_start: int = 1000) -> Running:
        """Bring connector 1 to an active session, the way the engine would."""
        self.sessions.connector(1, PLUGGED, 0.0)
        run = Running("s-1", tag, parent, meter_start)
        self.sessions.started(1, run)
        return run


def test_card_then_cable_starts_and_the_same_card_in_another_case_stops() -> None:
    rig = Rig()
    s = rig.sessions
    assert s.swiped("abcd1234", 0.0) == [Authorize(1, "abcd1234", Purpose.START)]
    assert s.authorized(1, "abcd1234", Purpose.START, ACCEPTED, 0.1) == [Prepare(1, True)]
    assert s.get(1).phase is Phase.WAITING
    assert s.connector(1, PLUGGED, 5.0) == [Start(1, "abcd1234", None, cable_last=True)]
    s.started(1, Running("s-1", "abcd1234", None, 0))
    # IdToken is CiString20: the card read in upper case is the same card
    assert s.swiped("ABCD1234", 9.0) == [Stop(1, Reason.LOCAL, "ABCD1234")]
    assert s.get(1).phase is Phase.STOPPING
    s.stopped(1)
    assert s.get(1).phase is Phase.IDLE


def test_cable_then_card_starts_at_once() -> None:
    rig = Rig()
    s = rig.sessions
    s.connector(1, PLUGGED, 0.0)
    s.swiped("TAG1", 1.0)
    fleet = TokenInfo(status=AuthorizationStatus.ACCEPTED, group=token("FLEET"))
    assert s.authorized(1, "TAG1", Purpose.START, fleet, 1.1) == [Start(1, "TAG1", "FLEET")]


@pytest.mark.parametrize("status", [AuthorizationStatus.BLOCKED, AuthorizationStatus.EXPIRED,
                                    AuthorizationStatus.INVALID, AuthorizationStatus.IN_USE, None])
def test_a_refused_or_unanswered_card_starts_nothing(status: AuthorizationStatus | None) -> None:
    s = Rig().sessions
    s.connector(1, PLUGGED, 0.0)
    s.swiped("TAG1", 0.0)
    info = TokenInfo(status=status) if status is not None else None
    assert s.authorized(1, "TAG1", Purpose.START, info, 0.1) == []
    assert s.get(1).phase is Phase.IDLE


def test_connection_timeout_gives_up_and_the_same_card_cancels() -> None:
    rig = Rig(Rules(connection_timeout_s=30))
    s = rig.sessions
    s.swiped("TAG1", 0.0)
    s.authorized(1, "TAG1", Purpose.START, ACCEPTED, 0.0)
    assert s.tick(29.9, WALL) == []
    assert s.tick(30.0, WALL) == [Prepare(1, False)] and s.get(1).phase is Phase.IDLE
    s.swiped("TAG2", 40.0)
    s.authorized(1, "TAG2", Purpose.START, ACCEPTED, 40.0)
    assert s.swiped("tag2", 41.0) == [Prepare(1, False)] and s.get(1).phase is Phase.IDLE


def test_a_card_that_shares_the_parent_stops_another_does_not() -> None:
    rig = Rig()
    rig.running("CARD_A", parent="FLEET1")
    s = rig.sessions
    assert s.swiped("CARD_C", 1.0) == [Authorize(1, "CARD_C", Purpose.STOP)]
    other_fleet = TokenInfo(status=AuthorizationStatus.ACCEPTED, group=token("FLEET2"))
    assert s.authorized(1, "CARD_C", Purpose.STOP, other_fleet, 1.1) == []
    same_fleet_other_case = TokenInfo(status=AuthorizationStatus.ACCEPTED, group=token("fleet1"))
    assert s.authorized(1, "CARD_B", Purpose.STOP, same_fleet_other_case, 2.0) == [Stop(1, Reason.LOCAL, "CARD_B")]


def test_no_parent_known_means_only_the_same_card_stops() -> None:
    rig = Rig()
    rig.running("CARD_A", parent=None)
    s = rig.sessions
    s.swiped("CARD_B", 1.0)
    assert s.authorized(1, "CARD_B", Purpose.STOP, TokenInfo(status=AuthorizationStatus.ACCEPTED), 1.1) == []


def test_the_parent_learnt_from_start_transaction_conf_lets_a_fleet_card_stop() -> None:
    rig = Rig()
    rig.running("CARD_A", parent=None)
    s = rig.sessions
    s.confirmed("s-1", 77, TokenInfo(status=AuthorizationStatus.ACCEPTED, group=token("FLEET1")))
    s.swiped("CARD_B", 1.0)
    info = TokenInfo(status=AuthorizationStatus.ACCEPTED, group=token("FLEET1"))
    assert s.authorized(1, "CARD_B", Purpose.STOP, info, 1.1) == [Stop(1, Reason.LOCAL, "CARD_B")]


REMOTE_START = [
    # (row, rules, plugged, expected accepted, expected actions)
    ("plugged, no authorization asked", Rules(), True, True, [Start(1, "R1", None)]),
    ("not plugged: wait for the cable", Rules(), False, True, [Prepare(1, True)]),
    ("AuthorizeRemoteTxRequests: ask first", Rules(authorize_remote_tx_requests=True), True, True,
     [Authorize(1, "R1", Purpose.REMOTE_START)]),
]


@pytest.mark.parametrize(("row", "rules", "plugged", "accepted", "actions"), REMOTE_START,
                         ids=[r[0] for r in REMOTE_START])
def test_remote_start(row: str, rules: Rules, plugged: bool, accepted: bool, actions: list[Action]) -> None:
    s = Rig(rules).sessions
    s.connector(1, PLUGGED if plugged else UNPLUGGED, 0.0)
    assert s.remote_start(1, "R1", 0.0) == (accepted, actions), row


def test_remote_start_is_rejected_on_a_busy_faulted_or_unknown_connector() -> None:
    rig = Rig()
    s = rig.sessions
    assert s.remote_start(2, "R1", 0.0) == (False, [])
    s.connector(1, ConnectorInput(plugged=False, usable=False, faulted=True), 0.0)
    assert s.remote_start(1, "R1", 0.0) == (False, [])
    rig.running()
    assert s.remote_start(1, "R2", 0.0) == (False, [])


def test_remote_stop_by_transaction_id() -> None:
    rig = Rig()
    rig.running()
    s = rig.sessions
    assert s.remote_stop(1000) == (False, [])  # not confirmed yet: the CSMS cannot know the id
    s.confirmed("s-1", 1000, ACCEPTED)
    assert s.remote_stop(4242) == (False, [])
    assert s.remote_stop(1000) == (True, [Stop(1, Reason.REMOTE)])


HARDWARE_ENDS = [
    ("unplugged", UNPLUGGED, Reason.EV_DISCONNECTED),
    ("faulted", ConnectorInput(plugged=True, usable=False, faulted=True), Reason.OTHER),
    ("emergency stop", ConnectorInput(plugged=True, usable=False, faulted=True, emergency_stop=True),
     Reason.EMERGENCY_STOP),
]


@pytest.mark.parametrize(("row", "state", "reason"), HARDWARE_ENDS, ids=[r[0] for r in HARDWARE_ENDS])
def test_the_hardware_ends_a_session(row: str, state: ConnectorInput, reason: Reason) -> None:
    rig = Rig()
    rig.running()
    assert rig.sessions.ends(1, state), row
    assert rig.sessions.connector(1, state, 1.0) == [Stop(1, reason)], row


INVALID_ID = [
    # (row, rules, actions at StartTransaction.conf, actions when the register reaches 1000 + 20 Wh)
    ("StopTransactionOnInvalidId true: stop at once", Rules(), [Stop(1, Reason.DE_AUTHORIZED)], []),
    ("true with MaxEnergyOnInvalidId: stop after the allowance",
     Rules(max_energy_on_invalid_id_wh=20), [Budget(1, "s-1", 1020)], [Stop(1, Reason.DE_AUTHORIZED)]),
    ("false: only the energy stops, the transaction stays open",
     Rules(stop_transaction_on_invalid_id=False), [Suspend(1, "s-1")], []),
    ("false with MaxEnergyOnInvalidId: suspend after the allowance",
     Rules(stop_transaction_on_invalid_id=False, max_energy_on_invalid_id_wh=20), [Budget(1, "s-1", 1020)],
     [Suspend(1, "s-1")]),
]


@pytest.mark.parametrize(("row", "rules", "at_conf", "at_budget"), INVALID_ID, ids=[r[0] for r in INVALID_ID])
def test_start_transaction_conf_not_accepted(row: str, rules: Rules, at_conf: list[Action],
                                             at_budget: list[Action]) -> None:
    rig = Rig(rules)
    rig.running(meter_start=1000)
    s = rig.sessions
    assert s.confirmed("s-1", 7, TokenInfo(status=AuthorizationStatus.INVALID)) == at_conf, row
    assert s.energy(1, 1019.0) == [], row
    assert s.energy(1, 1020.0) == at_budget, row
    assert s.energy(1, 1500.0) == [], "the allowance acts once"


def test_a_suspended_session_is_still_stopped_normally() -> None:
    rig = Rig(Rules(stop_transaction_on_invalid_id=False))
    rig.running()
    s = rig.sessions
    s.confirmed("s-1", 7, TokenInfo(status=AuthorizationStatus.BLOCKED))
    assert s.get(1).running is not None and s.get(1).running.suspended  # type: ignore[union-attr]
    assert s.swiped("TAG1", 3.0) == [Stop(1, Reason.LOCAL, "TAG1")]


def test_a_resumed_budget_still_counts() -> None:
    """After a gateway restart the budget comes back from SQLite with the session."""
    rig = Rig()
    s = rig.sessions
    s.resumed(1, Running("s-9", "TAG", None, 500, transaction_id=3, stop_at_wh=520))
    assert s.energy(1, 521.0) == [Stop(1, Reason.DE_AUTHORIZED)]


def test_stop_all_stops_sessions_and_gives_up_waiting_ones() -> None:
    rig = Rig()
    rig.running()
    s = rig.sessions
    assert s.stop_all(Reason.SOFT_RESET) == [Stop(1, Reason.SOFT_RESET)]
    waiting = Rig().sessions
    waiting.swiped("TAG", 0.0)
    waiting.authorized(1, "TAG", Purpose.START, ACCEPTED, 0.0)
    assert waiting.stop_all(Reason.HARD_RESET) == [Prepare(1, False)]


def test_an_answer_for_a_cancelled_start_is_ignored() -> None:
    s = Rig().sessions
    s.swiped("TAG", 0.0)
    s.authorized(1, "TAG", Purpose.START, ACCEPTED, 0.0)  # waiting
    s.tick(100.0, WALL)  # gave up
    assert s.authorized(1, "TAG", Purpose.START, ACCEPTED, 101.0) == []
    assert s.get(1).phase is Phase.IDLE


def test_a_failed_start_frees_the_connector() -> None:
    s = Rig().sessions
    s.connector(1, PLUGGED, 0.0)
    s.swiped("TAG", 0.0)
    s.authorized(1, "TAG", Purpose.START, ACCEPTED, 0.0)
    assert s.get(1).phase is Phase.STARTING and s.busy(1)
    assert s.start_failed(1) == [Prepare(1, False)] and not s.busy(1)


# -- reservations -----------------------------------------------------------------------------------------

def booking(reservation_id: int = 7, tag: str = "RES1", parent: str | None = "FLEET", minutes: int = 30) -> Booking:
    return Booking(reservation_id, 1, tag, parent, WALL + timedelta(minutes=minutes))


RESERVE_NOW = [
    # (row, state of connector 1, expected status)
    ("idle: accepted", ConnectorInput(plugged=False, usable=True), ReserveStatus.ACCEPTED),
    ("an EV is plugged: occupied", PLUGGED, ReserveStatus.OCCUPIED),
    ("faulted", ConnectorInput(plugged=False, usable=False, faulted=True), ReserveStatus.FAULTED),
    ("inoperative", ConnectorInput(plugged=False, usable=False), ReserveStatus.UNAVAILABLE),
]


@pytest.mark.parametrize(("row", "state", "expected"), RESERVE_NOW, ids=[r[0] for r in RESERVE_NOW])
def test_reserve_now_answers(row: str, state: ConnectorInput, expected: ReserveStatus) -> None:
    s = Rig().sessions
    s.connector(1, state, 0.0)
    status, actions = s.reserve(booking(), WALL)
    assert status is expected, row
    assert actions == ([Reserve(1, booking())] if expected is ReserveStatus.ACCEPTED else []), row


def test_reserve_now_on_a_running_session_or_another_reservation_is_occupied_and_past_expiry_rejected() -> None:
    rig = Rig()
    rig.running()
    assert rig.sessions.reserve(booking(), WALL)[0] is ReserveStatus.OCCUPIED
    s = Rig().sessions
    assert s.reserve(booking(minutes=-1), WALL)[0] is ReserveStatus.REJECTED
    assert s.reserve(booking(7), WALL)[0] is ReserveStatus.ACCEPTED
    assert s.reserve(booking(8), WALL)[0] is ReserveStatus.OCCUPIED
    replaced, actions = s.reserve(booking(7, tag="OTHER"), WALL)  # the same id replaces the old one
    assert replaced is ReserveStatus.ACCEPTED and s.get(1).booking == booking(7, tag="OTHER")
    assert actions == [Reserve(1, booking(7, tag="OTHER"))]


def test_only_the_reserving_tag_or_its_parent_starts_and_the_start_carries_the_reservation() -> None:
    s = Rig().sessions
    assert s.reserve(booking(), WALL)[0] is ReserveStatus.ACCEPTED
    s.connector(1, PLUGGED, 0.0)  # the driver arrives and plugs in
    s.swiped("STRANGER", 1.0)
    stranger = TokenInfo(status=AuthorizationStatus.ACCEPTED, group=token("OTHERFLEET"))
    assert s.authorized(1, "STRANGER", Purpose.START, stranger, 1.1) == [] and s.get(1).phase is Phase.IDLE
    s.swiped("res1", 2.0)  # the reserving card, read in lower case
    assert s.authorized(1, "res1", Purpose.START, ACCEPTED, 2.1) == [Start(1, "res1", None, 7)]
    assert s.started(1, Running("s-1", "res1", None, 0)) == [Unreserve(1, 7, "used")]
    assert s.get(1).booking is None


def test_a_card_of_the_reservations_fleet_may_use_it() -> None:
    s = Rig().sessions
    assert s.reserve(booking(parent="FLEET"), WALL)[0] is ReserveStatus.ACCEPTED
    s.connector(1, PLUGGED, 0.0)
    s.swiped("COLLEAGUE", 1.0)
    fleet = TokenInfo(status=AuthorizationStatus.ACCEPTED, group=token("fleet"))
    assert s.authorized(1, "COLLEAGUE", Purpose.START, fleet, 1.1) == [Start(1, "COLLEAGUE", "fleet", 7)]


def test_remote_start_on_a_reserved_connector() -> None:
    s = Rig().sessions
    s.reserve(booking(), WALL)
    assert s.remote_start(1, "STRANGER", 0.0) == (False, [])  # no authorization asked: only the same idTag
    accepted, actions = s.remote_start(1, "RES1", 0.0)
    assert accepted and actions == [Prepare(1, True)]
    s.connector(1, PLUGGED, 1.0)
    assert s.get(1).phase is Phase.STARTING


def test_a_reservation_expires_and_can_be_cancelled() -> None:
    s = Rig().sessions
    s.reserve(booking(minutes=10), WALL)
    assert s.tick(0.0, WALL + timedelta(minutes=9)) == []
    assert s.tick(0.0, WALL + timedelta(minutes=10)) == [Unreserve(1, 7, "expired")]
    assert s.get(1).booking is None and s.cancel(7) == (False, [])
    s.reserve(booking(8), WALL)
    assert s.cancel(8) == (True, [Unreserve(1, 8, "cancelled")]) and s.get(1).booking is None


def test_a_stranger_on_a_reservation_without_parent_is_refused_without_asking() -> None:
    """OCTT TC_046_1: the Charge Point does not send an Authorize.req for a card that is not the reservation's."""
    s = Rig().sessions
    s.reserve(booking(parent=None), WALL)
    s.connector(1, PLUGGED, 0.0)
    assert s.swiped("STRANGER", 1.0) == [] and s.get(1).phase is Phase.IDLE
    assert s.swiped("RES1", 2.0) == [Authorize(1, "RES1", Purpose.START)]

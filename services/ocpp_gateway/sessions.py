"""Sessions on the connectors as a pure state machine: events in, actions out. No MQTT, no SQL, no clock.

Each method takes what happened (a swipe, an authorization, a plug, a confirmation, `now` in
monotonic seconds) and returns the actions the engine must carry out (ask auth, prepare, start,
stop, suspend). The engine feeds the outcome of each action back as another event. Time-outs
(ConnectionTimeOut) are driven by `tick(now)`, so tests move time themselves.

Rules of OCPP 1.6 kept here:
- idTags are CiString20: compared case-insensitively (a card read in lower case stops its session);
- a different card stops a session when both share a parentIdTag (§3.5.x "Local stop");
- a start waits for the cable ConnectionTimeOut seconds, then gives up;
- StartTransaction.conf not Accepted: StopTransactionOnInvalidId true stops (DeAuthorized), false only
  stops the energy (SuspendedEVSE, the transaction stays open); MaxEnergyOnInvalidId Wh may flow first;
- unplugging ends the session (PICS C-06.1 No: authorization is not kept when the EV side disconnects);
- a fault ends it with reason Other, the emergency-stop input with EmergencyStop;
- a reserved connector (ReserveNow) starts only for the reservation's idTag or one sharing its
  parentIdTag, and the StartTransaction carries the reservationId; the reservation ends when used,
  cancelled or expired (its expiryDate is wall-clock time, so `tick` takes the wall clock too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.common.contract.auth import AuthorizationStatus, TokenInfo

from .tokens import parent as parent_of
from .tokens import same_tag


class Phase(StrEnum):
    IDLE = "idle"
    AUTHORIZING = "authorizing"  # a start asked auth; the connector is claimed
    WAITING = "waiting"  # authorised, waiting for the cable until the deadline
    STARTING = "starting"  # the engine persists, energizes and queues StartTransaction
    ACTIVE = "active"
    STOPPING = "stopping"  # the engine de-energizes, reads the meter and queues StopTransaction


class Purpose(StrEnum):
    START = "start"  # a card at the reader, to start
    REMOTE_START = "remote_start"  # RemoteStartTransaction with AuthorizeRemoteTxRequests
    STOP = "stop"  # a different card at the reader during a session: does it share the parentIdTag?


class Reason(StrEnum):
    """OCPP 1.6 Reason of StopTransaction."""

    LOCAL = "Local"
    REMOTE = "Remote"
    EV_DISCONNECTED = "EVDisconnected"
    EMERGENCY_STOP = "EmergencyStop"
    DE_AUTHORIZED = "DeAuthorized"
    HARD_RESET = "HardReset"
    SOFT_RESET = "SoftReset"
    REBOOT = "Reboot"
    POWER_LOSS = "PowerLoss"
    OTHER = "Other"


@dataclass(frozen=True)
class Rules:
    """The configuration keys the sessions follow (read at each event)."""

    connection_timeout_s: float = 60.0
    authorize_remote_tx_requests: bool = False
    stop_transaction_on_invalid_id: bool = True
    max_energy_on_invalid_id_wh: int = 0


# -- actions --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Authorize:
    connector_id: int
    id_tag: str
    purpose: Purpose


@dataclass(frozen=True)
class Prepare:
    """Show (or stop showing) Preparing while an authorised session waits for the cable."""

    connector_id: int
    active: bool


@dataclass(frozen=True)
class Start:
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    reservation_id: int | None = None
    profile: Any = None  # what a remote start brought (its charging profile; opaque here)
    cable_last: bool = False  # the cable came after the authorization (the session waited for it)


@dataclass(frozen=True)
class Booking:
    """A reservation of a connector (ReserveNow)."""

    reservation_id: int
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry: datetime


@dataclass(frozen=True)
class Reserve:
    """Persist the reservation and show the connector Reserved."""

    connector_id: int
    booking: Booking


@dataclass(frozen=True)
class Unreserve:
    connector_id: int
    reservation_id: int
    why: str  # used, cancelled, expired, replaced


@dataclass(frozen=True)
class Stop:
    connector_id: int
    reason: Reason
    id_tag: str | None = None  # the card that stopped it, when one did


@dataclass(frozen=True)
class Suspend:
    """Keep the transaction open, deliver no more energy (persisted)."""

    connector_id: int
    session_id: str


@dataclass(frozen=True)
class Budget:
    """Persist the register value at which an invalidated session must end (MaxEnergyOnInvalidId)."""

    connector_id: int
    session_id: str
    stop_at_wh: int


Action = Authorize | Prepare | Start | Stop | Suspend | Budget | Reserve | Unreserve


class ReserveStatus(StrEnum):
    """OCPP 1.6 ReservationStatus."""

    ACCEPTED = "Accepted"
    FAULTED = "Faulted"
    OCCUPIED = "Occupied"
    REJECTED = "Rejected"
    UNAVAILABLE = "Unavailable"


# -- state ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Running:
    """A session the engine has persisted (what the state machine needs of it)."""

    session_id: str
    id_tag: str
    parent_id_tag: str | None
    meter_start_wh: int
    transaction_id: int | None = None
    stop_at_wh: int | None = None
    suspended: bool = False


@dataclass
class Connector:
    connector_id: int
    phase: Phase = Phase.IDLE
    id_tag: str | None = None  # the tag being authorised or waiting
    parent_id_tag: str | None = None
    deadline: float | None = None
    running: Running | None = None
    plugged: bool = False
    usable: bool = True  # not faulted, not unavailable
    faulted: bool = False
    booking: Booking | None = None
    reservation_id: int | None = None  # the reservation the session being authorised/started uses
    profile: Any = None  # RemoteStartTransaction's charging profile, for the session it starts


@dataclass(frozen=True)
class ConnectorInput:
    """What power reports about a connector, reduced to what sessions depend on."""

    plugged: bool
    usable: bool
    faulted: bool = False
    emergency_stop: bool = False


class Sessions:
    def __init__(self, connectors: tuple[int, ...], rules: Callable[[], Rules],
                 group: Callable[[TokenInfo | None], str | None] = parent_of) -> None:
        """`group`: the key of the group (parent) token of what is known of a token."""
        self.connectors = {c: Connector(c) for c in connectors}
        self._rules = rules
        self._group = group

    # -- queries ----------------------------------------------------------------------------------

    def get(self, connector_id: int) -> Connector:
        return self.connectors[connector_id]

    def running(self, connector_id: int) -> Running | None:
        c = self.connectors.get(connector_id)
        return c.running if c is not None and c.phase in (Phase.ACTIVE, Phase.STOPPING) else None

    def busy(self, connector_id: int) -> bool:
        """A session holds the connector (being authorised, waiting, starting, running or stopping)."""
        return self.connectors[connector_id].phase is not Phase.IDLE

    def by_transaction_id(self, transaction_id: int) -> Connector | None:
        for c in self.connectors.values():
            if c.phase is Phase.ACTIVE and c.running is not None and c.running.transaction_id == transaction_id:
                return c
        return None

    def by_session(self, session_id: str) -> Connector | None:
        for c in self.connectors.values():
            if c.running is not None and c.running.session_id == session_id:
                return c
        return None

    # -- the driver at the reader -----------------------------------------------------------------

    def swiped(self, id_tag: str, now: float) -> list[Action]:
        for c in self.connectors.values():
            if c.phase is Phase.ACTIVE and c.running is not None and same_tag(c.running.id_tag, id_tag):
                return self._stop(c, Reason.LOCAL, id_tag)
            if c.phase is Phase.WAITING and same_tag(c.id_tag, id_tag):
                return self._give_up(c)  # the same card again cancels the waiting session
        free = next((c for c in self.connectors.values() if c.phase is Phase.IDLE and c.usable
                     and _may_ask(c.booking, id_tag)), None)
        if free is not None:
            free.phase, free.id_tag = Phase.AUTHORIZING, id_tag
            return [Authorize(free.connector_id, id_tag, Purpose.START)]
        active = next((c for c in self.connectors.values() if c.phase is Phase.ACTIVE), None)
        if active is not None:  # another card: it may share the session's parentIdTag
            return [Authorize(active.connector_id, id_tag, Purpose.STOP)]
        return []

    def authorized(self, connector_id: int, id_tag: str, purpose: Purpose, info: TokenInfo | None,
                   now: float) -> list[Action]:
        """The decision of auth (None: auth did not answer)."""
        c = self.connectors[connector_id]
        accepted = info is not None and info.status is AuthorizationStatus.ACCEPTED
        if purpose is Purpose.STOP:
            run = c.running
            if (c.phase is Phase.ACTIVE and run is not None and info is not None and accepted
                    and same_tag(self._group(info), run.parent_id_tag)):
                return self._stop(c, Reason.LOCAL, id_tag)
            return []
        if c.phase is not Phase.AUTHORIZING or not same_tag(c.id_tag, id_tag):
            return []  # cancelled meanwhile
        if not accepted or not self._may_use(c, id_tag, self._group(info)):
            c.phase, c.id_tag, c.profile = Phase.IDLE, None, None
            return []
        assert info is not None
        return self._authorised(c, id_tag, self._group(info), now)

    # -- the Central System -----------------------------------------------------------------------

    def remote_start(self, connector_id: int, id_tag: str, now: float, profile: Any = None
                     ) -> tuple[bool, list[Action]]:
        c = self.connectors.get(connector_id)
        if c is None or c.phase is not Phase.IDLE or not c.usable:
            return False, []
        if self._rules().authorize_remote_tx_requests:
            c.phase, c.id_tag, c.profile = Phase.AUTHORIZING, id_tag, profile
            return True, [Authorize(connector_id, id_tag, Purpose.REMOTE_START)]
        if not self._may_use(c, id_tag, None):  # without an authorization only the reservation's own idTag
            return False, []
        c.profile = profile
        return True, self._authorised(c, id_tag, None, now)

    # -- reservations -----------------------------------------------------------------------------

    def reserve(self, booking: Booking, wall: datetime) -> tuple[ReserveStatus, list[Action]]:
        """ReserveNow for one connector (connector 0 is refused before: PICS R-1 No)."""
        c = self.connectors.get(booking.connector_id)
        if c is None or booking.expiry <= wall:
            return ReserveStatus.REJECTED, []
        actions: list[Action] = []
        replaced = next((o for o in self.connectors.values()
                         if o.booking is not None and o.booking.reservation_id == booking.reservation_id), None)
        if c.faulted:
            return ReserveStatus.FAULTED, []
        if not c.usable:
            return ReserveStatus.UNAVAILABLE, []
        if (c.phase is not Phase.IDLE or c.plugged
                or (c.booking is not None and c.booking.reservation_id != booking.reservation_id)):
            return ReserveStatus.OCCUPIED, []
        if replaced is not None and replaced is not c:  # the same reservation id moves to this connector
            assert replaced.booking is not None
            actions.append(Unreserve(replaced.connector_id, replaced.booking.reservation_id, "replaced"))
            replaced.booking = None
        c.booking = booking
        return ReserveStatus.ACCEPTED, [*actions, Reserve(c.connector_id, booking)]

    def cancel(self, reservation_id: int) -> tuple[bool, list[Action]]:
        for c in self.connectors.values():
            if c.booking is not None and c.booking.reservation_id == reservation_id:
                c.booking = None
                return True, [Unreserve(c.connector_id, reservation_id, "cancelled")]
        return False, []

    def restored(self, booking: Booking) -> None:
        """A reservation read back from SQLite at start."""
        c = self.connectors.get(booking.connector_id)
        if c is not None:
            c.booking = booking

    def _may_use(self, c: Connector, id_tag: str, parent: str | None) -> bool:
        """A reserved connector is for its reservation's idTag, or an idTag sharing its parentIdTag."""
        b = c.booking
        if b is None:
            c.reservation_id = None
            return True
        if same_tag(b.id_tag, id_tag) or same_tag(b.parent_id_tag, parent):
            c.reservation_id = b.reservation_id
            return True
        return False

    def remote_stop(self, transaction_id: int | str) -> tuple[bool, list[Action]]:
        """A stop the CSMS asked for: a 1.6 transactionId is the CSMS's number, a 2.0.1 one the session id."""
        if isinstance(transaction_id, int):
            c = self.by_transaction_id(transaction_id)
        else:
            c = self.by_session(transaction_id)
        if c is None or c.phase is not Phase.ACTIVE:
            return False, []
        return True, self._stop(c, Reason.REMOTE)

    def stop_all(self, reason: Reason) -> list[Action]:
        return [action for c in self.connectors for action in self.stop(c, reason)]

    def stop(self, connector_id: int, reason: Reason) -> list[Action]:
        """End what runs on the connector (a reset): its transaction, or the session waiting to start."""
        c = self.connectors[connector_id]
        if c.phase is Phase.ACTIVE:
            return self._stop(c, reason)
        if c.phase in (Phase.WAITING, Phase.AUTHORIZING):
            return self._give_up(c)
        return []

    def confirmed(self, session_id: str, transaction_id: int | None, info: TokenInfo | None) -> list[Action]:
        """The CSMS confirmed the start: its id (1.6 only: a 2.0.1 transaction has the station's), and what it
        says of the token."""
        c = self.by_session(session_id)
        if c is None or c.running is None:
            return []
        run = c.running if transaction_id is None else replace(c.running, transaction_id=transaction_id)
        if self._group(info) is not None:
            run = replace(run, parent_id_tag=self._group(info))
        c.running = run
        if info is None or info.status is AuthorizationStatus.ACCEPTED or c.phase is not Phase.ACTIVE:
            return []
        allowance = self._rules().max_energy_on_invalid_id_wh
        if allowance > 0:
            c.running = replace(run, stop_at_wh=run.meter_start_wh + allowance)
            return [Budget(c.connector_id, run.session_id, run.meter_start_wh + allowance)]
        return self._invalidated(c)

    # -- the hardware -----------------------------------------------------------------------------

    def connector(self, connector_id: int, state: ConnectorInput, now: float) -> list[Action]:
        c = self.connectors[connector_id]
        c.plugged, c.usable, c.faulted = state.plugged, state.usable, state.faulted
        if c.phase is Phase.ACTIVE:
            if state.emergency_stop:
                return self._stop(c, Reason.EMERGENCY_STOP)
            if state.faulted:
                return self._stop(c, Reason.OTHER)
            if not state.plugged:
                return self._stop(c, Reason.EV_DISCONNECTED)
            return []
        if c.phase is Phase.WAITING and state.plugged and state.usable:
            return self._start(c, cable_last=True)
        return []

    def ends(self, connector_id: int, state: ConnectorInput) -> bool:
        """Would this state end the running session? (The engine confirms such a state with power first.)"""
        c = self.connectors[connector_id]
        return c.phase is Phase.ACTIVE and (state.emergency_stop or state.faulted or not state.plugged)

    def energy(self, connector_id: int, register_wh: float) -> list[Action]:
        c = self.connectors[connector_id]
        run = c.running
        if c.phase is not Phase.ACTIVE or run is None or run.stop_at_wh is None or register_wh < run.stop_at_wh:
            return []
        c.running = replace(run, stop_at_wh=None)
        return self._invalidated(c)

    def tick(self, now: float, wall: datetime) -> list[Action]:
        actions: list[Action] = []
        for c in self.connectors.values():
            if c.phase is Phase.WAITING and c.deadline is not None and now >= c.deadline:
                actions += self._give_up(c)
            if c.booking is not None and c.booking.expiry <= wall and c.phase in (Phase.IDLE, Phase.WAITING):
                actions.append(Unreserve(c.connector_id, c.booking.reservation_id, "expired"))
                c.booking, c.reservation_id = None, None
        return actions

    # -- outcomes of the engine's work ------------------------------------------------------------

    def started(self, connector_id: int, running: Running) -> list[Action]:
        c = self.connectors[connector_id]
        c.phase, c.running, c.id_tag, c.parent_id_tag, c.deadline = Phase.ACTIVE, running, None, None, None
        used, c.reservation_id = c.reservation_id, None
        if used is not None and c.booking is not None and c.booking.reservation_id == used:
            c.booking = None
            return [Unreserve(connector_id, used, "used")]
        return []

    def start_failed(self, connector_id: int) -> list[Action]:
        c = self.connectors[connector_id]
        c.phase, c.running, c.id_tag, c.parent_id_tag, c.deadline = Phase.IDLE, None, None, None, None
        c.reservation_id = None
        return [Prepare(connector_id, False)]

    def resumed(self, connector_id: int, running: Running) -> list[Action]:
        """A session found open at start, with the output still energized: it goes on."""
        return self.started(connector_id, running)

    def stopped(self, connector_id: int) -> list[Action]:
        c = self.connectors[connector_id]
        c.phase, c.running = Phase.IDLE, None
        return []

    # -- transitions ------------------------------------------------------------------------------

    def _authorised(self, c: Connector, id_tag: str, parent: str | None, now: float) -> list[Action]:
        c.id_tag, c.parent_id_tag = id_tag, parent
        if c.plugged and c.usable:
            return self._start(c)
        c.phase, c.deadline = Phase.WAITING, now + self._rules().connection_timeout_s
        return [Prepare(c.connector_id, True)]

    def _start(self, c: Connector, cable_last: bool = False) -> list[Action]:
        assert c.id_tag is not None
        c.phase, c.deadline = Phase.STARTING, None
        profile, c.profile = c.profile, None
        return [Start(c.connector_id, c.id_tag, c.parent_id_tag, c.reservation_id, profile, cable_last)]

    def _give_up(self, c: Connector) -> list[Action]:
        c.phase, c.id_tag, c.parent_id_tag, c.deadline, c.reservation_id = Phase.IDLE, None, None, None, None
        c.profile = None
        return [Prepare(c.connector_id, False)]

    def _stop(self, c: Connector, reason: Reason, id_tag: str | None = None) -> list[Action]:
        c.phase = Phase.STOPPING
        return [Stop(c.connector_id, reason, id_tag)]

    def _invalidated(self, c: Connector) -> list[Action]:
        run = c.running
        assert run is not None
        if self._rules().stop_transaction_on_invalid_id:
            return self._stop(c, Reason.DE_AUTHORIZED)
        if run.suspended:
            return []
        c.running = replace(run, suspended=True)
        return [Suspend(c.connector_id, run.session_id)]


def _may_ask(booking: Booking | None, id_tag: str) -> bool:
    """Is authorizing this card worth it on this connector? Not for a stranger on a reservation without a
    parentIdTag (OCTT TC_046_1: no Authorize.req); with one, the card may turn out to share it."""
    return booking is None or same_tag(booking.id_tag, id_tag) or booking.parent_id_tag is not None

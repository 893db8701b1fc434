"""Gateway topics: the CSMS link, sessions, and what the CSMS says about tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Never

from pydantic import Field

from .auth import IdToken, TokenInfo
from .base import Kind, Model, Topic


class Registration(StrEnum):
    """What the CSMS answered when the station announced itself."""

    NONE = "None"  # not booted on this connection yet
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class ConnectionState(Model):
    connected: bool
    registration: Registration
    url: str
    since: datetime
    outbox_pending: int = Field(ge=0, description="Transaction messages not yet confirmed by the CSMS.")
    subprotocol: str = Field("ocpp1.6", max_length=20, description="The OCPP-J version the gateway speaks "
                             "(ocpp1.6 or ocpp2.0.1: the setting ocpp_version).")


class SessionPhase(StrEnum):
    """Where a connector's session stands, as the gateway has persisted it."""

    NONE = "none"
    STARTING = "starting"  # persisted, energize asked, the CSMS not told yet
    ACTIVE = "active"  # the start is queued for the CSMS (or confirmed): energy may flow
    SUSPENDED = "suspended"  # the CSMS refused the token, and the session is kept open without energy


class TransactionState(Model):
    connector_id: int = Field(ge=1)
    phase: SessionPhase = SessionPhase.NONE
    session_id: str | None = Field(None, description="The station's own id, known before the CSMS's.")
    transaction_id: str | None = Field(None, max_length=36,
                                       description="The CSMS's id for the session, once it confirmed the start.")
    token: IdToken | None = None
    started_at: datetime | None = None
    meter_start_wh: int | None = None

    @property
    def open(self) -> bool:
        """A session is open on the connector: starting, active or suspended (one fact, from `phase`)."""
        return self.phase is not SessionPhase.NONE


class AvailabilityIntent(Model):
    connector_id: int = Field(ge=1)
    operative: bool = Field(description="False: out of service, no new session starts (a running one is not cut).")


class TransactionStopped(Model):
    connector_id: int
    session_id: str
    transaction_id: str | None = Field(max_length=36, description="The CSMS's id for the session, if it gave one.")
    token: IdToken
    reason: str = Field(description="Why it ended, in the protocol's words (shown to people as is).")
    meter_stop_wh: int
    stopped_at: datetime


class ConnectorReport(Model):
    """A connector's status as the gateway tells its CSMS, in the protocol's own words: for people to read."""

    connector_id: int = Field(ge=0, description="0: the station as a whole.")
    status: str = Field(max_length=50)
    error: str | None = Field(None, max_length=50, description="The protocol's error code; none: no error.")
    detail: str | None = Field(None, max_length=50, description="The station's own reason: a fault, a service down.")
    since: datetime = Field(description="When this status began, UTC.")


class SessionRequest(Model):
    connector_id: int = Field(ge=1)


class SessionView(Model):
    """The gateway's persisted session on a connector, as it stands now (never a retained copy)."""

    connector_id: int
    phase: SessionPhase
    session_id: str | None = Field(None, description="None: no session is open; nothing may be energized.")
    suspended: bool = Field(False, description="The session goes on without energy (a refused token).")


class Reservation(Model):
    reservation_id: int
    connector_id: int = Field(ge=1)
    token: IdToken
    group: IdToken | None = None
    expires_at: datetime


class ReservationState(Model):
    connector_id: int = Field(ge=1)
    reservation: Reservation | None = Field(description="None: the connector is not reserved.")


class CsmsAuthorizeRequest(Model):
    token: IdToken


class TokenInfoSeen(Model):
    token: IdToken
    info: TokenInfo
    connector_id: int | None = Field(None, description="The connector of the session, for an answer to its start.")


_CARD = {"value": "04A2B3C4", "type": "iso14443"}

CONNECTION: Topic[ConnectionState, Never] = Topic(
    "chargebus/ocpp_gateway/state/connection", Kind.STATE, ConnectionState, owner="ocpp_gateway",
    retain=True, subscribers=("auth", "api", "cli"),
    doc="The CSMS link and registration; auth decides online/offline from it.",
    example={"connected": True, "registration": "Accepted", "url": "ws://csms/ocpp/CB0000001",
             "since": "2026-11-24T22:00:00Z", "outbox_pending": 0},
)
TRANSACTION: Topic[TransactionState, Never] = Topic(
    "chargebus/ocpp_gateway/state/transaction/{connector_id}", Kind.STATE, TransactionState,
    owner="ocpp_gateway", retain=True, private=True,
    subscribers=("metering", "api", "cli", "smart_charging", "firmware"),
    doc="The session on a connector: `starting` (persisted, energize asked), `active`, `suspended` (no energy, the "
    "transaction open). Metering samples while active or suspended.",
    example={"connector_id": 1, "phase": "active", "session_id": "s-1", "transaction_id": "17",
             "token": _CARD, "started_at": "2026-11-24T22:00:00Z", "meter_start_wh": 1000},
)
TRANSACTION_STOPPED: Topic[TransactionStopped, Never] = Topic(
    "chargebus/ocpp_gateway/event/transaction_stopped", Kind.EVENT, TransactionStopped, owner="ocpp_gateway",
    private=True, subscribers=("api",), doc="A session ended (its end is queued for the CSMS).",
    example={"connector_id": 1, "session_id": "s-1", "transaction_id": "17", "token": _CARD,
             "reason": "Local", "meter_stop_wh": 5000, "stopped_at": "2026-11-24T23:00:00Z"},
)
CSMS_AUTHORIZE = Topic(
    "chargebus/ocpp_gateway/cmd/authorize", Kind.CMD, CsmsAuthorizeRequest, reply=TokenInfo,
    owner="ocpp_gateway", subscribers=("auth",),
    doc="Ask the CSMS about a token. `unavailable` when offline or not accepted.",
    example={"token": _CARD},
)
TOKEN_INFO: Topic[TokenInfoSeen, Never] = Topic(
    "chargebus/ocpp_gateway/event/token_info", Kind.EVENT, TokenInfoSeen, owner="ocpp_gateway",
    private=True, subscribers=("auth",),
    doc="Every answer the CSMS gave about a token (when asked, at the start and end of a session): feeds the cache.",
    example={"token": _CARD, "info": {"status": "accepted", "group": None, "expires_at": None}},
)
CONNECTOR_STATUS: Topic[ConnectorReport, Never] = Topic(
    "chargebus/ocpp_gateway/state/connector/{connector_id}", Kind.STATE, ConnectorReport, owner="ocpp_gateway",
    retain=True, subscribers=("api", "cli"),
    doc="The status the gateway works out for each connector (from power's hardware facts, the session, the "
    "reservation and the availability it owns) and reports to the CSMS; published on every change.",
    example={"connector_id": 1, "status": "Charging", "error": None, "detail": None,
             "since": "2026-11-24T22:00:00Z"},
)
GET_SESSION = Topic(
    "chargebus/ocpp_gateway/cmd/get_session", Kind.CMD, SessionRequest, reply=SessionView, owner="ocpp_gateway",
    subscribers=("power",),
    doc="The session the gateway has persisted on a connector, now. Power asks before it energizes and every "
    "second while energized: an output with no open session is cut, whoever asked for it.",
    example={"connector_id": 1},
)
AVAILABILITY: Topic[AvailabilityIntent, Never] = Topic(
    "chargebus/ocpp_gateway/state/availability/{connector_id}", Kind.STATE, AvailabilityIntent,
    owner="ocpp_gateway", retain=True, subscribers=("power",),
    doc="Whether a connector may be used (as the CSMS or a technician set it, for the connector or the whole "
    "station), persisted by the gateway. Power follows it: retained, a power process that starts again finds it "
    "at once.",
    example={"connector_id": 1, "operative": False},
)
RESERVATION: Topic[ReservationState, Never] = Topic(
    "chargebus/ocpp_gateway/state/reservation/{connector_id}", Kind.STATE, ReservationState, owner="ocpp_gateway",
    retain=True, private=True, subscribers=("api", "cli"),
    doc="The reservation of a connector, persisted by the gateway: only its token, or one of its group, may start "
    "there until it is used, cancelled or expires.",
    example={"connector_id": 1, "reservation": {"reservation_id": 7, "connector_id": 1, "token": _CARD,
                                                "group": None, "expires_at": "2026-11-26T18:00:00Z"}},
)


class KeyChange(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # read-only, or a value the key does not take
    REBOOT_REQUIRED = "reboot_required"
    NOT_SUPPORTED = "not_supported"  # no such key


class ChangeConfigurationRequest(Model):
    key: str = Field(min_length=1, max_length=50, description="As `chargebus/config/<key>` names it.")
    value: str = Field(max_length=500)


class ChangeConfigurationReply(Model):
    status: KeyChange


CHANGE_CONFIGURATION = Topic(
    "chargebus/ocpp_gateway/cmd/change_configuration", Kind.CMD, ChangeConfigurationRequest,
    reply=ChangeConfigurationReply, owner="ocpp_gateway", subscribers=("cli",),
    doc="A local maintenance change of a configuration key (`chargebus config set`), checked and persisted as if "
    "the CSMS had changed it; the CSMS is not told.",
    example={"key": "CP_MODEL", "value": "MIC-200-ELT"},
)


class ChangeAvailabilityRequest(Model):
    connector_id: int = Field(ge=0, description="0: the whole station.")
    operative: bool


class Report(StrEnum):
    CONNECTOR_STATUS = "connector_status"  # the status of a connector, or of every one
    BOOT = "boot"  # the station's announcement at boot, with its version


class TriggerRequest(Model):
    message: Report
    connector_id: int | None = Field(None, ge=0, description="connector_status only; none: every connector.")


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"  # carried out once the running session ends
    REJECTED = "rejected"


class StatusReply(Model):
    status: Outcome


CHANGE_AVAILABILITY = Topic(
    "chargebus/ocpp_gateway/cmd/change_availability", Kind.CMD, ChangeAvailabilityRequest,
    reply=StatusReply, owner="ocpp_gateway", subscribers=("api",),
    doc="A local maintenance change of availability, as if the CSMS had asked (scheduled while a session runs; "
    "the CSMS sees the connector's new status).",
    example={"connector_id": 1, "operative": False},
)

TRIGGER = Topic(
    "chargebus/ocpp_gateway/cmd/trigger", Kind.CMD, TriggerRequest,
    reply=StatusReply, owner="ocpp_gateway", subscribers=("api",),
    doc="Tell the CSMS now a connector's status, or announce the station as at boot, as if the CSMS had asked. "
    "Rejected while the CSMS is not connected.",
    example={"message": "connector_status", "connector_id": 1},
)

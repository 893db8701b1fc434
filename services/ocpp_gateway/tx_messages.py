"""What the transaction engine and its outbox say to the CSMS, per OCPP version: the seam between the sessions
(`sessions.py`, `engine.py`, `outbox.py`, the same for every version) and a version's transaction messages.

1.6 tells a transaction with StartTransaction, MeterValues and StopTransaction, and the CSMS makes its id;
2.0.1 with TransactionEvent Started, Updated and Ended, numbered by the station, under an id the station made.
Everything else the engine does (authorize, energize, meter, persist, replay in order) is the same, and is
written once.

A token is the session machine's `id_tag`: a text key made by `key` from the bus's IdToken and turned back by
`token`, so that the machine compares cards without knowing their version's form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.common.contract.auth import IdToken, TokenInfo
from services.common.contract.metering import Measurand, MeterValue
from services.common.contract.power import ConnectorState

from .ports import ConfigReader
from .sessions import Reason, Rules
from .tx_store import OutboxMessage, Payload, TxStore


@dataclass(frozen=True)
class StartFacts:
    """A transaction that just began: the output is energized for it."""

    session_id: str
    connector_id: int
    id_tag: str
    meter_start_wh: int
    at: datetime
    state: ConnectorState | None  # power's latest facts about the connector
    reservation_id: int | None = None
    remote_start_id: int | None = None  # set for a start the CSMS asked for
    cable_last: bool = False  # the card was accepted before the cable came
    offline: bool = False  # the CSMS was out of reach when it happened


@dataclass(frozen=True)
class StopFacts:
    """A transaction that just ended: the output is off."""

    session_id: str
    connector_id: int
    reason: Reason
    meter_stop_wh: int
    at: datetime
    id_tag: str | None  # the card that stopped it, when one did
    end: MeterValue | None  # the reading taken at the end, with the measurands asked for at stop
    during: list[dict[str, Any]]  # the readings kept during the transaction (`sampled`), oldest first
    state: ConnectorState | None = None  # power's last facts about the connector (they may predate the stop)
    offline: bool = False


@dataclass(frozen=True)
class Answer:
    """What a CSMS's answer to a transaction message tells the station."""

    transaction_id: int | None = None  # a 1.6 start's: the CSMS makes the id
    id_tag: str | None = None  # the token the message named, when the answer says something of it
    info: TokenInfo | None = None
    connector_id: int | None = None


@dataclass(frozen=True)
class RemoteStart:
    """A start the CSMS asked for: the limit it brought and, in 2.0.1, the id it gave the request."""

    profile: Any = None  # a LimitProfile smart_charging accepted
    remote_start_id: int | None = None


class TxMessages(Protocol):
    """One OCPP version's transaction messages."""

    start_action: str  # outbox action names: the stored rows say which message they are
    meter_action: str
    stop_action: str
    fills_transaction_id: bool  # True: messages after the start carry the id the CSMS answered it with
    attempts_key: str  # the settings that govern retries of a message the CSMS failed to process
    interval_key: str

    def rules(self, config: ConfigReader) -> Rules: ...

    def told(self, store: TxStore, session_id: str) -> bool:
        """Has this version's start of the session been queued (or confirmed)?"""
        ...

    def key(self, token: IdToken) -> str | None:
        """The session machine's key of a token; None for one this version cannot carry."""
        ...

    def token(self, key: str) -> IdToken: ...

    def transaction_id(self, session_id: str, confirmed: int | None) -> str | None:
        """The id the CSMS knows a session's transaction by, as text (None: a 1.6 CSMS has not given it yet)."""
        ...

    def group(self, info: TokenInfo | None) -> str | None:
        """The key of the group (parent) token of what is known of a token."""
        ...

    def measurands(self, config: ConfigReader, at_stop: bool) -> list[Measurand]:
        """The measurands configured for readings during a transaction, or for the reading at its end."""
        ...

    def start(self, facts: StartFacts) -> Payload: ...

    def meter(self, session_id: str, connector_id: int, value: MeterValue, state: ConnectorState | None,
              offline: bool) -> Payload: ...

    def charging_changed(self, session_id: str, before: ConnectorState | None, now: ConnectorState, offline: bool
                         ) -> Payload | None:
        """The message for a change of power's facts during a transaction (None: this version tells none)."""
        ...

    def sampled(self, value: MeterValue) -> dict[str, Any]:
        """A reading kept during a transaction, for the message that ends it."""
        ...

    def stop(self, facts: StopFacts, config: ConfigReader) -> Payload: ...

    def meter_values(self, connector_id: int, value: MeterValue, transaction_id: int | str | None) -> Any:
        """A MeterValues call outside the outbox (triggered, or outside a transaction)."""
        ...

    def build(self, action: str, payload: dict[str, Any] | None) -> Any:
        """The `ocpp` call object of a stored message; raises `messages.Unsendable` for one that can never be."""
        ...

    def schema_error(self, request: Any) -> str | None: ...

    def answered(self, msg: OutboxMessage, conf: Any) -> Answer: ...

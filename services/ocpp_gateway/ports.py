"""The seams inside the gateway: the CSMS link, the configuration key store and the transactions.

The link (WebSocket, boot, CSMS calls) and the transaction engine (sessions, outbox, replay) are
separate modules that only know each other through these protocols, so each can be tested with
the other side real but small.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from services.common.contract.smart_charging import LimitProfile, SessionRef


class CsmsUnavailable(Exception):
    """The call could not be made or answered: not connected, not Accepted, or no answer in time.

    For transaction messages this means "retry later", never "drop".
    """


class CsmsCallError(Exception):
    """The CSMS answered with a CALLERROR."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class CsmsLink(Protocol):
    """The station's side of the OCPP connection."""

    @property
    def accepted(self) -> bool:
        """Connected and BootNotification Accepted: only then may anything but Boot be sent."""
        ...

    async def wait_accepted(self) -> None: ...

    async def call(self, payload: Any, timeout: float | None = None) -> Any:
        """Send an `ocpp.v16.call.*` payload; returns its `ocpp.v16.call_result.*`.

        Raises CsmsUnavailable (offline, not Accepted, timeout) or CsmsCallError.
        """
        ...

    async def call_triggered(self, payload: Any) -> Any:
        """The same for a message the CSMS asked for (TriggerMessage): allowed while Pending."""
        ...


class ConfigReader(Protocol):
    """Live view of the OCPP configuration keys (the store is the gateway's)."""

    def get(self, key: str) -> str: ...

    def get_int(self, key: str) -> int: ...

    def get_bool(self, key: str) -> bool: ...

    def on_change(self, key: str, callback: Callable[[str], Awaitable[None]]) -> None:
        """Call `callback(new_value)` after the key changed (ChangeConfiguration accepted)."""
        ...


class Transactions(Protocol):
    """What the CSMS's calls and the availability need from the transaction engine."""

    async def recover(self) -> None:
        """At start, before anything else: resynchronise from the database and power.

        A session left open while power is no longer energized is closed with reason PowerLoss (or
        the reason of a restart the station decided itself), with its last meter value and time; one
        still energized goes on; one that never energized is discarded.
        """
        ...

    async def on_accepted(self) -> None:
        """The link is up and Accepted: resume replaying the outbox (returns at once)."""
        ...

    def transaction_connectors(self) -> set[int]: ...

    async def remote_start(self, id_tag: str, connector_id: int | None, charging_profile: LimitProfile | None
                           ) -> bool:
        """RemoteStartTransaction: True = Accepted; the profile (a TxProfile smart_charging accepts) is given to
        the session it starts."""
        ...

    def session_ref(self, connector_id: int, transaction_id: int | None) -> SessionRef | None:
        """The session open on the connector, when its transaction is `transaction_id` (None: whichever)."""
        ...

    async def remote_stop(self, transaction_id: int) -> bool:
        """RemoteStopTransaction: True = Accepted (the transaction exists and will stop, reason Remote)."""
        ...

    async def stop_all(self, reason: str) -> None:
        """Stop every transaction (Reset): returns when each StopTransaction is in the outbox."""
        ...

    def unconfirmed(self, connector_id: int) -> bool:
        """The CSMS has not yet confirmed the start or the stop of the connector's last session."""
        ...

    async def hold_outbox(self, timeout: float) -> None:
        """Send no more transaction messages (a restart is near); returns once the one on the wire, if any, has
        its answer, or after `timeout`."""
        ...

    def release_outbox(self) -> None:
        """Send again after `hold_outbox` (the restart did not happen)."""
        ...

    def add_end_listener(self, callback: Callable[[int], Awaitable[None]]) -> None:
        """`callback(connector_id)` after a transaction ended (e.g. apply a Scheduled availability)."""
        ...

    def outbox_pending(self) -> int: ...

    def reserve(self, booking: Any) -> Any:
        """ReserveNow for a connector: the ReservationStatus."""
        ...

    def cancel_reservation(self, reservation_id: int) -> bool: ...

    async def trigger_meter_values(self, connector_id: int | None) -> None:
        """TriggerMessage MeterValues: a reading now, for the connector or each."""
        ...

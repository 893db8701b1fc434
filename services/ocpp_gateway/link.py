"""The WebSocket to the Central System: connect, boot, heartbeat, reconnect forever; in OCPP 1.6 or, with the
2.0.1 `Dialect` (`v201/dialect.py`), in 2.0.1.

The URL is `csms_url` with `{id}` replaced by the charge point id, or `<csms_url>/<id>` when it has no
`{id}` (a CSMS that routes `.../<id>/` is reached with `ws://host/ocpp/{id}/`).

A BootNotification is sent when the station (re)starts, not on every reconnect (OCPP 1.6 §4.2; some
CSMSs close open transactions on a Boot): the registration Accepted under the current boot id is
remembered in SQLite, and a reconnect under the same boot id goes straight back to work, reporting
what changed while offline. Until a boot is Accepted nothing else is sent (Pending: CSMS
calls are still answered; Rejected: they are not). A dead link is noticed by the WebSocket ping
(WebSocketPingInterval) with a pong deadline, then the link reconnects with a jittered back-off
that starts under a second. A CSMS that refuses the handshake with 401/403 is logged as refused
credentials, with how to set them.

A key change reconnects only when the connection in use was opened with another value
(WebSocketPingInterval, AuthorizationKey, SecurityProfile): a CSMS that pushes its settings on every
connect does not make the link loop. An AuthorizationKey set while SecurityProfile is 0 raises it to 1:
the profile always says whether basic authentication is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import websockets
from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError
from ocpp.v16 import call

from services.common.bus import Bus
from services.common.contract.ocpp_gateway import CONNECTION, ConnectionState, Registration
from services.common.lifecycle import cancel_and_wait
from services.common.logs import log_context, redact_url
from services.common.settings import Settings
from services.common.version import VERSION

from .keys import BY_NAME, HEARTBEAT_RANGE_S
from .ports import CsmsCallError, CsmsUnavailable
from .protocol import after_answer
from .registration import RegistrationMemory
from .security import link_security, profile_refusal

log = logging.getLogger(__name__)

FIRST_RETRY_S = 0.5
MAX_RETRY_S = 30.0
DEFAULT_RETRY_INTERVAL_S = 30  # Pending/Rejected with interval 0
MAX_FRAME_BYTES = 4 * 2**20  # a SendLocalList of 9999 entries is about 1.2 MB
SERIAL_NUMBER_MAX = 25  # chargePointSerialNumber is a CiString25
ACCEPTED = "Accepted"  # RegistrationStatus in 1.6 and 2.0.1 alike
MODEL = BY_NAME["CP_MODEL"].default


class LinkConfig(Protocol):
    """What the link reads and writes of its protocol's configuration: the 1.6 keys or the 2.0.1 variables."""

    def get(self, key: str) -> str: ...
    def get_int(self, key: str) -> int: ...
    def revision(self, key: str) -> int: ...
    def on_change(self, key: str, callback: Callable[[str], Awaitable[None]]) -> None: ...
    def veto(self, key: str, rule: Callable[[str], str | None]) -> None: ...
    async def change(self, key: str, value: str) -> Any: ...


class Peer(Protocol):
    """The library's ChargePoint of either version, as the link drives it."""

    async def start(self) -> None: ...
    async def call(self, payload: Any, suppress: bool = ..., unique_id: Any = ...) -> Any: ...
    async def close(self) -> None: ...
    def hold_calls_until(self, ready: asyncio.Event) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """What differs on the link between OCPP versions: the subprotocol, the names of its settings, the boot and
    heartbeat messages. The rest (reconnecting, registration, security profiles, heartbeats in idle time) is
    the same."""

    subprotocol: str
    heartbeat: str  # the key or variable of the heartbeat interval
    ping: str  # of WebSocketPingInterval
    password: str  # of the basic authentication password
    profile: str  # of the security profile
    boot: Callable[[Settings, str], Any]  # the BootNotification, for a boot reason
    heartbeat_call: Callable[[], Any]
    profile_follows_password: bool  # 1.6: a password set under profile 0 raises it to 1 (2.0.1 has no profile 0)
    set_password_hint: str  # how a technician sets the password the CSMS expects

    @property
    def reconnect_keys(self) -> tuple[str, str, str]:
        """The properties of the connection: a change applies to the next one, made at once."""
        return self.ping, self.password, self.profile


def _boot_16(settings: Settings, _reason: str) -> Any:
    return call.BootNotification(charge_point_vendor="chargebus", charge_point_model=MODEL,
                                 charge_point_serial_number=serial_number(settings), firmware_version=VERSION)


OCPP16 = Dialect(subprotocol="ocpp1.6", heartbeat="HeartbeatInterval", ping="WebSocketPingInterval",
                 password="AuthorizationKey", profile="SecurityProfile", boot=_boot_16, heartbeat_call=call.Heartbeat,
                 profile_follows_password=True,
                 set_password_hint="`chargebus config set AuthorizationKey <key>` (or ChangeConfiguration from the "
                                   "CSMS)")


def serial_number(settings: Settings) -> str | None:
    """chargePointSerialNumber: the setting, else the charge point id when it fits, else none (ids go to 48)."""
    if settings.charge_point_serial_number is not None:
        return settings.charge_point_serial_number
    return settings.charge_point_id if len(settings.charge_point_id) <= SERIAL_NUMBER_MAX else None


def server_keys(settings: Settings) -> dict[str, str]:
    """The vendor server-address keys (read-only): what this station connects to, from its settings."""
    parts = urlsplit(settings.ocpp_url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    return {"ServerURL": redact_url(settings.csms_url), "SERVER_ADDRESS": parts.hostname or "",
            "SERVER_PORT": str(port), "SERVER_PATH": urlsplit(settings.csms_url).path,
            "SERVER_CPID": settings.charge_point_id}


class LinkClosed(CsmsUnavailable):
    """The WebSocket is gone: the session ends and the link reconnects."""


class Link:
    """Implements ports.CsmsLink."""

    def __init__(self, settings: Settings, bus: Bus, config: LinkConfig, memory: RegistrationMemory,
                 make_protocol: Callable[[Any], Peer], outbox_pending: Callable[[], int],
                 dialect: Dialect = OCPP16, boot_reason: Callable[[], str] = lambda: "PowerUp") -> None:
        self.settings = settings
        self.dialect = dialect
        self.boot_reason = boot_reason
        self.bus = bus
        self.config = config
        self.memory = memory
        self.make_protocol = make_protocol
        self.outbox_pending = outbox_pending
        self.registration = Registration.NONE
        self.connected = False
        self.protocol: Peer | None = None
        self.ws: websockets.ClientConnection | None = None
        self._spawned_close: asyncio.Future[None] | None = None
        self._published: tuple[bool, Registration] | None = None
        self._since = datetime.now(UTC)
        self._published_pending: int | None = None
        self._accepted = asyncio.Event()
        # set by the gateway once its sessions are recovered. Until then the link connects and boots (the CSMS
        # hears of the station without waiting for it), but what the CSMS asks, and what follows its acceptance
        # (the accepted state, its callbacks: status, outbox), wait: they need the sessions
        self.ready = asyncio.Event()
        self._on_accepted: list[Callable[[], Awaitable[None]]] = []
        self._on_booted: list[Callable[[], Awaitable[None]]] = []
        self._on_reconnected: list[Callable[[], Awaitable[None]]] = []
        self._heartbeat_changed = asyncio.Event()
        self._boot_now = asyncio.Event()
        self.last_traffic = 0.0
        self._opened_with: dict[str, str] = {}  # the connection properties the connection in use was opened with
        self._closing: Peer | None = None
        self._warned_plain_key = False
        self._refused_logged = False
        # a security event on the link (the CSMS refused our credentials, its certificate is not trusted), once
        # until a connection succeeds: the protocol may keep a security log of them
        self.security_event: Callable[[str, str], None] = lambda _kind, _info: None
        self._untrusted_told = False
        self.down_at: float | None = None  # when the last connection that was up went down (monotonic)
        config.on_change(dialect.heartbeat, self._interval_changed)
        # the ping interval, new credentials or a higher profile apply to the next connection: reconnect now
        # (security whitepaper §1.3, 2.0.1 A01), but only for a value the connection does not already use
        for key in dialect.reconnect_keys:
            config.on_change(key, self._reconnect_for(key))
        if dialect.profile_follows_password:
            config.on_change(dialect.password, self._profile_follows_key)
            config.veto(dialect.profile, lambda value: profile_refusal(
                config.get_int(dialect.profile), int(value), bool(config.get(dialect.password)),
                settings.csms_url, settings))

    async def _interval_changed(self, _value: str) -> None:
        self._heartbeat_changed.set()  # the heartbeat loop sleeps out the new interval, not the old one

    def _reconnect_for(self, key: str) -> Callable[[str], Awaitable[None]]:
        async def changed(value: str) -> None:
            if self._opened_with.get(key, value) != value:
                self._reconnect(key)
        return changed

    async def _profile_follows_key(self, key: str) -> None:
        """Basic authentication is sent from profile 1 on: a key set under profile 0 raises it (1.6)."""
        if key and self.config.get_int(self.dialect.profile) == 0:
            log.info("AuthorizationKey set: SecurityProfile 0 -> 1 (basic authentication from now on)")
            await self.config.change(self.dialect.profile, "1")

    def _reconnect(self, why: str) -> None:
        protocol = self.protocol
        if protocol is not None and protocol is not self._closing:
            self._closing = protocol
            log.info("%s changed: reconnecting to apply it", why)
            ws = self.ws

            def close() -> None:
                if ws is not None:
                    self._spawned_close = asyncio.ensure_future(ws.close())

            # after the ChangeConfiguration.conf has gone out on the old connection (or the reply to a
            # technician's change on the bus)
            if not after_answer(close):
                try:
                    self.bus.after_reply(close)
                except RuntimeError:
                    close()

    @property
    def accepted(self) -> bool:
        return self._accepted.is_set()

    async def wait_accepted(self) -> None:
        await self._accepted.wait()

    def when_accepted(self, callback: Callable[[], Awaitable[None]]) -> None:
        """After every Accepted registration, booted or reconnected."""
        self._on_accepted.append(callback)

    def when_booted(self, callback: Callable[[], Awaitable[None]]) -> None:
        """After a BootNotification was Accepted."""
        self._on_booted.append(callback)

    def when_reconnected(self, callback: Callable[[], Awaitable[None]]) -> None:
        """After a reconnect that needed no BootNotification (same station boot)."""
        self._on_reconnected.append(callback)

    async def call(self, payload: Any, timeout: float | None = None) -> Any:
        if not self.accepted or self.protocol is None:
            raise CsmsUnavailable("not connected and accepted")
        return await self._call(self.protocol, payload, timeout)

    async def call_triggered(self, payload: Any) -> Any:
        """A message the CSMS asked for with TriggerMessage: allowed while Pending too (OCPP 1.6 §4.2)."""
        if self.protocol is None or self.registration is Registration.REJECTED:
            raise CsmsUnavailable("not connected, or Rejected")
        return await self._call(self.protocol, payload)

    async def trigger_boot(self) -> None:
        """TriggerMessage BootNotification: while Pending the boot loop's wait ends now; once Accepted, a
        BootNotification goes out and its answer is taken like a boot's."""
        protocol = self.protocol
        if protocol is None or self.registration is Registration.REJECTED:
            return
        if self.registration is not Registration.ACCEPTED:
            self._boot_now.set()
            return
        conf = await self._call(protocol, self.dialect.boot(self.settings, "Triggered"))
        log.info("triggered boot registration=%s interval=%d", conf.status, conf.interval)
        if conf.status == ACCEPTED and int(conf.interval) > 0:
            await self._take_interval(int(conf.interval))

    async def _call(self, protocol: Peer, payload: Any, timeout: float | None = None) -> Any:
        unique_id = str(uuid.uuid4())
        cancels = asyncio.current_task().cancelling()  # type: ignore[union-attr]
        try:
            with log_context(ocpp_message_id=unique_id, ocpp_action=type(payload).__name__):
                async with asyncio.timeout(timeout or self.settings.ocpp_response_timeout_s):
                    result = await protocol.call(payload, suppress=False, unique_id=unique_id)
                if asyncio.current_task().cancelling() > cancels:  # type: ignore[union-attr]
                    # Python 3.11's asyncio.wait_for, which the library awaits each answer with, returns an
                    # answer that came with a cancellation and drops the cancellation (3.12 keeps it): the
                    # gateway's stop was lost and it ran on until killed.
                    raise asyncio.CancelledError
        except TimeoutError as exc:
            raise CsmsUnavailable(f"no answer to {type(payload).__name__}") from exc
        except websockets.ConnectionClosed as exc:
            raise LinkClosed("connection closed") from exc
        except OCPPError as exc:
            raise CsmsCallError(exc.code, str(exc.description or "")) from exc
        except UnknownCallErrorCodeError as exc:  # the protocol layer maps these; this is the last guard
            raise CsmsCallError("GenericError", str(exc)) from exc
        self.last_traffic = time.monotonic()
        return result

    def publish_state(self) -> None:
        link = (self.connected, self.registration)
        if link != self._published:  # `since` is when the link took this state, not when the outbox last moved
            self._published, self._since = link, datetime.now(UTC)
        self._published_pending = self.outbox_pending()
        self.bus.publish(CONNECTION, ConnectionState(
            connected=self.connected, registration=self.registration, url=redact_url(self.settings.ocpp_url),
            since=self._since, outbox_pending=self._published_pending, subprotocol=self.dialect.subprotocol))

    def outbox_changed(self) -> None:
        """A message was queued or left the outbox: the retained figure follows (`chargebus status`, the page)."""
        if self.outbox_pending() != self._published_pending:
            self.publish_state()

    async def run(self) -> None:
        retry = FIRST_RETRY_S
        if self.dialect.profile_follows_password:
            # a key stored under profile 0 (by an older version) is sent only once the profile says so
            await self._profile_follows_key(self.config.get(self.dialect.password))
        self.publish_state()
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except ssl.SSLCertVerificationError as exc:
                log.error("csms certificate not trusted url=%s (csms_ca_bundle=%s): %s",
                          redact_url(self.settings.ocpp_url), self.settings.csms_ca_bundle, exc.verify_message)
                if not self._untrusted_told:
                    self._untrusted_told = True
                    self.security_event("InvalidCsmsCertificate", str(exc.verify_message))
            except ValueError as exc:  # a security profile this URL or these settings cannot meet
                log.error("csms link not opened: %s", exc)
            except websockets.InvalidStatus as exc:
                self._refused(exc)
            except (OSError, websockets.InvalidHandshake, websockets.ConnectionClosed, TimeoutError) as exc:
                log.info("csms link down url=%s: %s", redact_url(self.settings.ocpp_url), exc)
            finally:
                self._down()
            if time.monotonic() - started > 60:
                retry = FIRST_RETRY_S
            delay = retry * random.uniform(0.5, 1.0)
            await asyncio.sleep(delay)
            retry = min(MAX_RETRY_S, retry * 2)

    def _refused(self, exc: websockets.InvalidStatus) -> None:
        status = exc.response.status_code
        if status not in (401, 403) or self._refused_logged:
            log.info("csms link down url=%s: %s", redact_url(self.settings.ocpp_url), exc)
            return
        self._refused_logged = True  # once until a connection succeeds; each retry then logs the short line
        self.security_event("FailedToAuthenticateAtCsms", f"HTTP {status}")
        log.error("the CSMS refused the credentials (HTTP %d) url=%s charge point id=%s SecurityProfile=%d: set the "
                  "password it expects with %s, or client certificates for profile 3", status,
                  redact_url(self.settings.ocpp_url), self.settings.charge_point_id,
                  self.config.get_int(self.dialect.profile), self.dialect.set_password_hint)

    def _down(self) -> None:
        was = self.connected
        if was:
            self.down_at = time.monotonic()
        self.connected = False
        self.protocol, self.ws = None, None
        self._accepted.clear()
        self.registration = Registration.NONE
        if was:
            self.publish_state()

    async def _session(self) -> None:
        dialect = self.dialect
        opened_with = {key: self.config.get(key) for key in dialect.reconnect_keys}
        ping = int(opened_with[dialect.ping])
        url, key, profile = self.settings.ocpp_url, opened_with[dialect.password], int(opened_with[dialect.profile])
        security = link_security(profile, url, self.settings.charge_point_id, key, self.settings)
        if "Authorization" in security.headers and not url.startswith("wss://") and not self._warned_plain_key:
            self._warned_plain_key = True  # once: the reconnect back-off would repeat it every few seconds
            log.warning("%s sent over ws:// (no TLS): anyone on the path can read it", dialect.password)
        self._opened_with = opened_with
        async with websockets.connect(
            url, subprotocols=[websockets.Subprotocol(dialect.subprotocol)], open_timeout=10,
            ping_interval=ping or None, ping_timeout=min(max(ping, 5), 60) if ping else None, close_timeout=2,
            max_size=MAX_FRAME_BYTES, additional_headers=security.headers or None, ssl=security.ssl,
        ) as ws:
            if ws.subprotocol != dialect.subprotocol:
                log.warning("csms did not agree on subprotocol %s (got %r)", dialect.subprotocol, ws.subprotocol)
            protocol = self.make_protocol(ws)
            protocol.hold_calls_until(self.ready)
            self.protocol, self.ws = protocol, ws
            self.connected = True
            self._refused_logged = self._untrusted_told = False
            log.info("csms connected url=%s", redact_url(self.settings.ocpp_url))
            self.publish_state()
            reader = asyncio.create_task(protocol.start(), name="ocpp-reader")
            booter = asyncio.create_task(self._register(protocol), name="ocpp-boot")
            try:
                done, _ = await asyncio.wait({reader, booter}, return_when=asyncio.FIRST_COMPLETED)
                if booter in done and not isinstance(booter.exception(), LinkClosed | None):
                    log.error("boot/heartbeat failed: %r", booter.exception(), exc_info=booter.exception())
                if reader in done:
                    reader.result()  # the reason the link went down
            finally:
                await cancel_and_wait(reader, booter)
                await protocol.close()

    async def _register(self, protocol: Peer) -> None:
        if self.memory.accepted_this_boot():
            self.registration = Registration.ACCEPTED
            self.publish_state()
            log.info("reconnected: registration of this boot still Accepted, no BootNotification")
            await self.ready.wait()
            await self._accepted_now(self._on_reconnected)
        else:
            await self._boot(protocol)
            await self.ready.wait()
            await self._accepted_now(self._on_booted)
        await self._heartbeat(protocol)

    async def _accepted_now(self, extra: list[Callable[[], Awaitable[None]]]) -> None:
        self._accepted.set()
        for callback in (*self._on_accepted, *extra):
            await callback()

    def forget_registration(self) -> None:
        """The station is about to restart on purpose (Reset): the next connection boots."""
        self.memory.forget()

    async def _boot(self, protocol: Peer) -> None:
        request = self.dialect.boot(self.settings, self.boot_reason())
        while True:
            asked = self.config.revision(self.dialect.heartbeat)
            # cleared before the call: a TriggerMessage that arrives while the CSMS's answer is on its way
            # must still end the wait that follows a Pending
            self._boot_now.clear()
            try:
                conf = await self._call(protocol, request)
            except LinkClosed:
                raise
            except (CsmsUnavailable, CsmsCallError) as exc:
                log.warning("boot notification failed: %s", exc)
                await asyncio.sleep(DEFAULT_RETRY_INTERVAL_S)
                continue
            self.registration = Registration(conf.status)
            interval = int(conf.interval)
            self.publish_state()
            log.info("boot registration=%s interval=%d", conf.status, interval)
            if conf.status == ACCEPTED:
                break
            with contextlib.suppress(TimeoutError):  # a TriggerMessage BootNotification ends the wait
                async with asyncio.timeout(interval if interval > 0 else DEFAULT_RETRY_INTERVAL_S):
                    await self._boot_now.wait()
        self.memory.remember_accepted()
        # a ChangeConfiguration the CSMS sent right after its answer may have been applied first: it wins
        if interval > 0 and self.config.revision(self.dialect.heartbeat) == asked:
            await self._take_interval(interval)

    async def _take_interval(self, interval: int) -> None:
        low, high = HEARTBEAT_RANGE_S
        used = min(max(interval, low), high)
        if used != interval:
            log.warning("boot interval %d s is outside the supported %d..%d s: heartbeat every %d s", interval, low,
                        high, used)
        if str(used) != self.config.get(self.dialect.heartbeat):
            await self.config.change(self.dialect.heartbeat, str(used))

    async def _heartbeat(self, protocol: Peer) -> None:
        while True:
            self._heartbeat_changed.clear()
            interval = self.config.get_int(self.dialect.heartbeat)
            idle = time.monotonic() - self.last_traffic
            if idle < interval:
                # other traffic tells the CSMS we are alive: the heartbeat may wait (OCPP 1.6 §4.6)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(interval - idle, interval)):
                        await self._heartbeat_changed.wait()
                continue
            try:
                await self._call(protocol, self.dialect.heartbeat_call())
            except LinkClosed:
                raise
            except (CsmsUnavailable, CsmsCallError) as exc:
                log.warning("heartbeat failed: %s", exc)
                await asyncio.sleep(min(interval, 10))

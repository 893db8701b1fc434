"""The MQTT v5 bus client every process uses.

paho-mqtt's network I/O runs on the asyncio event loop (`mqtt_loop`), with its reconnect and its queue of
QoS 1 messages published while the link is down. Replies to our own requests are resolved directly on
arrival, everything else goes through one ordered dispatcher, so an event handler that awaits a request can
never deadlock the client.

Only declared topics (see `contract`) can be published or subscribed, and every payload is
validated in both directions: an invalid incoming payload is logged, counted and dropped
(a command gets a `bad_request` reply); it never reaches a handler or stops the service.

A station account (a service, the supervisor, the command line) may only handle, watch, request and publish
what the contract declares for it (`contract.access`): the broker's ACL is generated from the same
declarations, so a registration the ACL would not allow fails here, in every test that starts the service.
A request carries its address in its topic (`contract.Address`: the caller's client id, the request's id, its
deadline). A reply is taken only from the command's owner (its reply topic is under the owner's name, which only
the owner's account may write), and a command is answered only under the owner's own name.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import BaseModel, ValidationError

from . import contract
from .bus_accounts import ACCOUNTS, credentials
from .contract import Address, ErrorBody, ErrorCode, Kind, Reply, Topic, access, replier, reply_filter, reply_topic
from .contract.common import HEALTH, Health, HealthState
from .mqtt_loop import CONNECT_TIMEOUT_S, LoopDriver
from .settings import Settings
from .version import VERSION

log = logging.getLogger(__name__)

MAX_PAYLOAD = 64 * 1024
SESSION_EXPIRY_S = 24 * 3600
DEFAULT_TIMEOUT_S = 5.0
AFTER_REPLY_WAIT_S = 2.0  # the broker's PUBACK for a reply; a broker that is gone does not hold the action up
STOPPED_WAIT_S = 2.0  # the broker's PUBACK for the `stopped` health on stop
RETAINED_SETTLE_S = 0.3  # `retained()`: nothing more came for this long, the broker has sent what it keeps
RETAINED_TIMEOUT_S = 5.0

# the actions a command handler asked to run once its reply is with the broker (None: not in a handler)
_after_reply: ContextVar[list[Callable[[], object]] | None] = ContextVar("after_reply", default=None)

M = TypeVar("M", bound=BaseModel)
Params = dict[str, str]
P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)
WatchHandler = Callable[[str, Topic, BaseModel | None, Params], Awaitable[None]]


class UndeclaredTopic(ValueError):
    """A station account used a topic the contract does not declare for it: a bug, found by any test of it."""


class BusError(Exception):
    """A failed command: raised by handlers to answer `{ok: false}`, and at the caller on such a reply."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.code in contract.base.RETRYABLE


@dataclass
class _Sent:
    """A QoS 1 publish waiting for the broker's PUBACK."""

    path: str
    request: str | None  # the id of a request of ours, which a refusal fails at once
    acked: asyncio.Future[None] | None  # done on the PUBACK, for the one caller that waits for it


@dataclass
class _Subscription:
    topic: Topic
    handler: Callable[[Any, Params], Awaitable[Any]]


def _now() -> datetime:
    return datetime.now(UTC)


class Bus:
    """One MQTT connection with the contract enforced; used from its event loop's thread only.

    `persistent=True` (services): fixed client id, clean start off and a session expiry, so
    QoS 1 messages published while the process is down are delivered when it returns.
    """

    def __init__(
        self,
        settings: Settings,
        name: str,
        *,
        client_id: str | None = None,
        persistent: bool = True,
        health: bool = True,
    ) -> None:
        self.name = name
        self.client_id = client_id or f"chargebus-{name}"
        self.dropped = 0
        self._settings = settings
        self._persistent = persistent
        self._health = health
        self._since = _now()
        self._subs: list[_Subscription] = []
        self._watches: list[tuple[str, WatchHandler]] = []
        self._pending: dict[str, tuple[asyncio.Future[tuple[bytes, Any]], str]] = {}  # request id → (reply, owner)
        self._in_flight: dict[int, _Sent] = {}  # mid → what the broker's PUBACK is for
        self._refused_topics: set[str] = set()
        self._reply_filter = reply_filter(self.client_id)
        # test doubles and foreign tools have no account: only the broker limits them
        self._declared = name in ACCOUNTS
        self._loop: asyncio.AbstractEventLoop | None = None
        self._driver: LoopDriver | None = None
        self._queue: asyncio.Queue[mqtt.MQTTMessage] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._subscribe_mid: int | None = -1
        self._on_connected: list[Callable[[], None]] = []
        self._client = self._make_client()

    # -- registration (before start) ------------------------------------------------------------

    def on(self, topic: Topic[P, Any], handler: Callable[[P, Params], Awaitable[None]]) -> None:
        """Call `handler(payload, params)` for each valid message on a state/event/config/health topic."""
        if topic.kind is Kind.CMD:
            raise ValueError(f"{topic.path} is a command: use handle()")
        self._require(access.declared_reader(self.name, topic), topic, "is not a declared subscriber of")
        self._subs.append(_Subscription(topic, handler))

    def handle(self, topic: Topic[P, R], handler: Callable[[P, Params], Awaitable[R]]) -> None:
        """Answer a command topic: `handler(request, params)` returns the reply model or raises BusError."""
        if topic.kind is not Kind.CMD:
            raise ValueError(f"{topic.path} is not a command")
        self._require(access.may_handle(self.name, topic), topic, "does not own")
        self._subs.append(_Subscription(topic, handler))

    def _require(self, allowed: bool, topic: Topic | str, what: str) -> None:
        if self._declared and not allowed:
            path = topic if isinstance(topic, str) else topic.path
            raise UndeclaredTopic(f"bus account {self.name!r} {what} {path} (declare it in services/common/contract)")

    def when_connected(self, callback: Callable[[], None]) -> None:
        """Call `callback()` on the event loop after every (re)connection, once subscribed.

        Owners republish their retained states there: a broker that crashed restores only what it last
        saved, and the truth is the owner's.
        """
        self._on_connected.append(callback)

    def follow(self, topic: Topic[P, Any], handler: Callable[[P | None, Params], Awaitable[None]],
               **params: object) -> None:
        """Every message of one declared topic, typed: `handler(payload, params)`, its retained value first;
        None when that value was cleared. With `params`, one concrete path of it (one service's health)."""
        async def typed(_path: str, declared: Topic, payload: BaseModel | None, found: Params) -> None:
            if declared is topic:  # the contract's own object: no field-by-field comparison per message
                await handler(cast("P | None", payload), found)

        self.watch(topic.render(**params) if params else topic.filter, typed)

    def watch(self, topic_filter: str, handler: WatchHandler) -> None:
        """Observe declared topics under a filter: `handler(topic, declared, payload, params)`.

        A filter of one topic (its filter or one concrete path of it) needs the same declaration as `on`; a wider
        one (`chargebus/#`) is for the accounts that show the whole bus to a person (`access.WATCHERS`), and only
        delivers what they may read. `payload` is None when a retained message was cleared.
        """
        self._may_watch(topic_filter)
        self._watches.append((topic_filter, handler))

    def _may_watch(self, topic_filter: str) -> None:
        narrow = next((t for t in contract.TOPICS if topic_filter == t.filter or t.match(topic_filter) is not None),
                      None)
        if narrow is not None:
            self._require(access.declared_reader(self.name, narrow), narrow, "is not a declared subscriber of")
        else:
            self._require(self.name in access.WATCHERS, topic_filter, "may not watch the wide filter")

    async def retained(self, *topic_filters: str, settle_s: float = RETAINED_SETTLE_S,
                       timeout: float = RETAINED_TIMEOUT_S) -> dict[str, BaseModel]:
        """The retained messages under `topic_filters` now, by topic: subscribed for the moment it takes to read
        them, never followed. For a picture taken rarely (a diagnostics archive): watching the same filters would
        cost a decoded message for every state change of the station, all the time.

        The broker sends what it keeps right after it acknowledges the subscription; the picture is complete once
        nothing came for `settle_s` (what changes meanwhile is taken too), or at `timeout` on a busy bus.
        """
        for topic_filter in topic_filters:
            self._may_watch(topic_filter)
        found: dict[str, BaseModel] = {}
        heard = asyncio.Event()

        async def keep(topic: str, _declared: Topic, payload: BaseModel | None, _p: Params) -> None:
            if payload is None:
                found.pop(topic, None)
            else:
                found[topic] = payload
            heard.set()

        taken = [(topic_filter, keep) for topic_filter in topic_filters]
        self._watches.extend(taken)
        try:
            self._client.subscribe([(topic_filter, 1) for topic_filter in topic_filters])
            if self._driver is not None:
                self._driver.flush()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while True:
                        heard.clear()
                        try:
                            async with asyncio.timeout(settle_s):
                                await heard.wait()
                        except TimeoutError:
                            break
        finally:
            for entry in taken:
                self._watches.remove(entry)
            kept = {sub.topic.filter for sub in self._subs} | {f for f, _ in self._watches}
            gone = [topic_filter for topic_filter in topic_filters if topic_filter not in kept]
            if gone:
                self._client.unsubscribe(gone)
                if self._driver is not None:
                    self._driver.flush()
        return found

    # -- life cycle -----------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(200)
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        if self._settings.mqtt_tls:
            ca = self._settings.mqtt_tls_ca
            client.tls_set(ca_certs=str(ca) if ca is not None else None)
        client.on_pre_connect = self._login
        if self._health:
            client.will_set(
                HEALTH.render(service=self.name),
                self._health_payload(HealthState.OFFLINE),
                qos=1,
                retain=True,
            )
        return client

    def _login(self, client: mqtt.Client, _userdata: object) -> None:
        """Before every connection attempt: a service started before the supervisor made its password logs in
        as soon as the file is there (until then the broker refuses its client id to an anonymous login)."""
        login = credentials(self._settings, self.name)
        if login is not None:
            client.username_pw_set(*login)

    def _health_payload(self, state: HealthState) -> str:
        return Health(state=state, version=VERSION, pid=os.getpid(), since=self._since).model_dump_json()

    async def start(self, timeout: float | None = None) -> None:
        """Connect; returns once connected (or at once with timeout=0: the client keeps trying)."""
        self._loop = asyncio.get_running_loop()
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name=f"bus-dispatch-{self.name}")
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S if self._persistent else 0
        self._client.connect_async(
            self._settings.mqtt_host,
            self._settings.mqtt_port,
            keepalive=15,
            clean_start=not self._persistent,
            properties=props,
        )
        self._driver = LoopDriver(self._client)
        self._driver.start()
        if timeout != 0:
            async with asyncio.timeout(timeout):
                await self._connected.wait()

    async def stop(self) -> None:
        """Publish `stopped` health, flush, disconnect."""
        if self._health and self._connected.is_set() and not await self._send_acked(
                HEALTH.render(service=self.name), self._health_payload(HealthState.STOPPED), retain=True,
                wait_s=STOPPED_WAIT_S):
            log.info("health not published on stop client=%s", self.client_id)  # the broker went first
        if self._driver is not None:
            await self._driver.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        for fut, _owner in self._pending.values():
            fut.cancel()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    # -- paho thread callbacks ------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if reason.is_failure:
            log.warning("bus connect refused client=%s reason=%s", self.client_id, reason)
            return
        filters = {sub.topic.filter for sub in self._subs} | {f for f, _ in self._watches}
        topics = [(f, 1) for f in sorted(filters)] + [(self._reply_filter, 1)]
        if self._driver is not None:
            self._driver.established()
        _rc, self._subscribe_mid = client.subscribe(topics)
        log.info("bus connected client=%s", self.client_id)

    def _on_subscribe(self, _c: mqtt.Client, _u: object, mid: int, _codes: object, _p: object) -> None:
        # connected means subscribed: a message published by anyone after start() returns reaches us
        if mid == self._subscribe_mid:
            self._subscribed()

    def _subscribed(self) -> None:
        self._connected.set()
        if self._health:
            # whoever sees `online` can already reach our handlers: the subscriptions are in place
            self._send(HEALTH.render(service=self.name), self._health_payload(HealthState.ONLINE), qos=1,
                       retain=True)
        for callback in self._on_connected:
            try:
                callback()
            except Exception:  # one owner failing to republish must not keep the others from it
                log.exception("republish after connect failed client=%s", self.client_id)

    def _send(self, path: str, payload: str | bytes, *, qos: int, retain: bool = False,
              request: str | None = None) -> None:
        """Every publish goes here, so that the broker's answer to it (a refusal) is matched to it.

        paho's callbacks run on this thread too (`mqtt_loop`), and a PUBACK is read only after publish() returns.
        A bus not started yet keeps QoS 1 messages in paho's queue until it connects.
        """
        self._publish(path, payload, qos, retain, request, None)

    async def _send_acked(self, path: str, payload: str | bytes, *, retain: bool, wait_s: float) -> bool:
        """A QoS 1 publish that returns once the broker has it (its PUBACK, taken or refused), or False after
        `wait_s` (no broker)."""
        assert self._loop is not None
        acked: asyncio.Future[None] = self._loop.create_future()
        self._publish(path, payload, 1, retain, None, acked)
        try:
            async with asyncio.timeout(wait_s):
                await acked
        except TimeoutError:
            return False
        return True

    def _publish(self, path: str, payload: str | bytes, qos: int, retain: bool, request: str | None,
                 acked: asyncio.Future[None] | None) -> None:
        info = self._client.publish(path, payload, qos=qos, retain=retain)
        if self._driver is not None:
            self._driver.flush()
        if qos > 0 and info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            # while disconnected paho keeps a QoS 1 message and sends it on reconnect: its PUBACK comes then
            self._in_flight[info.mid] = _Sent(path, request, acked)
        elif acked is not None:
            acked.set_result(None)  # a full queue was logged by paho: nobody waits for what will not come

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, reason: ReasonCode, _p: object) -> None:
        sent = self._in_flight.pop(mid, None)
        if sent is None:
            return
        if sent.acked is not None and not sent.acked.done():
            sent.acked.set_result(None)
        if reason.is_failure:
            self._refused(sent.path, sent.request, reason)

    def _refused(self, path: str, request: str | None, reason: ReasonCode) -> None:
        """The broker refused a publish (its ACL): a request fails at once instead of at its deadline."""
        if path not in self._refused_topics:  # once per topic: a refused writer must not flood the log
            self._refused_topics.add(path)
            log.error("the broker refused a publish client=%s topic=%s reason=%s (bus account %s)",
                      self.client_id, path, reason, self.name)
        pending = self._pending.get(request) if request is not None else None
        if pending is not None and not pending[0].done():
            pending[0].set_exception(BusError(
                ErrorCode.REJECTED, f"the broker refused {path}: {reason} (bus account {self.name!r}; "
                "the chargebus CLI needs the station's user to read its password)"))

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        log.info("bus disconnected client=%s reason=%s", self.client_id, reason)
        self._connected.clear()
        if self._driver is not None:
            self._driver.lost()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self._arrived(msg)

    # -- incoming (event loop) ------------------------------------------------------------------

    def _arrived(self, msg: mqtt.MQTTMessage) -> None:
        reply = replier(msg.topic, self.client_id)
        if reply is not None:
            self._resolve_reply(msg, *reply)
        else:
            self._queue.put_nowait(msg)

    def _resolve_reply(self, msg: mqtt.MQTTMessage, responder: str, request: str) -> None:
        pending = self._pending.get(request)
        if pending is None:
            log.debug("late or unknown reply dropped client=%s", self.client_id)
            return
        fut, owner = pending
        if responder != owner:
            # the broker lets only the owner write its reply topic; this catches an ACL that does not
            log.warning("reply from %s refused: the command belongs to %s client=%s", responder, owner,
                        self.client_id)
            return
        del self._pending[request]
        if not fut.done():
            try:
                fut.set_result((msg.payload, json.loads(msg.payload)))
            except ValueError as exc:
                fut.set_exception(BusError(ErrorCode.INTERNAL, f"reply is not JSON: {exc}"))

    async def _dispatch_loop(self) -> None:
        while True:
            msg = await self._queue.get()
            try:
                await self._dispatch(msg)
            except Exception:
                log.exception("handler failed topic=%s", msg.topic)
            del msg  # not kept until the next message arrives: it may be a megabyte

    def _drop(self, topic: str, why: str) -> None:
        self.dropped += 1
        log.warning("dropped invalid message topic=%s reason=%s", topic, why[:300])

    async def _dispatch(self, msg: mqtt.MQTTMessage) -> None:
        for topic_filter, watcher in self._watches:
            if mqtt.topic_matches_sub(topic_filter, msg.topic):
                await self._deliver_watch(msg, watcher)
        for sub in self._subs:
            params = sub.topic.match(msg.topic)
            if params is None:
                if sub.topic.kind is Kind.CMD and mqtt.topic_matches_sub(sub.topic.filter, msg.topic):
                    # nobody to answer: a caller of ours never sends it, so it says something is wrong
                    self._drop(msg.topic, "a request without a valid address <caller>/<request>/<deadline ms>")
                continue
            if not msg.payload and sub.topic.retain:
                continue  # a cleared retained message
            payload = self._decode(sub.topic.payload, msg, sub.topic.max_bytes)
            if sub.topic.kind is Kind.CMD:
                task = asyncio.create_task(self._answer(sub, msg, payload, params))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif payload is not None:
                await sub.handler(payload, params)

    async def _deliver_watch(self, msg: mqtt.MQTTMessage, watcher: WatchHandler) -> None:
        found = contract.find(msg.topic)
        if found is None:
            return
        declared, params = found
        if self._declared and not access.may_read(self.name, declared):
            return  # the broker's ACL keeps these from us; an open test broker does not
        payload = None if not msg.payload else self._decode(declared.payload, msg, declared.max_bytes)
        if payload is None and msg.payload:
            return
        await watcher(msg.topic, declared, payload, params)

    def _decode(self, model: type[M], msg: mqtt.MQTTMessage, limit: int = MAX_PAYLOAD) -> M | None:
        if len(msg.payload) > limit:
            self._drop(msg.topic, f"payload of {len(msg.payload)} bytes exceeds {limit}")
            return None
        try:
            return model.model_validate_json(msg.payload)
        except ValidationError as exc:
            self._drop(msg.topic, str(exc).replace("\n", " "))
            return None

    async def _answer(self, sub: _Subscription, msg: mqtt.MQTTMessage, request: BaseModel | None,
                      params: Params) -> None:
        address = Address.of(msg.topic)
        if address is None:  # matched as a request of sub.topic, so it has one
            return
        reply: Reply[Any]
        late = time.time() - address.deadline
        if late > 0:
            # the broker keeps a QoS 1 request for a service that is down, and paho keeps one published while the
            # broker is down: either can arrive long after its caller gave up
            log.warning("expired request refused topic=%s late_by=%.1fs", msg.topic, late)
            reply = Reply(ok=False, error=ErrorBody(code=ErrorCode.EXPIRED,
                                                     message=f"arrived {late:.1f} s after its deadline; not done"))
        elif request is None:
            reply = Reply(ok=False, error=ErrorBody(code=ErrorCode.BAD_REQUEST,
                                                     message=f"payload does not match {sub.topic.payload.__name__}"))
        else:
            _after_reply.set([])  # this task's own context: the handler's after_reply() calls land here
            try:
                result = await sub.handler(request, params)
                if sub.topic.reply is not None and not isinstance(result, sub.topic.reply):
                    raise TypeError(f"{sub.topic.path} handler returned {type(result).__name__}")
                reply = Reply(ok=True, result=result)
            except BusError as exc:
                reply = Reply(ok=False, error=ErrorBody(code=exc.code, message=exc.message))
            except Exception as exc:
                log.exception("command failed topic=%s", msg.topic)
                reply = Reply(ok=False, error=ErrorBody(code=ErrorCode.INTERNAL, message=repr(exc)[:300]))
        del request, msg  # a big command (a 9999-entry list) is not kept while its reply goes out
        actions = (_after_reply.get() or []) if reply.ok else []  # a refused command does nothing after
        # The reply goes under the owner's own name, whatever the caller wrote: nobody makes it write elsewhere.
        # At QoS 0: the caller is connected and waiting, and a reply lost with its link would reach it only if it
        # reconnected within its deadline. With actions after it, at QoS 1, so that they wait for the broker.
        topic = reply_topic(sub.topic.owner, address.caller, address.request)
        if actions:  # not sent (no broker): act all the same
            await self._send_acked(topic, reply.model_dump_json(), retain=False, wait_s=AFTER_REPLY_WAIT_S)
        else:
            self._send(topic, reply.model_dump_json(), qos=0)
        for action in actions:
            action()

    @staticmethod
    def after_reply(action: Callable[[], object]) -> None:
        """From a command handler: run `action` once the reply is with the broker, e.g. a restart of the
        caller itself, which must get its answer before it stops."""
        actions = _after_reply.get()
        if actions is None:
            raise RuntimeError("after_reply() is for a command handler, while it handles its command")
        actions.append(action)

    # -- outgoing -------------------------------------------------------------------------------

    def publish(self, topic: Topic[P, Any], payload: P, **params: object) -> None:
        """Publish a declared state/event/config message (queued by paho while disconnected)."""
        if topic.kind is Kind.CMD:
            raise ValueError(f"{topic.path} is a command: use request()")
        if not isinstance(payload, topic.payload):
            raise TypeError(f"{topic.path} carries {topic.payload.__name__}, not {type(payload).__name__}")
        self._require(access.may_publish(self.name, topic), topic, "does not own")
        self._send(topic.render(**params), payload.model_dump_json(), qos=topic.qos, retain=topic.retain)

    def clear(self, topic: Topic, **params: object) -> None:
        """Remove a retained message."""
        self._send(topic.render(**params), b"", qos=1, retain=True)

    async def request(self, topic: Topic[P, R], payload: P, timeout: float = DEFAULT_TIMEOUT_S,
                      **params: object) -> R:
        """Send a command and return the validated reply model; raises BusError (code `timeout` at the deadline).

        The deadline travels in the request's topic (`contract.Address`): a service that gets the request later,
        back from a restart, refuses it as `expired` instead of acting on what its caller has given up on.
        """
        if topic.kind is not Kind.CMD or topic.reply is None:
            raise ValueError(f"{topic.path} is not a command")
        if not isinstance(payload, topic.payload):
            raise TypeError(f"{topic.path} takes {topic.payload.__name__}, not {type(payload).__name__}")
        self._require(access.may_call(self.name, topic), topic, "is not a declared caller of")
        loop = asyncio.get_running_loop()
        if not self._connected.is_set():
            # sent now, it would wait in paho's queue and could go out on a reconnect before the reply topic is
            # subscribed again: the reply would be lost and the caller time out although the peer answered
            started = loop.time()
            try:
                async with asyncio.timeout(timeout):
                    await self._connected.wait()
            except TimeoutError:
                raise BusError(ErrorCode.TIMEOUT, f"no broker connection for {topic.path} within {timeout:g} s"
                               ) from None
            timeout = max(0.001, timeout - (loop.time() - started))
        address = Address(caller=self.client_id, request=os.urandom(8).hex(), deadline=time.time() + timeout)
        fut: asyncio.Future[tuple[bytes, Any]] = loop.create_future()
        self._pending[address.request] = (fut, topic.owner)
        self._send(topic.request_path(address, **params), payload.model_dump_json(), qos=topic.qos,
                   request=address.request)
        del payload  # sent: a big request (a 9999-entry list) is not held until the reply
        try:
            async with asyncio.timeout(timeout):
                _raw, body = await fut
        except TimeoutError:
            raise BusError(ErrorCode.TIMEOUT, f"no reply on {topic.path} within {timeout:g} s") from None
        finally:
            self._pending.pop(address.request, None)
        try:
            reply = _envelope(topic.reply).model_validate(body)
        except ValidationError as exc:
            raise BusError(ErrorCode.INTERNAL, f"malformed reply on {topic.path}: {exc}") from None
        if not reply.ok:
            err = reply.error or ErrorBody(code=ErrorCode.INTERNAL, message="error reply without error")
            raise BusError(err.code, err.message)
        return cast(R, reply.result)  # validated as Reply[topic.reply]: ok, so a result of that type


@functools.cache
def _envelope(model: type[R]) -> type[Reply[R]]:
    """`Reply[model]`, built once: pydantic's own lookup of a parametrised model costs a tenth of a round trip."""
    return Reply[model]  # type: ignore[valid-type]

"""The building blocks of the bus contract: topics as data, the reply envelope, error codes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

ROOT = "chargebus"


class Model(BaseModel):
    """Base of every bus payload: unknown fields are refused, so a typo never passes silently; NaN and
    Infinity are refused in every float (one stored Infinity would break every later read).

    Only keys are cached while JSON is read: caching values too kept ~10 MB of strings from one 9999-entry
    local list alive in auth for good; keys repeat, values rarely do."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, cache_strings="keys")


class Empty(Model):
    """A command or reply without fields."""


class Kind(StrEnum):
    HEALTH = "health"
    STATE = "state"
    EVENT = "event"
    CMD = "cmd"
    CONFIG = "config"


class ErrorCode(StrEnum):
    """Codes of `{ok: false, error: {code, message}}` replies."""

    BAD_REQUEST = "bad_request"  # payload failed validation
    NOT_SUPPORTED = "not_supported"  # understood, but this station cannot do it (permanent)
    REJECTED = "rejected"  # valid, refused in the current state (e.g. connector faulted)
    NOT_FOUND = "not_found"  # the named thing does not exist
    UNAVAILABLE = "unavailable"  # a dependency is down (e.g. CSMS offline); retryable
    TIMEOUT = "timeout"  # the caller's deadline passed (raised at the caller only)
    EXPIRED = "expired"  # the request arrived after its deadline: not carried out (the caller gave up)
    INTERNAL = "internal"  # a bug: logged with a traceback at the replier


RETRYABLE = frozenset({ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT})


class ErrorBody(Model):
    code: ErrorCode
    message: str


R = TypeVar("R", bound=BaseModel)


class Reply(BaseModel, Generic[R]):
    """The envelope of every command reply."""

    model_config = ConfigDict(extra="forbid")
    ok: bool
    result: R | None = None
    error: ErrorBody | None = None


_PARAM = re.compile(r"\{(\w+)\}")


P = TypeVar("P", bound=BaseModel)  # a topic's payload (R: a command's reply, as in Reply)


@dataclass(frozen=True)
class Topic(Generic[P, R]):
    """One topic of the contract.

    `path` may hold `{name}` placeholders (e.g. `{connector_id}`); they become `+` when
    subscribing and are handed to the handler as strings.

    `subscribers` are the accounts that read the topic, or for a command the accounts that call it: the bus
    refuses a service that watches, handles or requests a topic it is not declared on, and the broker's ACL is
    generated from the same declarations. A `private` topic (it carries full idTags or secrets) is readable by
    its owner and its declared subscribers only; every other state, event, health and config topic is public
    (any account, and anonymous watchers on loopback). A command is read by its owner alone.

    A request is published below its command's path, with its address as three more levels:
    `<path>/<caller's client id>/<request id>/<deadline, epoch ms>` (see `Address`). Its reply goes to
    `reply_topic(owner, caller, request id)`, which only the owner may write and only the caller may read. The
    address is in the topic, not in MQTT 5 properties: paho builds and parses properties in pure Python, and
    they cost more than the rest of a round trip.
    """

    path: str
    kind: Kind
    payload: type[P]
    owner: str
    doc: str
    reply: type[R] | None = None
    qos: int = 1
    retain: bool = False
    subscribers: tuple[str, ...] = ()
    private: bool = False
    example: dict[str, Any] | None = None
    max_bytes: int = 64 * 1024  # a payload above this is dropped unread (the broker allows up to 4 MiB)
    params: tuple[str, ...] = field(init=False)
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(_PARAM.findall(self.path)))
        object.__setattr__(self, "_regex", _compile(self.path))
        if self.kind is Kind.CMD and self.reply is None:
            raise ValueError(f"command topic {self.path} needs a reply model")
        if self.kind in (Kind.STATE, Kind.HEALTH, Kind.CONFIG) and not self.retain:
            raise ValueError(f"{self.kind} topic {self.path} must be retained")

    @property
    def filter(self) -> str:
        """The MQTT subscription filter (for a command: its requests, whoever asks)."""
        base = _PARAM.sub("+", self.path)
        return f"{base}/+/+/+" if self.kind is Kind.CMD else base

    def request_path(self, address: Address, **params: object) -> str:
        """The topic a request of this command is published on."""
        return f"{self.render(**params)}/{address.caller}/{address.request}/{round(address.deadline * 1000)}"

    def render(self, **params: object) -> str:
        missing = set(self.params) - set(params)
        if missing:
            raise ValueError(f"{self.path}: missing {sorted(missing)}")
        topic = self.path.format(**{k: str(v) for k, v in params.items()})
        for value in params.values():
            if any(c in str(value) for c in "/#+") or str(value) == "":
                raise ValueError(f"{self.path}: bad topic parameter {value!r}")
        return topic

    def match(self, topic: str) -> dict[str, str] | None:
        """The parameters of a concrete topic of this one (for a command, of a request of it), or None."""
        if self.kind is Kind.CMD:
            split = _split_request(topic)
            if split is None:
                return None
            topic = split[0]
        found = self._regex.match(topic)
        return found.groupdict() if found else None


def _compile(path: str) -> re.Pattern[str]:
    parts, pos = [], 0
    for found in _PARAM.finditer(path):
        parts.append(re.escape(path[pos : found.start()]))
        parts.append(f"(?P<{found.group(1)}>[^/#+]+)")
        pos = found.end()
    parts.append(re.escape(path[pos:]))
    return re.compile("^" + "".join(parts) + "$")


def health_topic(service: str) -> str:
    return f"{ROOT}/{service}/health"


REPLY_WORD = "reply"


@dataclass(frozen=True)
class Address:
    """Who asked a command and until when: the last three levels of its request's topic."""

    caller: str  # the caller's client id: the reply goes to `reply_topic(owner, caller, request)`
    request: str  # the caller's id of this request, so it knows what a reply answers
    deadline: float  # epoch seconds: after it the caller no longer waits, and the request is not carried out

    @classmethod
    def of(cls, topic: str) -> Address | None:
        """The address of a request topic, or None if it carries none."""
        split = _split_request(topic)
        return split[1] if split is not None else None


def _split_request(topic: str) -> tuple[str, Address] | None:
    parts = topic.rsplit("/", 3)
    if len(parts) != 4 or not parts[1] or not parts[2] or not parts[3].isdigit() or len(parts[3]) > 15:
        return None
    return parts[0], Address(caller=parts[1], request=parts[2], deadline=int(parts[3]) / 1000)


def reply_topic(owner: str, client_id: str, request: str) -> str:
    """Where `owner` answers the request `request` of the caller `client_id`: under the owner's name, so that
    only it may write there."""
    return f"{ROOT}/{owner}/{REPLY_WORD}/{client_id}/{request}"


def reply_filter(client_id: str) -> str:
    """Every reply addressed to `client_id`, whoever answers."""
    return reply_topic("+", client_id, "+")


def replier(topic: str, client_id: str) -> tuple[str, str] | None:
    """The account that wrote a reply topic addressed to `client_id` and the request it answers, or None if the
    topic is no such reply."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == ROOT and parts[2] == REPLY_WORD and parts[3] == client_id and parts[1] \
            and parts[4]:
        return parts[1], parts[4]
    return None

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
    (any account, and anonymous watchers on loopback). A command is read by its owner alone, and its reply goes
    to `reply_topic(owner, caller)`, which only the owner may write and only the caller may read.
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
        """The MQTT subscription filter."""
        return _PARAM.sub("+", self.path)

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


def reply_topic(owner: str, client_id: str) -> str:
    """Where `owner` answers the caller `client_id`: under the owner's name, so that only it may write there."""
    return f"{ROOT}/{owner}/{REPLY_WORD}/{client_id}"


def reply_filter(client_id: str) -> str:
    """Every reply addressed to `client_id`, whoever answers."""
    return f"{ROOT}/+/{REPLY_WORD}/{client_id}"


def replier(topic: str, client_id: str) -> str | None:
    """The account that wrote a reply topic addressed to `client_id`, or None if it is not one."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == ROOT and parts[2] == REPLY_WORD and parts[3] == client_id and parts[1]:
        return parts[1]
    return None

"""OCPP-J 1.6 framing and errors on top of the `ocpp` library's ChargePoint.

The library answers some cases in ways OCPP-J 1.6 does not (checked against ocpp 2.1.0):
- a 1.6 action without a handler gets `NotImplemented`, an unknown action `NotSupported`:
  OCPP-J 1.6 says the opposite (NotImplemented: unknown action; NotSupported: recognised, not supported);
- a missing required field is `ProtocolError`, an unknown field or a bad enum `FormatViolation`
  (not a 1.6 code: 1.6 spells it FormationViolation, and OccurenceConstraintViolation with one r);
- a frame that is not JSON or not an OCPP array is only logged, never answered;
- a CALLERROR whose code 1.6 does not define (e.g. `RpcFrameworkError` from a CSMS built for 2.x)
  raises a plain exception in `call()` that is no OCPPError.
So calls are classified and validated here, with the library's own 1.6 schemas (and its Decimal
parsing for the actions that carry charging profiles: 21.4 is a valid limit, 21.399999 is not),
before the library's router runs the handler; only a CALL is ever answered, a broken CALLRESULT or
CALLERROR is logged and dropped; an unknown CALLERROR code is read as GenericError. Everything else
(payload classes, serialisation, the call lock and response matching) is the library's.

A handler marked `@raw_call` takes the payload as received (camelCase) and returns the response payload:
for the one call that can be a megabyte (SendLocalList, 9999 entries), the library's jsonschema pass and
its recursive snake_case copy cost ~370 ms; the same 1.6 schema compiled by fastjsonschema checks it in
~15 ms, and jsonschema is asked only to name the error of a payload that failed. Such a frame is read by
`list_frames`, entry by entry, and reaches its handler checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import decimal
import json
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar

import fastjsonschema
import ocpp.messages
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, MessageType, get_validator, unpack
from ocpp.v16 import ChargePoint
from ocpp.v16.enums import Action

from services.common.lifecycle import cancel_and_wait, give_back_memory
from services.common.logs import log_context

from . import list_frames
from .list_frames import compiled_schema

log = logging.getLogger(__name__)

# validation is a few hundred microseconds: a hop to the executor thread per message costs more
ocpp.messages.ASYNC_VALIDATION = False

ACTIONS = frozenset(a.value for a in Action)
DECIMAL_ACTIONS = frozenset({"SetChargingProfile", "RemoteStartTransaction"})  # as the library validates them
RAW_ACTIONS = frozenset({list_frames.ACTION})  # answered by a @raw_call handler
CALL_ERROR_CODES = frozenset({
    "NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError", "FormationViolation",
    "PropertyConstraintViolation", "OccurenceConstraintViolation", "TypeConstraintViolation", "GenericError",
})

# jsonschema keyword → OCPP-J 1.6 error code
_BY_KEYWORD = {
    "required": "OccurenceConstraintViolation",
    "type": "TypeConstraintViolation",
    "additionalProperties": "FormationViolation",
    "enum": "PropertyConstraintViolation",
    "maxLength": "PropertyConstraintViolation",
    "minLength": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "pattern": "PropertyConstraintViolation",
    "multipleOf": "PropertyConstraintViolation",
    "minItems": "OccurenceConstraintViolation",
    "maxItems": "OccurenceConstraintViolation",
}


# calls whose answer cannot say no (UpdateFirmware.conf is empty, GetDiagnostics.conf only names a file): a
# dateTime that is no time at all is refused as the 1.6 schema's "format" says, before the handler reads it
FORMAT_CHECKED = frozenset({"UpdateFirmware", "GetDiagnostics"})
_DATE_TIME = FormatChecker(formats=())


@_DATE_TIME.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value)  # lenient as the contract reads it: without an offset is UTC
    return True


RawHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
_H = TypeVar("_H", bound=Callable[..., Awaitable[dict[str, Any]]])


def raw_call(action: Action) -> Callable[[_H], _H]:
    """Mark a handler that takes the CALL payload as received (checked against the 1.6 schema) and
    returns the CALLRESULT payload (checked too)."""
    def mark(handler: _H) -> _H:
        handler._raw_action = action.value  # type: ignore[attr-defined]
        return handler
    return mark


def warm_up() -> None:
    """Build the library's validators and our raw-call schemas once, in the launcher before it forks.

    The library caches one validator per action whatever its float parsing: these three it builds with Decimal
    (a limit of 21.4 must be a multiple of 0.1), so they are built the same way here."""
    decimal_ones = {(MessageType.Call, "SetChargingProfile"), (MessageType.Call, "RemoteStartTransaction"),
                    (MessageType.CallResult, "GetCompositeSchedule")}
    for action in Action:
        for kind in (MessageType.Call, MessageType.CallResult):
            parse = decimal.Decimal if (kind, action.value) in decimal_ones else float
            with contextlib.suppress(OSError, ValueError):  # an action without a schema of this kind
                get_validator(kind, action.value, "1.6", parse_float=parse)
    list_frames.warm_up()


class CallRefused(Exception):
    """Answer the call with this CALLERROR (code in the 1.6 spelling)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description[:255]


def route(action: str, payload: Any, handled: bool) -> None:
    """The checks that need no schema: a known action, one we handle, a payload that is an object."""
    if action not in ACTIONS:
        raise CallRefused("NotImplemented", f"unknown action {action!r}")
    if not handled:
        raise CallRefused("NotSupported", f"{action} is not supported by this charge point")
    if not isinstance(payload, dict):
        raise CallRefused("FormationViolation", "the payload is not a JSON object")


def schema_refusal(action: str, payload: Any) -> CallRefused | None:
    """The OCPP-J 1.6 CALLERROR for a payload that fails the 1.6 schema of its action, or None."""
    if action in DECIMAL_ACTIONS:
        validator = get_validator(MessageType.Call, action, "1.6", parse_float=decimal.Decimal)
        payload = json.loads(json.dumps(payload, default=str), parse_float=decimal.Decimal)
    else:
        validator = get_validator(MessageType.Call, action, "1.6")
    errors = sorted(validator.iter_errors(payload), key=_rank)
    if not errors:
        return None
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "payload"
    return CallRefused(_BY_KEYWORD.get(str(first.validator), "FormationViolation"), f"{where}: {first.message}")


def format_refusal(action: str, payload: Any) -> CallRefused | None:
    """PropertyConstraintViolation for a date-time field that does not parse, in the FORMAT_CHECKED calls."""
    if action not in FORMAT_CHECKED:
        return None
    schema = get_validator(MessageType.Call, action, "1.6").schema
    error = next((e for e in Draft4Validator(schema, format_checker=_DATE_TIME).iter_errors(payload)
                  if e.validator == "format"), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return CallRefused("PropertyConstraintViolation", f"{where}: {error.instance!r} is not a date-time")


def _rank(error: SchemaError) -> int:
    # report the structural problem first: a missing field explains more than a wrong type elsewhere
    order = ("additionalProperties", "required", "type")
    return order.index(str(error.validator)) if error.validator in order else len(order)


def message_id(raw: str | bytes) -> str | None:
    """The message id of a CALL that failed to parse, when one can be found, to answer it.

    Only a CALL (message type 2) is ever answered: a broken CALLRESULT or CALLERROR gets no reply.
    """
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if (isinstance(frame, list) and len(frame) >= 2 and frame[0] == MessageType.Call and type(frame[0]) is int
            and isinstance(frame[1], str) and 0 < len(frame[1]) <= 36):
        return frame[1]
    return None


def call_error(unique_id: str, code: str, description: str) -> str:
    return json.dumps([MessageType.CallError, unique_id, code, description, {}])


# what to do once the answer to the CALL being handled has been sent (None: no CALL is being handled)
_after_answer: ContextVar[list[Callable[[], object]] | None] = ContextVar("after_answer", default=None)


def after_answer(action: Callable[[], object]) -> bool:
    """Run `action` once the answer to the CSMS's CALL now being handled has gone out (a Reset, a reconnect
    for a changed key); False, and nothing done, outside the handling of a CALL."""
    actions = _after_answer.get()
    if actions is None:
        return False
    actions.append(action)
    return True


class StationProtocol(ChargePoint):
    """The library's ChargePoint with 1.6 classification of every incoming frame.

    Each CALL is answered in a task of its own: the task that reads the socket only routes, so the
    answers to our own calls keep arriving while a long call (a 1.2 MB SendLocalList) is worked on.
    """

    def __init__(self, cp_id: str, connection: Any, **kwargs: Any) -> None:
        super().__init__(cp_id, connection, **kwargs)
        self.socket = connection  # the WebSocket, read by `start` (the library's own reference is private)
        self._calls: set[asyncio.Task[None]] = set()
        self._held_until: asyncio.Event | None = None
        self._raw: dict[str, RawHandler] = {}
        for name in dir(type(self)):
            action = getattr(getattr(type(self), name), "_raw_action", None)
            if action is not None:
                self._raw[action] = getattr(self, name)

    async def start(self) -> None:
        """The library's reading loop, except that a frame is not kept until the next one arrives: a 1.2 MB
        SendLocalList would stay in memory until the next heartbeat."""
        while True:
            message = await self.socket.recv()
            self.logger.info("%s: receive message %s", self.id, message)
            await self.route_message(message)
            del message

    async def close(self) -> None:
        """The connection is gone: calls still being answered are cancelled."""
        await cancel_and_wait(*self._calls)

    def hold_calls_until(self, ready: asyncio.Event) -> None:
        """The CSMS's calls are answered once `ready` is set, in the order they came (`Link.ready`)."""
        self._held_until = ready

    def answering(self) -> bool:
        """False while the CSMS has Rejected our BootNotification: its calls are not answered (OCPP 1.6 §4.2)."""
        return True

    async def _refuse(self, msg: Call, refused: CallRefused) -> None:
        log.info("call refused action=%s id=%s %s: %s", msg.action, msg.unique_id, refused.code, refused.description)
        await self._send(call_error(msg.unique_id, refused.code, refused.description))

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            msg = list_frames.read(raw_msg) or unpack(raw_msg)
        except OCPPError as exc:
            unique_id = message_id(raw_msg)
            log.warning("bad frame id=%s: %s frame=%.200r", unique_id, exc, raw_msg)
            if unique_id is not None:
                code = "FormationViolation" if exc.code == "FormatViolation" else "ProtocolError"
                await self._send(call_error(unique_id, code, str(exc.description or "not an OCPP message")))
            return
        except Exception as exc:
            log.warning("unreadable frame: %s frame=%.200r", exc, raw_msg)
            return
        if isinstance(msg, Call):
            if not self.answering():
                log.info("registration rejected: call %s not answered", msg.action)
                return
            task = asyncio.create_task(self._answer(msg), name=f"call-{msg.action}")
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
        elif isinstance(msg, CallError):
            if msg.error_code not in CALL_ERROR_CODES:
                log.warning("CALLERROR id=%s with code %r, which OCPP 1.6 does not define: read as GenericError",
                            msg.unique_id, msg.error_code)
                msg.error_code = "GenericError"
            self._response_queue.put_nowait(msg)
        elif msg.message_type_id == MessageType.CallResult:
            self._response_queue.put_nowait(msg)

    async def _answer(self, msg: Call) -> None:
        if self._held_until is not None:
            await self._held_until.wait()  # an Event wakes its waiters in the order they came
        _after_answer.set([])  # this call's own task: what its handler asks for lands here
        with log_context(ocpp_message_id=msg.unique_id, ocpp_action=msg.action):
            await self._answer_in_context(msg)
            for action in _after_answer.get() or []:  # logged as part of the call they follow
                action()

    async def _answer_in_context(self, msg: Call) -> None:
        try:
            route(msg.action, msg.payload, msg.action in self.route_map or msg.action in self._raw)
        except CallRefused as not_routed:
            await self._refuse(msg, not_routed)
            return
        raw = self._raw.get(msg.action)
        if raw is not None:
            await self._answer_raw(msg, raw)
            return
        payload = msg.payload  # the library may re-parse it (Decimal) while validating
        unreadable = format_refusal(msg.action, payload)
        if unreadable is not None:
            await self._refuse(msg, unreadable)
            return
        try:
            await self._handle_call(msg)  # the library checks the request (once) and our response
        except OCPPError as exc:
            # what the library found, in the 1.6 spelling of our own table; a valid request that still
            # failed means our response broke its schema: our fault, not the CSMS's
            refused = schema_refusal(msg.action, payload)
            if refused is None:
                log.error("call failed action=%s id=%s: %s", msg.action, msg.unique_id, exc)
                refused = CallRefused("InternalError", f"{msg.action} could not be answered: {exc.code}")
            await self._refuse(msg, refused)
        except Exception as exc:  # a bug of ours must cost one answer, not the connection
            log.exception("call failed action=%s id=%s", msg.action, msg.unique_id)
            await self._refuse(msg, CallRefused("InternalError", f"{msg.action}: {type(exc).__name__}"))

    async def _answer_raw(self, msg: Call, handler: RawHandler) -> None:
        try:
            if not isinstance(msg, list_frames.CheckedCall):
                compiled_schema(msg.action, result=False)(msg.payload)
        except fastjsonschema.JsonSchemaException:
            refused = schema_refusal(msg.action, msg.payload)
            await self._refuse(msg, refused or CallRefused("FormationViolation", "the payload breaks the 1.6 schema"))
            return
        try:
            response = await handler(msg.payload)
            compiled_schema(msg.action, result=True)(response)
        except Exception as exc:  # a bug of ours must cost one answer, not the connection
            log.exception("call failed action=%s id=%s", msg.action, msg.unique_id)
            await self._refuse(msg, CallRefused("InternalError", f"{msg.action}: {type(exc).__name__}"))
            return
        await self._send(json.dumps([MessageType.CallResult, msg.unique_id, response], separators=(",", ":")))
        msg.payload = {}  # the megabyte list: gone before the heap is given back
        after_answer(give_back_memory)  # when nothing of this call is held any more

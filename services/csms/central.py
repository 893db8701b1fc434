"""The dev CSMS's side of one charge point's link: answers as a permissive Central System would.

Every card is Accepted, every transaction gets a new id, every frame is logged both ways as one line
(frames.py). After each BootNotification has been answered, the meter interval is set to a few seconds
(MeterValueSampleInterval in 1.6): the station's default of a minute shows no meter value in a short bench
session. `DevLink` is that behaviour for any OCPP version; this module is its 1.6 side, `central201` its 2.0.1 side.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import websockets
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, validate_payload
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    ConfigurationStatus,
)

from .frames import TO_CSMS, TO_STATION, FrameLog

log = logging.getLogger(__name__)

HEARTBEAT_S = 300
# a restarted dev CSMS must not hand out an id the station still holds for an open transaction
_transaction_ids = itertools.count(int(time.time()) % 1_000_000_000)


class CommandError(Exception):
    """A command the station could not be sent, or that it refused: `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DevLink:
    """What the dev CSMS does on any charge point's link, whatever its OCPP version: log each frame as one line,
    configure the station after each boot, send the commands of `chargebus csms send`.

    Mixed into the `ocpp` library's ChargePoint of the version (`calls`, `version` and `configure` say which)."""

    calls: ModuleType  # the library's `call` module of the version
    results: ModuleType  # and its `call_result` module
    version: str  # as the library's validator names it: "1.6", "2.0.1"
    id: str

    def __init__(self, cp_id: str, connection: Any, meter_interval_s: int, mask_tags: bool) -> None:
        super().__init__(cp_id, connection)  # type: ignore[call-arg]  # the library's ChargePoint, next in line
        self.link = connection
        self.frames = FrameLog(self.id, mask_tags)
        self.meter_interval_s = meter_interval_s
        self._boot_call: str | None = None
        self._booted = asyncio.Event()

    async def route_message(self, raw_msg: Any) -> None:
        log.info("%s", self.frames.line(str(raw_msg), TO_CSMS))
        await super().route_message(raw_msg)  # type: ignore[misc]

    async def _send(self, message: Any) -> None:
        log.info("%s", self.frames.line(str(message), TO_STATION))
        await super()._send(message)  # type: ignore[misc]
        if self._boot_call is not None and _answers(str(message), self._boot_call):
            self._boot_call = None
            self._booted.set()

    def booting(self, call_unique_id: str) -> None:
        """A BootNotification is being answered: configure the station once the answer is out."""
        self._boot_call = call_unique_id

    async def serve(self) -> None:
        """Read the link and configure the station after each boot, until the link closes."""
        async with asyncio.TaskGroup() as tasks:
            configure = tasks.create_task(self._configure_after_boots())
            try:
                await self.start()  # type: ignore[attr-defined]
            except websockets.ConnectionClosed as exc:
                log.info("cp=%s disconnected: %s", self.id, exc)
            finally:
                configure.cancel()

    async def _configure_after_boots(self) -> None:
        while True:
            await self._booted.wait()
            self._booted.clear()
            try:
                await self.configure()
            except TimeoutError:
                log.warning("cp=%s the meter interval was not answered", self.id)
            except websockets.ConnectionClosed:
                return  # the link's reader ends the session

    async def configure(self) -> None:
        """After each boot: a meter value every few seconds."""
        raise NotImplementedError

    async def command(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one CSMS-initiated call (camelCase payload, as on the wire); returns the station's answer."""
        request_class = getattr(self.calls, action, None)
        if request_class is None:
            raise CommandError("unknown_action", f"no OCPP {self.version} call {action!r}")
        try:
            await validate_payload(Call(unique_id="check", action=action, payload=payload), self.version)
        except OCPPError as exc:
            cause = exc.details.get("cause") if isinstance(exc.details, dict) else None
            raise CommandError("invalid_payload", f"{action}: {cause or exc.description}") from None
        try:
            result = await self.call(request_class(**camel_to_snake_case(payload)),  # type: ignore[attr-defined]
                                     suppress=False)
        except OCPPError as exc:
            raise CommandError("call_error", f"the station answered {exc.code}: {exc.description}") from None
        except TimeoutError:
            raise CommandError("timeout", f"the station did not answer {action}") from None
        except websockets.ConnectionClosed:
            raise CommandError("no_station", f"the station's link closed before it answered {action}") from None
        answer: dict[str, Any] = snake_to_camel_case(remove_nones(serialize_as_dict(result)))
        return answer

    # the station's messages that both versions have, with the same answer in both
    @on("BootNotification")
    def on_boot_notification(self, call_unique_id: str, **_payload: Any) -> Any:
        self.booting(call_unique_id)
        return self.results.BootNotification(current_time=now(), interval=HEARTBEAT_S, status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self) -> Any:
        return self.results.Heartbeat(current_time=now())

    @on("StatusNotification")
    def on_status_notification(self, **_payload: Any) -> Any:
        return self.results.StatusNotification()

    @on("MeterValues")
    def on_meter_values(self, **_payload: Any) -> Any:
        return self.results.MeterValues()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_payload: Any) -> Any:
        return self.results.FirmwareStatusNotification()

    @on("DataTransfer")
    def on_data_transfer(self, **_payload: Any) -> Any:
        return self.results.DataTransfer(status="UnknownVendorId")


class DevChargePoint(DevLink, ChargePoint):
    """One connected OCPP 1.6 station, seen from the dev CSMS."""

    calls = call
    results = call_result
    version = "1.6"

    async def configure(self) -> None:
        interval = str(self.meter_interval_s)
        result = await self.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value=interval))
        if result is None or result.status != ConfigurationStatus.accepted:
            log.warning("cp=%s MeterValueSampleInterval=%s not accepted: %s", self.id, interval, result)

    @on(Action.authorize)
    def on_authorize(self, **_payload: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=_accepted())

    @on(Action.start_transaction)
    def on_start_transaction(self, **_payload: Any) -> call_result.StartTransaction:
        return call_result.StartTransaction(transaction_id=next(_transaction_ids), id_tag_info=_accepted())

    @on(Action.stop_transaction)
    def on_stop_transaction(self, **payload: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction(id_tag_info=_accepted() if payload.get("id_tag") else None)

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, **_payload: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()


def _answers(message: str, call_id: str) -> bool:
    with contextlib.suppress(ValueError):
        frame = json.loads(message)
        return isinstance(frame, list) and len(frame) > 1 and frame[0] in (3, 4) and frame[1] == call_id
    return False


def _accepted() -> IdTagInfo:
    return IdTagInfo(status=AuthorizationStatus.accepted)


def now() -> str:
    return datetime.now(UTC).isoformat()

"""`chargebus csms send`: a CSMS command to the station, through the dev CSMS's loopback control socket.

One WebSocket on the dev CSMS's own port, path `/control`: the client sends one JSON object
`{"action", "payload", "cp"}` (the payload camelCase, as on the wire; `cp` may be null while one station
is connected) and gets `{"ok": true, "cp", "result"}` or `{"ok": false, "error": {"code", "message"}}`.
A handshake with an Origin header (a web page in a browser) is refused before it reaches this.
"""

from __future__ import annotations

import json
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

CONTROL_PATH = "/control"
# the CSMS-initiated calls of the six OCPP 1.6 feature profiles
PROFILES: dict[str, tuple[str, ...]] = {
    "Core": ("ChangeAvailability", "ChangeConfiguration", "ClearCache", "DataTransfer", "GetConfiguration",
             "RemoteStartTransaction", "RemoteStopTransaction", "Reset", "UnlockConnector"),
    "FirmwareManagement": ("GetDiagnostics", "UpdateFirmware"),
    "LocalAuthListManagement": ("GetLocalListVersion", "SendLocalList"),
    "Reservation": ("CancelReservation", "ReserveNow"),
    "SmartCharging": ("ClearChargingProfile", "GetCompositeSchedule", "SetChargingProfile"),
    "RemoteTrigger": ("TriggerMessage",),
}
# the CSMS-initiated calls of the OCPP 2.0.1 functional blocks the station's 2.0.1 side is to speak (issue 18)
BLOCKS_201: dict[str, tuple[str, ...]] = {
    "B Provisioning": ("GetBaseReport", "GetReport", "GetVariables", "Reset", "SetVariables"),
    "C/D Authorization": ("ClearCache", "GetLocalListVersion", "SendLocalList"),
    "F Remote control": ("RequestStartTransaction", "RequestStopTransaction", "TriggerMessage", "UnlockConnector"),
    "G Availability": ("ChangeAvailability",),
    "H Reservation": ("CancelReservation", "ReserveNow"),
    "K Smart charging": ("ClearChargingProfile", "GetChargingProfiles", "GetCompositeSchedule",
                         "SetChargingProfile"),
    "L Firmware": ("UpdateFirmware",),
    "N Diagnostics": ("GetLog",),
    "P DataTransfer": ("DataTransfer",),
}
# which of them a station takes depends on the version it speaks: the dev CSMS refuses one its version lacks
COMMANDS: tuple[str, ...] = tuple(sorted({a for table in (PROFILES, BLOCKS_201) for actions in table.values()
                                          for a in actions}))
# longer than the library's wait for the station's answer (30 s): the dev CSMS reports a timeout itself
REPLY_WAIT_S = 40.0


class ControlError(Exception):
    """The request could not be made or was refused: `code` says which (no_csms, no_station, call_error...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def request(action: str, payload: dict[str, Any], cp: str | None = None) -> str:
    return json.dumps({"action": action, "payload": payload, "cp": cp})


def parse_request(raw: str | bytes) -> tuple[str, dict[str, Any], str | None]:
    """The (action, payload, cp) of a control request; ControlError("bad_request") for anything else."""
    try:
        message = json.loads(raw)
    except ValueError:
        raise ControlError("bad_request", "not JSON") from None
    if not isinstance(message, dict):
        raise ControlError("bad_request", "not a JSON object")
    action, payload, cp = message.get("action"), message.get("payload", {}), message.get("cp")
    if action not in COMMANDS:
        raise ControlError("bad_request", f"unknown command {action!r}; known: {', '.join(COMMANDS)}")
    if not isinstance(payload, dict):
        raise ControlError("bad_request", "the payload is not a JSON object")
    if cp is not None and not isinstance(cp, str):
        raise ControlError("bad_request", "cp is not a string")
    return action, payload, cp


def reply_ok(cp: str, result: dict[str, Any]) -> str:
    return json.dumps({"ok": True, "cp": cp, "result": result})


def reply_error(code: str, message: str) -> str:
    return json.dumps({"ok": False, "error": {"code": code, "message": message}})


def send(port: int, action: str, payload: dict[str, Any], cp: str | None = None) -> tuple[str, dict[str, Any]]:
    """Have the dev CSMS on 127.0.0.1:`port` send `action`; returns (charge point, its answer)."""
    url = f"ws://127.0.0.1:{port}{CONTROL_PATH}"
    try:
        with connect(url, open_timeout=5, close_timeout=1) as link:
            link.send(request(action, payload, cp))
            raw = link.recv(timeout=REPLY_WAIT_S)
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise ControlError("no_csms", f"no dev CSMS at {url}: {exc}") from None
    try:
        reply = json.loads(raw)
        if not reply["ok"]:
            raise ControlError(str(reply["error"]["code"]), str(reply["error"]["message"]))
        return str(reply["cp"]), dict(reply["result"])
    except (ValueError, TypeError, KeyError):
        # something else listens on the port (a CSMS of one's own): say so rather than fail on its answer
        raise ControlError("no_csms", f"what answers at {url} is not the dev CSMS: {str(raw)[:100]!r}") from None

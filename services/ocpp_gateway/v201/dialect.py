"""The CSMS link in OCPP 2.0.1: subprotocol `ocpp2.0.1`, its settings as device model variables, its
BootNotification (with the reason of the boot) and Heartbeat. The link itself is the 1.6 one (`link.py`):
registration, Pending and Rejected, heartbeats in idle time, reconnecting, security profiles 1-3.

A new BasicAuthPassword (SetVariables, A01) is used from the next connection, which is opened at once once the
answer is out; 2.0.1 has no profile 0, so no password raises the profile.
"""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call
from ocpp.v201.datatypes import ChargingStationType

from services.common.settings import Settings
from services.common.version import VERSION

from ..link import MODEL, Dialect, serial_number
from .variables import OCPP_COMM, SECURITY


def _boot(settings: Settings, reason: str) -> Any:
    return call.BootNotification(charging_station=ChargingStationType(
        vendor_name="chargebus", model=MODEL, serial_number=serial_number(settings), firmware_version=VERSION),
        reason=reason)


OCPP201 = Dialect(
    subprotocol="ocpp2.0.1", heartbeat=f"{OCPP_COMM}.HeartbeatInterval", ping=f"{OCPP_COMM}.WebSocketPingInterval",
    password=f"{SECURITY}.BasicAuthPassword", profile=f"{SECURITY}.SecurityProfile", boot=_boot,
    heartbeat_call=call.Heartbeat, profile_follows_password=False,
    set_password_hint="SetVariables SecurityCtrlr.BasicAuthPassword from the CSMS")

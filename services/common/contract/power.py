"""Power controller topics: what the connector's hardware does, measurements, the card reader, and the commands
that drive the DC module."""

from __future__ import annotations

from datetime import datetime
from typing import Never

from pydantic import Field

from .auth import IdToken
from .base import Kind, Model, Topic


class ConnectorState(Model):
    """What the hardware of a connector does and may do: facts, not a protocol's status (the gateway works that
    out, with the session, reservation and availability it owns)."""

    connector_id: int = Field(ge=1)
    plugged: bool = Field(description="EV cable plugged in (control pilot state B or C).")
    energized: bool = Field(description="The DC output is enabled for a session.")
    delivering: bool = Field(False, description="Current flows: the station offers some and the EV takes it.")
    held_back: bool = Field(False, description="Energized, but the station offers no current (a limit of 0 A, or "
                            "the session suspended).")
    awaiting_unplug: bool = Field(False, description="The output was switched off at the end of a charge and the "
                                  "EV is still plugged in.")
    fault: str | None = Field(None, max_length=50, description="Why the connector cannot be used: a fault bit of the "
                              "DC module (`hardware.HardwareFault`) or a `hardware.Condition`; none: no fault.")
    blocked_by: str | None = Field(None, max_length=50, description="A service the station needs for a new charge "
                                   "is down (a running charge goes on).")
    suspended: bool = Field(False, description="The session is kept but no current is delivered.")
    limit_a: float = Field(ge=0, description="Current limit in force (smart charging and maintenance caps).")
    cap_a: float | None = Field(None, ge=0, description="The maintenance cap (cmd/set_limit), kept across restarts.")
    cap_fail_closed: str | None = Field(
        None, max_length=200, description="Set when `cap_a` is the safe cap power applies because the kept caps "
        "(`<data_dir>/power_caps.json`) could not be read: why. Until a cap is set or cleared (cmd/set_limit).")
    setpoint_a: float = Field(ge=0, description="Current set-point sent to the DC module.")
    since: datetime = Field(description="When one of the facts above last changed (limits and set-point aside), UTC.")


class Measurement(Model):
    connector_id: int = Field(ge=1)
    timestamp: datetime
    boot_id: str = Field(min_length=1, max_length=64, description="This run of the power process.")
    sequence: int = Field(ge=0, description="Grows by one per measurement within a boot: the order readings were "
                          "taken in, whatever the wall clock says.")
    voltage_v: float
    current_a: float = Field(description="DC current delivered to the EV.")
    power_w: float
    energy_wh: float = Field(ge=0, description="The DC meter's own counter (may restart from 0 with the meter).")
    temperature_c: float
    soc_pct: float | None = Field(None, ge=0, le=100, description="EV state of charge, when the EV reports it.")
    ev_request_a: float = Field(ge=0, description="Current the EV asks for.")
    offered_current_a: float = Field(ge=0, description="Current offered to the EV (the set-point).")
    offered_power_w: float = Field(ge=0)


class RfidSwiped(Model):
    token: IdToken = Field(description="The card the reader read.")


class ConnectorRequest(Model):
    connector_id: int = Field(1, ge=1)


class EnergizeRequest(Model):
    connector_id: int = Field(1, ge=1)
    session_id: str = Field(min_length=1, max_length=64,
                            description="The gateway's persisted session the output is energized for.")


class SuspendRequest(Model):
    connector_id: int = Field(1, ge=1)
    suspended: bool = Field(description="True: keep the session but deliver no current.")


class SetLimitRequest(Model):
    connector_id: int = Field(1, ge=1)
    current_a: float | None = Field(ge=0, le=10000, description="Maintenance cap, kept until cleared (null); the "
                                    "smart charging limit also applies: the lower wins.")


_STATE_EXAMPLE = {
    "connector_id": 1, "plugged": True, "energized": True, "delivering": True, "held_back": False,
    "awaiting_unplug": False, "fault": None, "blocked_by": None, "suspended": False,
    "limit_a": 500.0, "setpoint_a": 200.0, "since": "2026-11-24T22:00:00Z",
}

CONNECTOR: Topic[ConnectorState, Never] = Topic(
    "chargebus/power/state/connector/{connector_id}", Kind.STATE, ConnectorState, owner="power", retain=True,
    subscribers=("ocpp_gateway", "api", "cli"),
    doc="What the connector's hardware does, published on every change.", example=_STATE_EXAMPLE,
)
MEASUREMENT: Topic[Measurement, Never] = Topic(
    "chargebus/power/state/measurement/{connector_id}", Kind.STATE, Measurement, owner="power", retain=True,
    qos=0, subscribers=("metering", "ocpp_gateway", "api", "cli"),
    doc="Latest DC measurements, about once a second and on every significant change.",
    example={"connector_id": 1, "timestamp": "2026-11-24T22:00:00Z", "boot_id": "7f3c2a", "sequence": 1042,
             "voltage_v": 400.0, "current_a": 200.0,
             "power_w": 80000.0, "energy_wh": 1234.5, "temperature_c": 35.0, "soc_pct": 42.0,
             "ev_request_a": 200.0, "offered_current_a": 200.0, "offered_power_w": 80000.0},
)
RFID_SWIPED: Topic[RfidSwiped, Never] = Topic(
    "chargebus/power/event/rfid_swiped", Kind.EVENT, RfidSwiped, owner="power",
    private=True, subscribers=("ocpp_gateway", "api"), doc="A card was presented at the reader.",
    example={"token": {"value": "04A2B3C4", "type": "iso14443"}},
)
ENERGIZE = Topic(
    "chargebus/power/cmd/energize", Kind.CMD, EnergizeRequest, reply=ConnectorState, owner="power",
    subscribers=("ocpp_gateway",),
    doc="Enable the DC output for the gateway's persisted session `session_id`. `rejected` when unplugged, "
    "faulted or inoperative.",
    example={"connector_id": 1, "session_id": "s-1"},
)
SUSPEND = Topic(
    "chargebus/power/cmd/suspend", Kind.CMD, SuspendRequest, reply=ConnectorState, owner="power",
    subscribers=("ocpp_gateway",),
    doc="Keep the session and the contactors but deliver no current, or resume. Used when the CSMS refuses the "
    "token of a running session and the session is to be kept open.",
    example={"connector_id": 1, "suspended": True},
)
DEENERGIZE = Topic(
    "chargebus/power/cmd/deenergize", Kind.CMD, ConnectorRequest, reply=ConnectorState, owner="power",
    subscribers=("ocpp_gateway",), doc="Ramp the current to 0 and open the contactors; `awaiting_unplug` "
    "while the EV stays plugged.", example={"connector_id": 1},
)
SET_LIMIT = Topic(
    "chargebus/power/cmd/set_limit", Kind.CMD, SetLimitRequest, reply=ConnectorState, owner="power",
    subscribers=("cli",), doc="Maintenance current cap (the smart charging limit applies as well, the lower "
    "wins); null clears it. Kept in `<data_dir>/power_caps.json` across restarts.",
    example={"connector_id": 1, "current_a": 100.0},
)
GET_STATE = Topic(
    "chargebus/power/cmd/get_state", Kind.CMD, ConnectorRequest, reply=ConnectorState, owner="power",
    subscribers=("ocpp_gateway",),
    doc="The connector state as the running power process sees it now (never a stale retained copy): "
    "after its own restart the gateway uses it to tell a power loss (not energized) from a crash of "
    "its own (the charge went on).",
    example={"connector_id": 1},
)

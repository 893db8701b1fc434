"""Simulator settings (env prefix `CHARGEBUS_SIM_`): the EV and battery the bench pretends to charge."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHARGEBUS_SIM_", extra="ignore", frozen=True)

    battery_kwh: float = Field(60.0, gt=0, description="Usable battery capacity of the simulated EV.")
    soc_pct: float = Field(40.0, ge=0, le=100, description="State of charge of the EV at start.")
    max_current_a: float = Field(200.0, ge=0, le=1000, description="Current a plugged EV asks for.")
    target_voltage_v: float = Field(450.0, gt=0, le=1000, description="Battery target voltage the EV asks for.")
    time_factor: float = Field(
        1.0, gt=0, le=10_000, description="SoC rises this many times faster than the energy delivered allows."
    )
    heartbeat_timeout_s: float = Field(
        3.0, gt=0, le=60, description="The module opens its output when the controller is silent this long."
    )
    allow_socketcan: bool = Field(
        False, description="Let the simulator open a SocketCAN interface. Off: on a station it would send module, "
        "EV and meter frames next to the real devices. A bench with a vcan interface sets it."
    )

"""What the station is made of, declared once: its connectors and the hardware faults its devices report."""

from __future__ import annotations

from enum import StrEnum

CONNECTORS: tuple[int, ...] = (1,)  # PICS HFS-8: one fixed CCS cable; connector 0 is the station itself
RATED_CURRENT_A = 500.0  # the 200 kW DC module: 500 A, 1000 V (it limits its own power above 400 V)
RATED_VOLTAGE_V = 1000.0


class HardwareFault(StrEnum):
    """Fault bits of the DC module's status frame (`proto/can/chargebus.dbc`); the value is the vendor error code."""

    GROUND_FAILURE = "ground_failure"
    HIGH_TEMPERATURE = "high_temperature"
    OVER_CURRENT = "over_current"
    OVER_VOLTAGE = "over_voltage"
    UNDER_VOLTAGE = "under_voltage"
    POWER_METER = "power_meter"
    POWER_SWITCH = "power_switch"
    CONNECTOR_LOCK = "connector_lock"
    EV_COMMUNICATION = "ev_communication"
    READER = "reader"
    INTERNAL = "internal"


EMERGENCY_STOP = "emergency_stop"  # vendor error code of a connector Faulted by the emergency-stop input

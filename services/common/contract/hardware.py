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


class Condition(StrEnum):
    """What keeps a connector from charging besides a fault bit; with the fault bits, the `fault` power reports."""

    EMERGENCY_STOP = "emergency_stop"  # the emergency-stop input is pressed
    MODULE_STARTING = "module_starting"  # just started, the DC module not heard yet: not a fault yet
    MODULE_SILENT = "module_silent"  # the DC module stopped sending
    EV_SILENT = "ev_silent"  # the EV link stopped sending
    IO_SILENT = "io_silent"  # the safety inputs went quiet: an emergency stop could not be seen

"""The charge point the Central System talks to: the actions of each supported profile, assembled.

A profile's handlers live in `actions/<profile>.py`; an action without a handler is answered
NotSupported (a 1.6 action) or NotImplemented (an unknown one) by `protocol.route`.
"""

from __future__ import annotations

from .actions.core import CoreActions
from .actions.firmware import FirmwareActions
from .actions.local_list import LocalListActions
from .actions.reservation import ReservationActions
from .actions.smart_charging import SmartChargingActions
from .actions.trigger import TriggerActions


class ChargePoint(CoreActions, LocalListActions, ReservationActions, TriggerActions, SmartChargingActions,
                  FirmwareActions):
    """One instance per WebSocket connection; the state it works on (`Station`) outlives it."""

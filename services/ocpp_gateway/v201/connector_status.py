"""OCPP 2.0.1 StatusNotification (G01): a connector's status, from the one the gateway works out for it
(`connector_status.work_out`, the 1.6 table over power's facts and what the gateway owns).

2.0.1 keeps five statuses: the ones of a session (Preparing, Charging, SuspendedEV, SuspendedEVSE, Finishing)
are one, Occupied; what the session does is told in its TransactionEvents. The error code goes into
NotifyEvent in 2.0.1, not here. Each of the station's connectors is connector 1 of an EVSE of its number; the
station as a whole (connector 0) has no StatusNotification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp.v16.enums import ChargePointStatus as Status16
from ocpp.v201 import call
from ocpp.v201.enums import ConnectorStatusEnumType as Status

from services.common.contract.hardware import CONNECTORS

from ..connector_status import Value
from ..status import Notifier

STATUSES = {Status16.available: Status.available, Status16.preparing: Status.occupied,
            Status16.charging: Status.occupied, Status16.suspended_ev: Status.occupied,
            Status16.suspended_evse: Status.occupied, Status16.finishing: Status.occupied,
            Status16.reserved: Status.reserved, Status16.unavailable: Status.unavailable,
            Status16.faulted: Status.faulted}


def connector_of(evse: dict[str, Any] | None) -> int | None:
    """The station's connector an EVSE (and connector) of a request names, 0 for the station (no EVSE), None for
    one it does not have."""
    if evse is None:
        return 0
    connector = evse.get("id")
    return connector if connector in CONNECTORS and evse.get("connector_id", 1) == 1 else None


def connector_status(value: Value) -> Status:
    return STATUSES[Status16(value[0])]


def status_notification(evse_id: int, connector_id: int, value: Value, at: datetime) -> dict[str, Any]:
    """The payload of one StatusNotification (the `ocpp` library's snake_case)."""
    return {"timestamp": at.isoformat(), "connector_status": connector_status(value), "evse_id": evse_id,
            "connector_id": connector_id}


def _request(connector: int, value: Value, at: datetime) -> Any:
    if connector == 0:
        return None
    return call.StatusNotification(**status_notification(connector, 1, value, at))


OCPP201 = Notifier(project=lambda value: (connector_status(value).value, "", None), request=_request, conflicts=False)

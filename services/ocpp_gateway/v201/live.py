"""The device model's live variables (`Var.live`): what the station knows now, answered from where it is kept.

The availability and the connector statuses are the gateway's own; the local list's size is auth's and an
EVSE's power is power's, from their retained states; the number of charging profiles is smart_charging's,
asked before it is read; the security profile follows the station's settings.
None of them is stored in the device model: a stored copy would be stale the moment it was read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from services.common.bus import Bus, BusError
from services.common.contract import auth, power, smart_charging
from services.common.contract.auth import LocalListState
from services.common.contract.base import Empty
from services.common.contract.hardware import CONNECTORS
from services.common.contract.power import Measurement
from services.common.contract.smart_charging import InstalledProfiles
from services.common.settings import Settings

from ..limits import REQUEST_TIMEOUT_S
from ..status import StatusReporter
from .connector_status import connector_status
from .variables import Var


def security_profile(settings: Settings) -> int:
    """The 2.0.1 security profile the station's settings make: 3 with a client certificate over TLS, 2 over TLS,
    else 1 (basic authentication once the CSMS has set BasicAuthPassword; 2.0.1 has no profile 0)."""
    if not settings.ocpp_url.startswith("wss://"):
        return 1
    return 3 if settings.csms_client_cert is not None and settings.csms_client_key is not None else 2


log = logging.getLogger(__name__)


class LiveValues:
    """`__call__(var)` is the device model's `live`; the parts it reads are set once the gateway has them."""

    def __init__(self, bus: Bus, settings: Settings, operative: Callable[[int], bool]) -> None:
        self.identity = settings.charge_point_id
        self.message_timeout_s = settings.ocpp_response_timeout_s
        self.profile = security_profile(settings)
        self.operative = operative
        self.status: StatusReporter | None = None
        self.charging_profiles = 0  # smart_charging's installed profiles, as last counted (`refresh`)
        self._bus = bus
        self._list_size = 0
        self._power_w: dict[int, float] = {}
        bus.follow(auth.LOCAL_LIST, self._on_list)
        bus.follow(power.MEASUREMENT, self._on_measurement)

    async def _on_list(self, state: LocalListState | None, _p: dict[str, str]) -> None:
        self._list_size = state.size if state is not None else 0

    async def _on_measurement(self, measured: Measurement | None, _p: dict[str, str]) -> None:
        if measured is not None:
            self._power_w[measured.connector_id] = measured.power_w

    async def refresh(self, components: set[str] | None) -> None:
        """Before the values of these components (None: all) are read: count what is counted elsewhere. The number
        of charging profiles is smart_charging's, asked now (it changes with every profile set, cleared, or
        ended with its transaction); when it does not answer, the last count stands."""
        if components is not None and "smartchargingctrlr" not in components:
            return
        try:
            installed: InstalledProfiles = await self._bus.request(smart_charging.LIST_PROFILES, Empty(),
                                                                   timeout=REQUEST_TIMEOUT_S)
        except BusError as exc:
            log.warning("charging profiles not counted: %s", exc)
            return
        self.charging_profiles = len(installed.profiles)

    def __call__(self, var: Var) -> str:
        name, component = var.name, var.component
        if component == "LocalAuthListCtrlr":
            return str(self._list_size)
        if component == "SmartChargingCtrlr":
            return str(self.charging_profiles)
        if name == "SecurityProfile":
            return str(self.profile)
        if name == "Identity":
            return self.identity
        if name == "MessageTimeout":
            return str(round(self.message_timeout_s))
        if name == "CertificateEntries":
            return "0"  # no certificate is installed through OCPP: the CA bundle is the station's file
        if name == "DateTime":
            return datetime.now(UTC).isoformat()
        connector = var.evse or 0
        if name == "Power":
            return f"{self._power_w.get(connector, 0.0):.1f}"
        if name == "Available":
            return "true" if self.operative(connector) else "false"
        return self._availability(connector)

    def _availability(self, connector: int) -> str:
        if connector == 0:
            return "Available" if self.operative(0) else "Unavailable"
        reported = self.status.current.get(connector) if self.status is not None else None
        if reported is not None:
            return connector_status(reported.value).value
        return "Available" if self.operative(connector) and connector in CONNECTORS else "Unavailable"

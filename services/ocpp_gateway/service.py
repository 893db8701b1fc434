"""Life cycle and wiring only."""

from __future__ import annotations

from services.common.lifecycle import Service


class OcppGatewayService(Service):
    name = "ocpp_gateway"

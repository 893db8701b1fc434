"""Life cycle and wiring only."""

from __future__ import annotations

from services.common.lifecycle import Service


class ApiService(Service):
    name = "api"

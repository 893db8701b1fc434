"""Life cycle and wiring only."""

from __future__ import annotations

from services.common.lifecycle import Service


class AuthService(Service):
    name = "auth"

"""The api service: uvicorn serving the maintenance API inside the service's own event loop."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Iterator

import uvicorn

from services.common.lifecycle import Service
from services.common.settings import Settings, SettingsError

from .app import build_app
from .view import StationView

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn would take SIGTERM/SIGINT for itself; the service life cycle owns them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiService(Service):
    name = "api"

    async def setup(self) -> None:
        self.view = StationView()
        self.bus.watch("chargebus/#", self.view.seen)

    async def run(self) -> None:
        settings = self.settings
        if (settings.api_tls_cert is None) != (settings.api_tls_key is None):
            raise SettingsError("chargebus: bad setting CHARGEBUS_API_TLS_KEY: api_tls_cert and api_tls_key go "
                                "together")
        app = build_app(self.view, self.bus, settings)
        config = uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level="warning",
                                lifespan="off", ssl_certfile=settings.api_tls_cert, ssl_keyfile=settings.api_tls_key)
        server = _Server(config)
        scheme = "https" if settings.api_tls_cert else "http"
        log.info("api listening on %s://%s:%d", scheme, settings.api_host, settings.api_port)
        if scheme == "http" and not _loopback(settings):
            log.warning("api serves plain HTTP beyond loopback host=%s port=%d: the login and the token cross the "
                        "network in clear; set api_tls_cert and api_tls_key for HTTPS", settings.api_host,
                        settings.api_port)
        await server.serve()


def _loopback(settings: Settings) -> bool:
    if settings.api_host == "localhost":
        return True
    try:
        return ipaddress.ip_address(settings.api_host).is_loopback
    except ValueError:  # a host name: where it points is the network's business
        return False

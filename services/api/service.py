"""The api service: uvicorn serving the maintenance API inside the service's own event loop."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from services.common.lifecycle import Service

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
        app = build_app(self.view, self.bus, self.settings)
        config = uvicorn.Config(app, host=self.settings.api_host, port=self.settings.api_port,
                                log_level="warning", lifespan="off")
        server = _Server(config)
        log.info("api listening on http://%s:%d", self.settings.api_host, self.settings.api_port)
        await server.serve()

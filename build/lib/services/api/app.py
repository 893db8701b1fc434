"""HTTP routes of the local maintenance API and the status page."""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from services.common.version import VERSION

from .view import StationView


def build_app(view: StationView) -> FastAPI:
    app = FastAPI(title="chargebus maintenance API", version=VERSION)

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        """Health of every service as last seen on the bus (`offline` comes from the MQTT Last Will)."""
        return view.health()

    @app.get("/api/status")
    async def status() -> dict[str, Any]:
        """Every retained state: connector, measurement, transaction, connection, limits, processes."""
        return view.states()

    @app.get("/api/config")
    async def config() -> dict[str, Any]:
        """The OCPP configuration keys as the gateway publishes them."""
        return view.config()

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(h['state'])}</td><td>{h['pid']}</td>"
                       f"<td>{html.escape(h['since'])}</td></tr>" for name, h in view.health().items())
        states = "".join(f"<h3>{html.escape(t)}</h3><pre>{html.escape(json.dumps(v, indent=1))}</pre>"
                         for t, v in view.states().items() if not t.endswith("/processes"))
        return ("<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='2'>"
                f"<title>chargebus</title></head><body><h1>chargebus {html.escape(VERSION)}</h1>"
                "<table border='1'><tr><th>service</th><th>state</th><th>pid</th><th>since</th></tr>"
                f"{rows}</table>{states}</body></html>")

    return app

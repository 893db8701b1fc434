"""How the api listens: HTTPS as a setting, and a warning when it is plain HTTP beyond loopback."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import httpx
import pytest

from services.common.settings import Settings
from tests.broker import free_port
from tests.conftest import TEST_API_TOKEN
from tests.pki import Pki
from tests.service.api.running import serving

PLAIN_HTTP = "api serves plain HTTP beyond loopback"


async def test_https_with_a_secure_cookie(settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
                                          ) -> None:
    pki = Pki(tmp_path / "pki")
    cert, key = pki.issue("station", server=True)
    https = settings.model_copy(update={"api_tls_cert": cert, "api_tls_key": key, "api_host": "0.0.0.0"})
    trust = ssl.create_default_context(cafile=pki.ca_path)
    caplog.set_level(logging.INFO, logger="services.api")
    async with serving(https, scheme="https", verify=trust) as base:
        async with httpx.AsyncClient(base_url=base, verify=trust) as client:
            login = await client.post("/api/login", json={"token": TEST_API_TOKEN})
            assert login.status_code == 204
            cookie = login.headers["set-cookie"]
            assert {"secure", "httponly"} <= {part.strip().lower() for part in cookie.split(";")}
        async with httpx.AsyncClient() as plain:
            with pytest.raises(httpx.TransportError):  # no plain HTTP beside it
                await plain.get(f"http://127.0.0.1:{https.api_port}/api/health")
    listening = [r.getMessage() for r in caplog.records if "api listening" in r.getMessage()]
    assert listening == [f"api listening on https://0.0.0.0:{https.api_port}"]
    assert not [r for r in caplog.records if PLAIN_HTTP in r.getMessage()]  # on all interfaces, but HTTPS


async def test_plain_http_on_every_interface_is_a_warning(settings: Settings, caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    caplog.set_level(logging.INFO, logger="services.api")
    async with serving(settings):  # loopback, as the tests run it
        pass
    assert any("api listening on http://127.0.0.1" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if PLAIN_HTTP in r.getMessage()]

    caplog.clear()
    async with serving(settings.model_copy(update={"api_host": "0.0.0.0", "api_port": free_port()})):
        pass
    warnings = [r for r in caplog.records if PLAIN_HTTP in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING

"""The status page in a real browser (Debian's Chromium, headless, through its chromedriver), and the
maintenance API's actions against a running station."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By

from tests.conftest import TEST_API_TOKEN
from tests.system.station import Station, charging

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=412,915"):  # a phone's screen
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


async def _until(driver: webdriver.Chrome, script: str, what: str, timeout: float = 20.0) -> Any:
    """Poll a JavaScript expression in the page until it is truthy (the browser runs on its own; only the
    checks wait)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await asyncio.to_thread(driver.execute_script, f"return {script};")
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the page never showed {what} (last: {value!r})")
        await asyncio.sleep(0.1)


def _status(connector: int = 1) -> str:
    return f"document.getElementById('connector-{connector}')?.dataset.status"


async def test_the_page_follows_the_station_live_without_a_reload(station: Station,
                                                                    browser: webdriver.Chrome) -> None:
    base = f"http://127.0.0.1:{station.settings.api_port}"
    await asyncio.to_thread(browser.get, f"{base}/")
    assert browser.title == "chargebus"
    await _until(browser, f"{_status()} === 'Available'", "connector 1 Available")
    browser.execute_script("window.loadedOnce = true;")  # gone if the page reloaded
    assert "CB0000001" in browser.find_element(By.ID, "station").text

    await station.accepted()
    await station.plug()
    await _until(browser, f"{_status()} === 'Preparing'", "Preparing after the plug")
    await station.swipe("04A2B3C4D5")
    await _until(browser, f"{_status()} === 'Charging'", "Charging after the card")
    await _until(browser, "document.getElementById('plot-note').textContent.startsWith('power ')",
                 "the session's power plot")
    assert browser.execute_script("return window.loadedOnce === true;"), "the page was reloaded"

    connector = browser.find_element(By.ID, "connector-1").text
    assert "04**D5" in connector and "04A2B3C4D5" not in browser.page_source  # personal data: masked
    events = browser.find_element(By.ID, "events").text
    assert "connector 1: Preparing" in events and "connector 1: Charging" in events
    services = browser.find_element(By.ID, "services").text
    assert "metering" in services and "online" in services
    assert "connected" in browser.find_element(By.ID, "csms").text

    # the token holder logs in (the token in a POST body, never in the URL) and sees the card in full
    status = await asyncio.to_thread(browser.execute_async_script, """
        const done = arguments[arguments.length - 1];
        fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
                             body: JSON.stringify({token: arguments[0]})}).then((r) => done(r.status));""",
                                     TEST_API_TOKEN)
    assert status == 204
    assert browser.execute_script("return document.cookie;") == ""  # HttpOnly: no script of the page reads it
    await asyncio.to_thread(browser.get, f"{base}/")
    await _until(browser, "document.getElementById('connector-1')?.textContent.includes('04A2B3C4D5')",
                 "the idTag in full for the token holder")


async def test_maintenance_actions_over_the_api(station: Station) -> None:
    base = f"http://127.0.0.1:{station.settings.api_port}"
    token = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
    await station.accepted()
    async with httpx.AsyncClient(base_url=base, headers=token, timeout=10) as api:
        boots = len(station.csms.calls("BootNotification"))
        assert (await api.post("/api/trigger", json={"message": "BootNotification"})).json() == {"status": "Accepted"}
        await station.csms.wait("BootNotification", boots + 1)

        statuses = len(station.csms.calls("StatusNotification"))
        reply = await api.post("/api/trigger", json={"message": "StatusNotification", "connector_id": 1})
        assert reply.json() == {"status": "Accepted"}
        sent = (await station.csms.wait("StatusNotification", statuses + 1))[-1]
        assert sent["connector_id"] == 1 and sent["status"] == "Available"

        off = await api.post("/api/connectors/1/availability", json={"operative": False})
        assert off.json() == {"status": "Accepted"}
        await station.status("Unavailable")
        available = station.reported("Available")
        assert (await api.post("/api/connectors/1/availability", json={"operative": True})).json() == {
            "status": "Accepted"}
        await station.status("Available", count=available + 1)
        assert (await api.post("/api/connectors/7/availability", json={"operative": True})).status_code == 404

        await charging(station)
        scheduled = await api.post("/api/connectors/1/availability", json={"operative": False})
        assert scheduled.json() == {"status": "Scheduled"}  # as ChangeAvailability: after the transaction

        pid = station.pid("metering")
        assert (await api.post("/api/services/metering/restart")).json() == {"restarting": ["metering"]}
        await station.observer.wait_online(("metering",), not_pids={"metering": pid})

"""The status page in a real browser (Debian's Chromium, headless, through its chromedriver), and the
maintenance API's actions against a running station."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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


PHONE, DESKTOP = 412, 1400  # CSS pixels wide
ZONE = "Asia/Kolkata"  # the browser's time zone: half an hour off UTC, so a UTC time cannot pass for local
RAW = re.compile(r"\b(None|null|undefined|NaN|Infinity)\b|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _text(driver: webdriver.Chrome, element_id: str) -> str:
    """An element's text in one step: every picture of the stream redraws it, so a held element goes stale."""
    text: str = driver.execute_script(f"return document.getElementById('{element_id}').innerText;")
    return text


def _status(connector: int = 1) -> str:
    return f"document.getElementById('connector-{connector}')?.dataset.status"


async def test_the_page_follows_the_station_live_without_a_reload(station: Station,
                                                                    browser: webdriver.Chrome) -> None:
    base = f"http://127.0.0.1:{station.settings.api_port}"
    await asyncio.to_thread(browser.get, f"{base}/")
    assert browser.title == "chargebus"
    await _until(browser, f"{_status()} === 'Available'", "connector 1 Available")
    browser.execute_script("window.loadedOnce = true;")  # gone if the page reloaded
    assert "CB0000001" in _text(browser, "station")

    await station.accepted()
    await station.plug()
    await _until(browser, f"{_status()} === 'Preparing'", "Preparing after the plug")
    await station.swipe("04A2B3C4D5")
    await _until(browser, f"{_status()} === 'Charging'", "Charging after the card")
    await _until(browser, "document.getElementById('plot-note').textContent.startsWith('power ')",
                 "the session's power plot")
    assert browser.execute_script("return window.loadedOnce === true;"), "the page was reloaded"

    connector = _text(browser, "connector-1")
    assert "04**D5" in connector and "04A2B3C4D5" not in browser.page_source  # personal data: masked
    events = _text(browser, "events")
    assert "connector 1: Preparing" in events and "connector 1: Charging" in events
    services = _text(browser, "services")
    assert "metering" in services and "online" in services
    assert "connected" in _text(browser, "csms")

    # the token holder logs in on the page (the token in a POST body, never in the URL) and sees the card in full
    browser.find_element(By.ID, "token").send_keys(TEST_API_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "#login button").click()
    await _until(browser, "document.getElementById('connector-1')?.textContent.includes('04A2B3C4D5')",
                 "the idTag in full for the token holder")
    assert browser.execute_script("return document.cookie;") == ""  # HttpOnly: no script of the page reads it
    assert TEST_API_TOKEN not in browser.current_url
    await asyncio.to_thread(browser.get, f"{base}/")  # the session outlives a reload
    await _until(browser, "document.getElementById('connector-1')?.textContent.includes('04A2B3C4D5')",
                 "the idTag in full after a reload")
    browser.find_element(By.ID, "logout").click()
    await _until(browser, "document.getElementById('connector-1')?.textContent.includes('04**D5')",
                 "the idTag masked again after the logout")


async def test_maintenance_actions_over_the_api(station: Station) -> None:
    base = f"http://127.0.0.1:{station.settings.api_port}"
    token = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
    await station.accepted()
    async with httpx.AsyncClient(base_url=base, headers=token, timeout=10) as api:
        boots = len(station.csms.calls("BootNotification"))
        assert (await api.post("/api/trigger", json={"message": "boot"})).json() == {"status": "accepted"}
        await station.csms.wait("BootNotification", boots + 1)

        statuses = len(station.csms.calls("StatusNotification"))
        reply = await api.post("/api/trigger", json={"message": "connector_status", "connector_id": 1})
        assert reply.json() == {"status": "accepted"}
        sent = (await station.csms.wait("StatusNotification", statuses + 1))[-1]
        assert sent["connector_id"] == 1 and sent["status"] == "Available"

        off = await api.post("/api/connectors/1/availability", json={"operative": False})
        assert off.json() == {"status": "accepted"}
        await station.status("Unavailable")
        available = station.reported("Available")
        assert (await api.post("/api/connectors/1/availability", json={"operative": True})).json() == {
            "status": "accepted"}
        await station.status("Available", count=available + 1)
        assert (await api.post("/api/connectors/7/availability", json={"operative": True})).status_code == 404

        await charging(station)
        scheduled = await api.post("/api/connectors/1/availability", json={"operative": False})
        assert scheduled.json() == {"status": "scheduled"}  # as ChangeAvailability: after the transaction

        pid = station.pid("metering")
        assert (await api.post("/api/services/metering/restart")).json() == {"restarting": ["metering"]}
        await station.observer.wait_online(("metering",), not_pids={"metering": pid})


async def _look(driver: webdriver.Chrome, width: int, folder: Path) -> str:
    """The whole page at `width`: saved as a screenshot (the test's artefact), checked to fit; its text."""
    driver.execute_script("document.querySelectorAll('details').forEach((d) => { d.open = true; });")
    await asyncio.to_thread(driver.set_window_size, width, 900)
    await _until(driver, f"window.innerWidth === {width}", f"a window {width} px wide")
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    await asyncio.to_thread(driver.set_window_size, width, height + 140)  # + the window's frame: the whole page
    shot = folder / f"status-page-{width}px.png"
    driver.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    sideways = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    assert sideways <= 0, f"at {width} px the page scrolls {sideways} px sideways ({shot})"
    clipped = driver.execute_script("""
        return [...document.querySelectorAll('body *')].filter((e) => getComputedStyle(e).overflowX !== 'visible'
          && e.scrollWidth > e.clientWidth + 1).map((e) => e.id || e.className || e.tagName);""")
    assert clipped == [], f"at {width} px these hide part of their content: {clipped} ({shot})"
    wrapped = driver.execute_script("""
        return [...document.querySelectorAll('.nowrap')].filter((cell) => {
          const range = document.createRange(); range.selectNodeContents(cell);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
        }).map((cell) => cell.textContent);""")
    assert wrapped == [], f"at {width} px these wrap: {wrapped} ({shot})"
    text: str = driver.execute_script("return document.body.innerText;")
    assert not RAW.search(text), f"at {width} px a raw value: {RAW.search(text)} in {text!r} ({shot})"
    return text


async def test_the_page_reads_on_a_phone_and_a_desktop(station: Station, browser: webdriver.Chrome,
                                                        tmp_path: Path) -> None:
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
    base = f"http://127.0.0.1:{station.settings.api_port}"
    await charging(station, "04A2B3C4D5")
    await asyncio.to_thread(browser.get, f"{base}/")
    await _until(browser, f"{_status()} === 'Charging'", "Charging")
    await _until(browser, "document.getElementById('plot-note').textContent.startsWith('power ')",
                 "the session's power plot")
    async with httpx.AsyncClient(base_url=base, timeout=10) as api:
        picture = (await api.get("/api/summary")).json()
    local = datetime.fromisoformat(picture["csms"]["since"]).astimezone(ZoneInfo(ZONE))
    # in the browser's own clock convention: 13:05:40 or 01:05:40 PM (the 24-hour form alone passed only mornings)
    since = (local.strftime("%H:%M:%S"), local.strftime("%I:%M:%S %p"))

    for width in (PHONE, DESKTOP):
        text = await _look(browser, width, tmp_path)
        assert any(form in _text(browser, "csms") for form in since), f"the CSMS link's time in {ZONE}: {since}"
        for unit in (" kW", " A", " V", " kWh"):
            assert unit in _text(browser, "connector-1"), unit
        assert "04**D5" in text and "HeartbeatInterval" in text  # the configuration too, opened

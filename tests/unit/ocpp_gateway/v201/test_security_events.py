"""The security log: one event per cause, in order, and at most LOG_SIZE of those already sent kept."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.ocpp_gateway.v201 import security_events
from services.ocpp_gateway.v201.security_events import SecurityEvents

from .conftest import Running


async def test_an_event_recorded_again_for_the_same_cause_is_one_and_the_log_is_bounded(
        running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    log = SecurityEvents(running.engine, running.link)
    log.record("StartupOfTheDevice", "chargebus 0.1.0", key="boot-1")
    log.record("StartupOfTheDevice", "chargebus 0.1.0", key="boot-1")  # the gateway restarted in the same boot
    log.record("FailedToAuthenticateAtCsms", "HTTP 401")
    log.record("FailedToAuthenticateAtCsms", "HTTP 401")  # no key: a second refusal is a second event
    assert [(kind, info) for _seq, kind, _at, info in log.unsent()] == [
        ("StartupOfTheDevice", "chargebus 0.1.0"), ("FailedToAuthenticateAtCsms", "HTTP 401"),
        ("FailedToAuthenticateAtCsms", "HTTP 401")]
    with running.engine.begin() as conn:
        conn.execute(text("UPDATE security_events SET sent = 1"))
    monkeypatch.setattr(security_events, "LOG_SIZE", 2)  # a small log for the test
    log.record("ReconfigurationOfSecurityParameters", "x" * 300)
    with running.engine.connect() as conn:
        kept = conn.execute(text("SELECT type, tech_info FROM security_events ORDER BY seq")).tuples().all()
    assert [k for k, _ in kept] == ["FailedToAuthenticateAtCsms", "ReconfigurationOfSecurityParameters"]
    assert len(kept[-1][1]) == 255  # techInfo is at most 255 characters

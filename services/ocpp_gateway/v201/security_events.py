"""The security log and SecurityEventNotification (OCPP 2.0.1 A04): each security event the gateway sees is
written to its SQLite file first, then sent to the CSMS in order until it confirms it, whenever the link is
Accepted: a critical event is never lost to a restart or an offline spell. The log keeps the last LOG_SIZE events.

Events recorded: StartupOfTheDevice (a station boot), ResetOrReboot (the boot after a restart the station was
asked for), FirmwareUpdated, InvalidFirmwareSignature, InvalidFirmwareSigningCertificate (the firmware jobs),
ReconfigurationOfSecurityParameters (a new BasicAuthPassword) and FailedToAuthenticateAtCsms (the CSMS refused
the station's credentials). The station has no tamper switch and takes its time from NTP: it records neither
TamperDetectionActivated nor SettingSystemTime.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from ocpp.v201 import call
from sqlalchemy import Engine, text

from services.common.logs import SECURITY_EVENT

from ..firmware_notifier import deliver
from ..link import Link

log = logging.getLogger(__name__)

LOG_SIZE = 1000
MAX_TECH_INFO = 255


class SecurityEvents:
    def __init__(self, engine: Engine, link: Link) -> None:
        self.engine = engine
        self.link = link
        self._recorded = asyncio.Event()

    def record(self, kind: str, tech_info: str | None = None, key: str | None = None) -> None:
        """Write the event (once per `key`, when one is given); it goes to the CSMS as soon as it can."""
        with self.engine.begin() as conn:
            added = conn.execute(text("INSERT OR IGNORE INTO security_events (key, type, at, tech_info) VALUES "
                                      "(:k, :t, :a, :i)"),
                                 {"k": key, "t": kind, "a": datetime.now(UTC).isoformat(),
                                  "i": tech_info[:MAX_TECH_INFO] if tech_info else None}).rowcount
            conn.execute(text("DELETE FROM security_events WHERE sent = 1 AND seq <= (SELECT MAX(seq) FROM "
                              "security_events) - :n"), {"n": LOG_SIZE})
        if added:
            log.warning("%s type=%s info=%s", SECURITY_EVENT, kind, tech_info or "")
            self._recorded.set()

    def unsent(self) -> list[tuple[int, str, str, str | None]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, type, at, tech_info FROM security_events WHERE sent = 0 "
                                     "ORDER BY seq")).tuples().all()
        return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]

    async def run(self) -> None:
        while True:
            self._recorded.clear()
            for seq, kind, at, info in self.unsent():
                await deliver(self.link, call.SecurityEventNotification(type=kind, timestamp=at, tech_info=info),
                              f"security event {kind}")
                with self.engine.begin() as conn:
                    conn.execute(text("UPDATE security_events SET sent = 1 WHERE seq = :s"), {"s": seq})
            await self._recorded.wait()

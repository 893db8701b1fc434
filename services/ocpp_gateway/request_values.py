"""Values of the CSMS's requests read the station's way, whatever the OCPP version that brought them.

- A date-time without an offset is UTC: OCPP times carry a zone, and a CSMS that leaves it out never means the
  station's local time. Comparing one without a zone with the station's clock would raise.
- Retries and retry intervals of the firmware service's jobs are capped to its limits (`contract.firmware`):
  the schemas allow any integer, even a negative one, and neither UpdateFirmware nor a log request can be
  answered "no" for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

MAX_RETRIES = 100
MAX_RETRY_INTERVAL_S = 86400
DEFAULT_RETRY_INTERVAL_S = 60


def utc(text: str) -> datetime:
    """An OCPP dateTime; ValueError for text that is no date-time."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def retries(count: int | None) -> int:
    return max(0, min(count or 0, MAX_RETRIES))


def retry_interval(seconds: int | None) -> int:
    """None: the default; 0 stays 0."""
    if seconds is None:
        return DEFAULT_RETRY_INTERVAL_S
    return max(0, min(seconds, MAX_RETRY_INTERVAL_S))

"""Fixtures of the system tests: the whole station with a real Central System."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.system.station import Station, running_station


@pytest.fixture
async def station(tmp_path: Path) -> AsyncIterator[Station]:
    async with running_station(tmp_path) as running:
        yield running

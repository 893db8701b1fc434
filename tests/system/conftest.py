"""Fixtures of the system tests: the whole station with a real Central System."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.system.station import Station, running_station


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here starts the whole stack: `pytest -m "not system"` is the quick run."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.system)


@pytest.fixture
async def station(tmp_path: Path) -> AsyncIterator[Station]:
    async with running_station(tmp_path) as running:
        yield running

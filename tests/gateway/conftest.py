"""Fixtures of the gateway tests: the gateway with a real Central System and stand-ins for the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway_rig import GatewayRig, running_gateway


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[GatewayRig]:
    async with running_gateway(tmp_path) as rig:
        yield rig

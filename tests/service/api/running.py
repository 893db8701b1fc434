"""The api service running in the test's event loop, and the HTTP helpers its tests share."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from services.api.service import ApiService
from services.common.lifecycle import serve
from services.common.settings import Settings


async def get_until(url: str, what: str, **client: Any) -> httpx.Response:
    """GET `url` until its body shows `what` (the api fills its view from the bus on its own time)."""
    last = "no answer"
    async with httpx.AsyncClient(**client) as http:
        for _ in range(100):
            try:
                response = await http.get(url)
            except httpx.TransportError as exc:
                last = repr(exc)
            else:
                if what in response.text:
                    return response
                last = response.text[:3000]
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never showed {what!r}: {last}")


@contextlib.asynccontextmanager
async def serving(settings: Settings, scheme: str = "http", **client: Any) -> AsyncIterator[str]:
    """The api service until the block ends; yields its base URL once it answers."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(ApiService, settings, stop))
    base = f"{scheme}://127.0.0.1:{settings.api_port}"  # whatever it binds, loopback is among it
    try:
        await get_until(f"{base}/api/health", '"api"', **client)
        yield base
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task


async def pictures(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The summaries a server-sent event stream carries."""
    async for line in lines:
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))

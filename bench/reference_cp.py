"""A single-process charge point on the same `ocpp` library: the yardstick for the gateway's response times.

It does what a minimal charge point does and nothing more: boots, and answers GetConfiguration and
ChangeConfiguration from a dict in memory (no bus, no database, no schema checks of its own beyond the
library's). Validation runs inline, as in the gateway, so the comparison is of everything else.
Run: `python -m bench.reference_cp ws://host:port/ocpp/ID`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import ocpp.messages
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import KeyValue
from ocpp.v16.enums import Action, ConfigurationStatus

ocpp.messages.ASYNC_VALIDATION = False


class ReferenceChargePoint(ChargePoint):
    keys: dict[str, str] = {"HeartbeatInterval": "300", "MemberPrice": "312.5,kWh Won"}

    @on(Action.get_configuration)
    async def on_get_configuration(self, key: list[str] | None = None) -> call_result.GetConfiguration:
        names = key or list(self.keys)
        return call_result.GetConfiguration(
            configuration_key=[KeyValue(key=k, readonly=False, value=self.keys[k]) for k in names if k in self.keys],
            unknown_key=[k for k in names if k not in self.keys] or None)

    @on(Action.change_configuration)
    async def on_change_configuration(self, key: str, value: str) -> call_result.ChangeConfiguration:
        self.keys[key] = value
        return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)


async def main(url: str) -> None:
    async with websockets.connect(url, subprotocols=[websockets.Subprotocol("ocpp1.6")]) as ws:
        cp = ReferenceChargePoint(url.rsplit("/", 1)[-1], ws)
        reader = asyncio.create_task(cp.start())
        await cp.call(call.BootNotification(charge_point_vendor="reference", charge_point_model="bench"))
        await reader


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, websockets.ConnectionClosed):
        asyncio.run(main(sys.argv[1]))

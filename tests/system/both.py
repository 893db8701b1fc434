"""The Central System's side of a station scenario in either OCPP version: what a scenario asks and checks,
said once, told to a 1.6 or a 2.0.1 station by `Told`.

A transaction is named by the id the CSMS knows it by (the gateway publishes it in its transaction state:
1.6 the CSMS's number, 2.0.1 the station's id); its start, meter values and end are read from StartTransaction,
MeterValues and StopTransaction, or from the TransactionEvents Started, Updated and Ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from tests.csms import CentralSystem

VERSIONS = ("1.6", "2.0.1")
ENERGY = "Energy.Active.Import.Register"


@dataclass(frozen=True)
class Ended:
    reason: str  # 1.6 reason and 2.0.1 stoppedReason share their names (Local, Remote, EVDisconnected, ...)
    meter_stop_wh: int
    transaction_id: str


def _energy(meter_values: list[dict[str, Any]]) -> list[int]:
    return [int(float(s["value"])) for v in meter_values for s in v["sampled_value"]
            if s.get("measurand", ENERGY) == ENERGY]


@dataclass
class Told:
    csms: CentralSystem

    @property
    def v201(self) -> bool:
        return self.csms.version == "2.0.1"

    def _events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.csms.calls("TransactionEvent") if e["event_type"] == kind]

    def starts(self) -> int:
        return len(self._events("Started") if self.v201 else self.csms.calls("StartTransaction"))

    def ends(self) -> list[Ended]:
        if self.v201:
            return [Ended(e["transaction_info"]["stopped_reason"], _energy(e["meter_value"])[-1],
                          e["transaction_info"]["transaction_id"]) for e in self._events("Ended")]
        return [Ended(s["reason"], s["meter_stop"], str(s["transaction_id"]))
                for s in self.csms.calls("StopTransaction")]

    def updates(self) -> list[dict[str, Any]]:
        """The meter values taken during transactions, each as the station sent it."""
        if self.v201:
            return self._events("Updated")
        return [m for m in self.csms.calls("MeterValues") if m.get("transaction_id") is not None]

    def register(self) -> list[int]:
        """Every energy register value the CSMS was told during and at the end of transactions, in order."""
        if self.v201:
            return [n for e in self.csms.calls("TransactionEvent") for n in _energy(e.get("meter_value", []))]
        return _energy([v for m in self.updates() for v in m["meter_value"]]) + [
            s["meter_stop"] for s in self.csms.calls("StopTransaction")]

    def sequence(self) -> list[str]:
        """The transaction messages in the order the CSMS got them."""
        if self.v201:
            return [f"{e['event_type']}:{e['seq_no']}" for e in self.csms.calls("TransactionEvent")]
        names = ("StartTransaction", "StopTransaction")
        return [s.action for s in self.csms.seen if s.action in names or (
            s.action == "MeterValues" and s.payload.get("transaction_id") is not None)]

    async def started(self, count: int = 1) -> None:
        if self.v201:
            await self.csms.wait("TransactionEvent", count, where=lambda e: e["event_type"] == "Started")
        else:
            await self.csms.wait("StartTransaction", count)

    async def ended(self, count: int = 1, timeout: float = 20.0) -> Ended:
        if self.v201:
            await self.csms.wait("TransactionEvent", count, timeout=timeout,
                                 where=lambda e: e["event_type"] == "Ended")
        else:
            await self.csms.wait("StopTransaction", count, timeout=timeout)
        return self.ends()[count - 1]

    async def updated(self, count: int) -> None:
        if self.v201:
            await self.csms.wait("TransactionEvent", count, where=lambda e: e["event_type"] == "Updated")
        else:
            await self.csms.wait("MeterValues", count, where=lambda m: m.get("transaction_id") is not None)

    async def sample_every(self, seconds: int) -> None:
        if self.v201:
            result = await self.csms.call(call201.SetVariables(set_variable_data=[{
                "attribute_value": str(seconds), "component": {"name": "SampledDataCtrlr"},
                "variable": {"name": "TxUpdatedInterval"}}]))
            assert result.set_variable_result[0]["attribute_status"] == "Accepted"
        else:
            result = await self.csms.call(call16.ChangeConfiguration(key="MeterValueSampleInterval",
                                                                     value=str(seconds)))
            assert result.status == "Accepted"

    async def remote_start(self, tag: str) -> str:
        if self.v201:
            result = await self.csms.call(call201.RequestStartTransaction(
                id_token={"id_token": tag, "type": "ISO14443"}, remote_start_id=7, evse_id=1))
        else:
            result = await self.csms.call(call16.RemoteStartTransaction(id_tag=tag, connector_id=1))
        return str(result.status)

    async def remote_stop(self, transaction_id: str) -> str:
        if self.v201:
            result = await self.csms.call(call201.RequestStopTransaction(transaction_id=transaction_id))
        else:
            result = await self.csms.call(call16.RemoteStopTransaction(transaction_id=int(transaction_id)))
        return str(result.status)

    async def available(self, count: int = 1) -> None:
        """`count` statuses Available of connector 1 (EVSE 1) seen."""
        if self.v201:
            await self.csms.wait("StatusNotification", count, where=lambda p: p["evse_id"] == 1
                                 and p["connector_status"] == "Available")
        else:
            await self.csms.wait("StatusNotification", count, where=lambda p: p["connector_id"] == 1
                                 and p["status"] == "Available")

"""A start whose session cannot be written: smart charging and the meter were asked already (they are asked while
the session is written); no output is energized, the CSMS hears nothing of it, and the next start goes through."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ocpp.v16 import call

from services.common.contract import metering, power, smart_charging
from services.common.contract.metering import Cause, Measurand, MeterReading, MeterValue, Sample
from services.common.contract.ocpp_gateway import SessionPhase, TransactionState
from services.common.contract.power import ConnectorState, EnergizeRequest
from services.common.contract.smart_charging import ChargingLimit
from tests.gateway_rig import GatewayRig, running_gateway

TRANSACTION = "chargebus/ocpp_gateway/state/transaction/1"


def _answers(rig: GatewayRig) -> None:
    def energize(_request: EnergizeRequest) -> ConnectorState:
        return rig.connectors[1].model_copy(update={"energized": True, "delivering": True})

    rig.stand_in("metering").answer(metering.READ, MeterReading(connector_id=1, energy_wh=500, meter_value=MeterValue(
        timestamp=datetime.now(UTC), cause=Cause.SESSION_START,
        samples=[Sample(measurand=Measurand.ENERGY_IMPORTED, value=500.0)])))
    rig.stand_in("smart_charging").answer(smart_charging.BEGIN_SESSION, ChargingLimit(connector_id=1))
    rig.stand_in("power").answer(power.ENERGIZE, energize)


async def test_a_session_that_cannot_be_written_energizes_nothing_and_the_next_start_goes_through(
        tmp_path: Path) -> None:
    async with running_gateway(tmp_path, answers=_answers) as rig:
        folder = rig.settings.data_dir / "failpoints"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ocpp_gateway.session_write").write_text("disk_full")
        rig.plug()
        await rig.status("Preparing")
        assert (await rig.csms.call(call.RemoteStartTransaction(id_tag="TAG1", connector_id=1))).status == "Accepted"
        await rig.logged("start refused: the session cannot be recorded")
        # asked while the session was being written: its answer is no longer waited for
        await rig.observer.wait(lambda: rig.stand_in("smart_charging").asked(smart_charging.BEGIN_SESSION)
                                and rig.stand_in("metering").asked(metering.READ), what="both asked")
        assert rig.stand_in("power").asked(power.ENERGIZE) == []
        state = await rig.observer.wait(lambda: (s := rig.observer.get(TRANSACTION)) is not None and s, what="state")
        assert isinstance(state, TransactionState) and state.phase is SessionPhase.NONE and state.session_id is None

        assert (await rig.csms.call(call.RemoteStartTransaction(id_tag="TAG2", connector_id=1))).status == "Accepted"
        start = (await rig.csms.wait("StartTransaction"))[0]
        assert start["id_tag"] == "TAG2" and start["meter_start"] == 500
        assert [r.session_id for r in rig.stand_in("power").asked(power.ENERGIZE)] == [
            rig.stand_in("smart_charging").asked(smart_charging.BEGIN_SESSION)[1].session.session_id]
        assert [c["id_tag"] for c in rig.csms.calls("StartTransaction")] == ["TAG2"]  # nothing of the first

"""One JSON picture of the station for the page and for scripts, built from what the bus holds.

Pure: it takes the latest retained payload per topic, the recent events and the session's trace, and
the time. idTags are personal data: masked unless the reader is authenticated (`reveal`), by one pass over
the whole picture, so that a field added later is masked too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.common.contract.auth import Decided, LocalListState
from services.common.contract.common import ConfigValue, Health
from services.common.contract.firmware import JobsState, UploadPhase
from services.common.contract.hardware import CONNECTORS
from services.common.contract.ocpp_gateway import ConnectionState, ConnectorReport, ReservationState, TransactionState
from services.common.contract.power import ConnectorState, Measurement
from services.common.contract.smart_charging import ChargingLimit
from services.common.contract.supervisor import ProcessTable, SlotState
from services.common.logs import mask_token, scrub

Trace = list[tuple[float, float, float]]  # (unix time, kW, A)


def _get(latest: dict[str, BaseModel], topic: str, kind: type[BaseModel]) -> Any:
    value = latest.get(topic)
    return value if isinstance(value, kind) else None


def build(latest: dict[str, BaseModel], events: list[dict[str, Any]], traces: dict[int, Trace],
          decisions: dict[int, Decided], registers: dict[int, float], now: datetime, *, charge_point_id: str,
          version: str, reveal: bool) -> dict[str, Any]:
    picture = {
        "station": {"charge_point_id": charge_point_id, "version": version, "at": now.isoformat()},
        "connectors": [_connector(latest, c, traces.get(c, []), decisions.get(c), registers.get(c), now)
                       for c in CONNECTORS if f"chargebus/power/state/connector/{c}" in latest],
        "csms": _model(_get(latest, "chargebus/ocpp_gateway/state/connection", ConnectionState)),
        "services": _services(latest),
        "local_list": _model(_get(latest, "chargebus/auth/state/local_list", LocalListState)),
        "firmware": _firmware(latest),
        "events": [{**e, "what": scrub(e["what"], mask_tags=False)} for e in events[-20:]][::-1],
        "config": {v.key: v.value for v in latest.values() if isinstance(v, ConfigValue)},
        "unmasked": reveal,
    }
    return picture if reveal else masked(picture)


_TOKEN_FIELDS = frozenset({"id_token", "token", "group"})


def masked(value: Any) -> Any:
    """A JSON value with every token masked, however deep: the fields named for one (a value, or an IdToken's
    `{value, type}`), and `id_token=…` in text."""
    if isinstance(value, dict):
        return {k: _masked_token(v) if k in _TOKEN_FIELDS else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return scrub(value) if isinstance(value, str) else value


def _masked_token(value: Any) -> Any:
    if isinstance(value, str):
        return mask_token(value)
    if isinstance(value, dict) and isinstance(value.get("value"), str):
        return {**value, "value": mask_token(value["value"])}
    return masked(value)


def _model(value: BaseModel | None) -> dict[str, Any] | None:
    return value.model_dump(mode="json") if value is not None else None


def _connector(latest: dict[str, BaseModel], c: int, trace: Trace, decided: Decided | None, register: float | None,
               now: datetime) -> dict[str, Any]:
    state: ConnectorState = latest[f"chargebus/power/state/connector/{c}"]  # type: ignore[assignment]
    out: dict[str, Any] = {"id": c, **state.model_dump(mode="json", exclude={"connector_id"})}
    # the status as the gateway works it out and tells the CSMS, in the protocol's words
    report = _get(latest, f"chargebus/ocpp_gateway/state/connector/{c}", ConnectorReport)
    out["status"] = report.status if report is not None else "unknown"
    out["error_code"], out["vendor_error_code"] = (report.error, report.detail) if report is not None else (None, None)
    measurement = _get(latest, f"chargebus/power/state/measurement/{c}", Measurement)
    out["measurement"] = _model(measurement)
    limit = _get(latest, f"chargebus/smart_charging/state/limit/{c}", ChargingLimit)
    out["limit"] = _model(limit)
    tx = _get(latest, f"chargebus/ocpp_gateway/state/transaction/{c}", TransactionState)
    out["transaction"] = None
    if tx is not None and tx.open:
        energy = (register - tx.meter_start_wh) if register is not None and tx.meter_start_wh is not None else None
        out["transaction"] = {
            "phase": tx.phase.value, "transaction_id": tx.transaction_id,
            "id_token": tx.token.value if tx.token else None,
            "started_at": tx.started_at.isoformat() if tx.started_at else None,
            "duration_s": (now - tx.started_at).total_seconds() if tx.started_at else None,
            "energy_wh": energy, "power_w": measurement.power_w if measurement else None}
    reservation = _get(latest, f"chargebus/ocpp_gateway/state/reservation/{c}", ReservationState)
    booking = reservation.reservation if reservation is not None else None
    out["reservation"] = None if booking is None else {"reservation_id": booking.reservation_id,
                                                       "id_token": booking.token.value,
                                                       "expires_at": booking.expires_at.isoformat()}
    out["last_decision"] = None if decided is None else {
        "id_token": decided.token.value, "status": decided.status.value, "source": decided.source.value,
        "reason": decided.reason, "at": decided.at.isoformat()}
    out["trace"] = trace if out["transaction"] is not None else []
    return out


def _services(latest: dict[str, BaseModel]) -> list[dict[str, Any]]:
    table = _get(latest, "chargebus/supervisor/state/processes", ProcessTable)
    processes = {p.name: p for p in table.processes} if table is not None else {}
    health = {t.split("/")[1]: v for t, v in latest.items() if isinstance(v, Health)}
    out = []
    for name in sorted(set(health) | set(processes)):
        h, p = health.get(name), processes.get(name)
        if p is not None and p.state.value == "failed":
            state = "failed"  # the supervisor gave up on it; its last health says little
        else:
            state = h.state.value if h is not None else p.state.value if p is not None else "unknown"
        since = h.since if h is not None else p.since if p is not None else None
        out.append({"name": name, "state": state, "pid": h.pid if h else (p.pid if p else None),
                    "restarts": p.restarts if p else None, "since": since.isoformat() if since else None,
                    "last_error": p.last_error if p else []})
    return out


def _firmware(latest: dict[str, BaseModel]) -> dict[str, Any]:
    slots = _get(latest, "chargebus/supervisor/state/slots", SlotState)
    jobs = _get(latest, "chargebus/firmware/state/jobs", JobsState)
    return {"running_version": slots.running_version if slots else None,
            "outcome": _model(slots.outcome) if slots and slots.outcome else None,
            "update": _model(jobs.update) if jobs and jobs.update and jobs.update.phase != "done" else None,
            "diagnostics": jobs.now.diagnostics.value if jobs else UploadPhase.IDLE.value}


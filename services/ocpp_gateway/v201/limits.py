"""2.0.1 charging profiles as the station's limit profiles, read and written (K01, K09).

A 2.0.1 profile carries one to three schedules (the others are for ISO 15118 to choose from): this station
takes one, as 1.6 carries it; a profile with more is unreadable and Rejected. ChargingStationExternalConstraints
is set by the station's own energy management, never by the CSMS. The rest is the 1.6 reading (`limits.py`):
a TxProfile's transactionId is the gateway's session id.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from services.common.contract.smart_charging import InstalledProfile, LimitProfile, LimitPurpose

from ..limits import KINDS, RECURRENCES, ProfileError, mapping, profile_of

PURPOSES = {"ChargingStationMaxProfile": LimitPurpose.STATION_MAX, "TxDefaultProfile": LimitPurpose.SESSION_DEFAULT,
            "TxProfile": LimitPurpose.SESSION}
PURPOSE_NAMES = {v: k for k, v in PURPOSES.items()}
KIND_NAMES = {v: k for k, v in KINDS.items()}
RECURRENCE_NAMES = {v: k for k, v in RECURRENCES.items()}


def read(raw: object) -> tuple[LimitProfile, str | None]:
    """The profile of a SetChargingProfile payload and the transactionId it names; ProfileError if unreadable."""
    profile = mapping(raw, "charging_profile")
    schedules = profile.get("charging_schedule")
    if not isinstance(schedules, list) or len(schedules) != 1:
        raise ProfileError("charging_schedule: this station takes one schedule per profile")
    transaction_id = profile.get("transaction_id")
    if transaction_id is not None and not isinstance(transaction_id, str):
        raise ProfileError(f"transaction_id: expected a string, got {transaction_id!r}")
    try:
        return profile_of(profile, mapping(schedules[0], "charging_schedule[0]"), "id", PURPOSES), transaction_id
    except ValidationError as exc:  # what the contract refuses besides (more periods than it carries)
        raise ProfileError(str(exc)) from None


def write(installed: InstalledProfile, schedule_id: int = 1) -> dict[str, Any]:
    """An installed profile as a 2.0.1 ChargingProfile (ReportChargingProfiles), snake_case."""
    profile, schedule = installed.profile, installed.profile.schedule
    out: dict[str, Any] = {
        "id": profile.id, "stack_level": profile.stack_level,
        "charging_profile_purpose": PURPOSE_NAMES[profile.purpose], "charging_profile_kind": KIND_NAMES[profile.kind],
        "charging_schedule": [{
            "id": schedule_id, "charging_rate_unit": schedule.unit,
            "charging_schedule_period": [{"start_period": p.start_s, "limit": p.limit}
                                         | ({} if p.phases is None else {"number_phases": p.phases})
                                         for p in schedule.periods]}]}
    chosen = out["charging_schedule"][0]
    for key, value in (("duration", schedule.duration_s), ("min_charging_rate", schedule.min_rate)):
        if value is not None:
            chosen[key] = value
    if schedule.starts_at is not None:
        chosen["start_schedule"] = schedule.starts_at.isoformat()
    if profile.recurrence is not None:
        out["recurrency_kind"] = RECURRENCE_NAMES[profile.recurrence]
    for key, moment in (("valid_from", profile.valid_from), ("valid_to", profile.valid_to)):
        if moment is not None:
            out[key] = moment.isoformat()
    if installed.session_id is not None:
        out["transaction_id"] = installed.session_id
    return out

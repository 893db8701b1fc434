"""What a 2.0.1 CSMS says of a token, in the station's terms; a connector's 2.0.1 status. Payloads checked
against the 2.0.1 schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ocpp.v16.enums import ChargePointStatus
from ocpp.v201.enums import AuthorizationStatusEnumType

from services.common.contract.auth import AuthorizationStatus, IdToken, TokenType
from services.common.settings import Settings
from services.ocpp_gateway.v201.connector_status import connector_status, status_notification
from services.ocpp_gateway.v201.tokens import STATUSES, authorize, id_token, info, token

from .conftest import running_link
from .wire import valid

T0 = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def test_every_2_0_1_authorization_status_is_read_and_only_accepted_charges() -> None:
    assert set(STATUSES) == set(AuthorizationStatusEnumType)
    read = {status: info({"status": status}).status for status in AuthorizationStatusEnumType}
    assert [s for s, neutral in read.items() if neutral is AuthorizationStatus.ACCEPTED] == ["Accepted"]
    assert read["ConcurrentTx"] is AuthorizationStatus.IN_USE and read["NoCredit"] is AuthorizationStatus.INVALID


def test_an_id_token_info_with_its_group_and_expiry() -> None:
    raw = {"status": "Accepted", "cache_expiry_date_time": "2026-12-31T23:59:00", "charging_priority": 3,
           "group_id_token": {"id_token": "FLEET-7", "type": "Central"}}
    valid("AuthorizeResponse", {"id_token_info": raw})
    read = info(raw)
    assert read.group == IdToken(value="FLEET-7", type=TokenType.CENTRAL)
    assert read.expires_at == datetime(2026, 12, 31, 23, 59, tzinfo=UTC)  # a date without a zone is UTC


@pytest.mark.parametrize("raw", [{"status": "Maybe"}, {"status": "Accepted", "cache_expiry_date_time": "soon"},
                                 {"status": "Accepted", "group_id_token": {"id_token": "G", "type": "Smoke"}},
                                 {"status": "Accepted", "group_id_token": {"id_token": "", "type": "Central"}}])
def test_an_id_token_info_the_station_cannot_use_is_a_clear_error(raw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        info(raw)


@given(st.sampled_from(list(TokenType)), st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]),
                                                  min_size=1, max_size=36))
def test_a_token_goes_out_and_comes_back_the_same(kind: TokenType, value: str) -> None:
    sent = IdToken(value=value, type=kind)
    valid("AuthorizeRequest", {"id_token": id_token(sent)})
    assert token(id_token(sent)) == sent


def test_the_statuses_of_a_session_are_one_occupied() -> None:
    statuses = {s.value: connector_status((s.value, "NoError", None)) for s in ChargePointStatus}
    assert statuses == {"Available": "Available", "Preparing": "Occupied", "Charging": "Occupied",
                        "SuspendedEVSE": "Occupied", "SuspendedEV": "Occupied", "Finishing": "Occupied",
                        "Reserved": "Reserved", "Unavailable": "Unavailable", "Faulted": "Faulted"}
    wire = valid("StatusNotificationRequest", status_notification(1, 1, ("Charging", "NoError", None), T0))
    assert wire == {"timestamp": T0.isoformat(), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}


async def test_c01_authorize_on_the_link(settings: Settings, tmp_path: Path) -> None:
    async with running_link(settings, tmp_path, pending_first=False) as running:
        await running.link.wait_accepted()
        card = IdToken(value="04A2B3C4", type=TokenType.ISO14443)
        accepted = await authorize(running.link, card)
        assert accepted.status is AuthorizationStatus.ACCEPTED
        assert accepted.expires_at == datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
        assert accepted.group == IdToken(value="FLEET-7", type=TokenType.CENTRAL)
        assert (await authorize(running.link, IdToken(value="BLOCKED-1", type=TokenType.ISO14443))).status \
            is AuthorizationStatus.BLOCKED
        assert (await authorize(running.link, IdToken(value="NEW-2", type=TokenType.EMAID))).status \
            is AuthorizationStatus.INVALID  # Unknown: no charge
        assert running.csms.authorized[0] == {"id_token": "04A2B3C4", "type": "ISO14443"}
        assert running.csms.authorized[2]["type"] == "eMAID"

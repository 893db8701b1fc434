"""1.6 idTags and IdTagInfo as the station's tokens, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.contract.auth import AuthorizationStatus, IdToken, TokenInfo, TokenType, UpdateStatus
from services.ocpp_gateway import tokens


def test_an_id_tag_is_a_card_token_and_back() -> None:
    assert tokens.token("04A2B3C4") == IdToken(value="04A2B3C4", type=TokenType.ISO14443)
    assert tokens.id_tag(tokens.token("04A2B3C4")) == "04A2B3C4"


@pytest.mark.parametrize("token", [IdToken(value="APP-42", type=TokenType.CENTRAL),
                                   IdToken(value="X" * 21, type=TokenType.ISO14443)])
def test_a_token_no_16_message_can_carry_has_no_id_tag(token: IdToken) -> None:
    assert tokens.id_tag(token) is None


def test_an_id_tag_info_in_either_spelling_becomes_token_info() -> None:
    snake = {"status": "ConcurrentTx", "parent_id_tag": "FLEET1", "expiry_date": "2030-01-01T00:00:00"}
    camel = {"status": "ConcurrentTx", "parentIdTag": "FLEET1", "expiryDate": "2030-01-01T00:00:00"}
    expected = TokenInfo(status=AuthorizationStatus.IN_USE, group=tokens.token("FLEET1"),
                         expires_at=datetime(2030, 1, 1, tzinfo=UTC))  # no time zone: UTC
    assert tokens.info(snake) == tokens.info(camel) == expected
    assert tokens.parent(expected) == "FLEET1" and tokens.parent(None) is None


@pytest.mark.parametrize("raw", [{"status": "Maybe"}, {"status": "Accepted", "expiry_date": "soon"}, {}])
def test_an_unusable_id_tag_info_is_refused_with_a_reason(raw: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        tokens.info(raw)
    assert tokens.info_or_none(raw) is None


def test_every_local_list_outcome_has_its_16_name() -> None:
    assert set(tokens.UPDATE_STATUSES) == set(UpdateStatus)
    assert tokens.UPDATE_STATUSES[UpdateStatus.VERSION_MISMATCH] == "VersionMismatch"


def test_id_tags_are_one_card_whatever_the_case() -> None:
    assert tokens.same_tag("abcd1234", "ABCD1234") and not tokens.same_tag("abcd1234", None)

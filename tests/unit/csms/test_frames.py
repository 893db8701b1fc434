"""The dev CSMS's one-line form of a frame: direction, action with .req/.conf/.error, payload, idTags masked."""

from __future__ import annotations

import json

import pytest

from services.csms.frames import TO_CSMS, TO_STATION, FrameLog


@pytest.mark.parametrize(("frames", "last"), [
    # a CALL names its action
    ([(TO_CSMS, [2, "1", "Heartbeat", {}])], "cp=CP1 station->csms Heartbeat.req {}"),
    # its answer, which carries no action, is named after the CALL with the same id
    ([(TO_CSMS, [2, "1", "Heartbeat", {}]), (TO_STATION, [3, "1", {"currentTime": "t"}])],
     'cp=CP1 csms->station Heartbeat.conf {"currentTime": "t"}'),
    # both directions: a CSMS call answered by the station
    ([(TO_STATION, [2, "a", "Reset", {"type": "Soft"}]), (TO_CSMS, [3, "a", {"status": "Accepted"}])],
     'cp=CP1 station->csms Reset.conf {"status": "Accepted"}'),
    # a CALLERROR: code, description, details
    ([(TO_STATION, [2, "b", "Reset", {"type": "Hard"}]), (TO_CSMS, [4, "b", "NotSupported", "no", {}])],
     'cp=CP1 station->csms Reset.error NotSupported "no" {}'),
    # an answer to nothing we saw
    ([(TO_CSMS, [3, "zz", {}])], "cp=CP1 station->csms ?.conf {}"),
    # idTags are personal data: masked, nested ones too
    ([(TO_CSMS, [2, "2", "Authorize", {"idTag": "04A2B3C4"}])],
     'cp=CP1 station->csms Authorize.req {"idTag": "04**C4"}'),
    ([(TO_STATION, [2, "3", "SendLocalList", {"listVersion": 1, "updateType": "Full",
                                              "localAuthorizationList": [{"idTag": "ABCDEF12"}]}])],
     'cp=CP1 csms->station SendLocalList.req {"listVersion": 1, "updateType": "Full", '
     '"localAuthorizationList": [{"idTag": "AB**12"}]}'),
])
def test_lines(frames: list[tuple[str, list[object]]], last: str) -> None:
    log = FrameLog("CP1")
    lines = [log.line(json.dumps(frame), direction) for direction, frame in frames]
    assert lines[-1] == last


@pytest.mark.parametrize(("raw", "says"), [
    ("not json", "unreadable frame"),
    ('{"a": 1}', "not an OCPP-J frame"),
    ("[5, \"1\", {}]", "not an OCPP-J frame"),
])
def test_garbage_is_shown_not_raised(raw: str, says: str) -> None:
    assert says in FrameLog("CP1").line(raw, TO_CSMS)


def test_idtags_in_full_when_not_masked() -> None:
    line = FrameLog("CP1", mask_tags=False).line('[2, "1", "Authorize", {"idTag": "04A2B3C4"}]', TO_CSMS)
    assert line.endswith('{"idTag": "04A2B3C4"}')


def test_201_tokens_are_masked_wherever_they_are() -> None:
    """2.0.1 carries the card as idToken.idToken, in an Authorize, a TransactionEvent and a group: all masked."""
    frame = ('[2, "1", "TransactionEvent", {"idToken": {"idToken": "04A2B3C4", "type": "ISO14443"}, '
             '"transactionInfo": {"transactionId": "tx-1"}}]')
    line = FrameLog("CP1").line(frame, TO_CSMS)
    assert "04A2B3C4" not in line and '"idToken": "04**C4"' in line and '"transactionId": "tx-1"' in line
    answer = FrameLog("CP1").line('[3, "1", {"idTokenInfo": {"status": "Accepted", "groupIdToken": '
                                  '{"idToken": "FLEET0001", "type": "Central"}}}]', TO_STATION)
    assert "FLEET0001" not in answer and '"idToken": "FL**01"' in answer

"""One OCPP-J frame as one readable line: who sent it, the action with .req/.conf/.error, the payload.

The line is what a bench user reads on the console: `cp=CB0000001 station->csms Authorize.req {"idTag": "04**C4"}`
(in 2.0.1: `{"idToken": {"idToken": "04**C4", "type": "ISO14443"}}`).
A CALLRESULT or CALLERROR carries no action, so the action of each open CALL is kept by its message id.
idTags are masked unless asked otherwise: the line also goes to the log files that diagnostics collect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services.common.logs import mask_token

CALL, CALLRESULT, CALLERROR = 2, 3, 4
ID_TAG_KEYS = frozenset({"idTag", "parentIdTag", "idToken"})  # idToken: 2.0.1, also inside groupIdToken
TO_CSMS, TO_STATION = "station->csms", "csms->station"


@dataclass
class FrameLog:
    """Renders the frames of one charge point's link; remembers open CALLs to name their answers."""

    cp: str
    mask_tags: bool = True
    _open: dict[str, str] = field(default_factory=dict)  # message id -> action, both directions

    def line(self, raw: str, direction: str) -> str:
        try:
            frame = json.loads(raw)
        except ValueError:
            return f"cp={self.cp} {direction} unreadable frame {raw[:200]!r}"
        if not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[1], str):
            return f"cp={self.cp} {direction} not an OCPP-J frame {raw[:200]!r}"
        kind, message_id = frame[0], frame[1]
        if kind == CALL and len(frame) == 4:
            self._open[message_id] = str(frame[2])
            return f"cp={self.cp} {direction} {frame[2]}.req {self._payload(frame[3])}"
        action = self._open.pop(message_id, "?")
        if kind == CALLRESULT:
            return f"cp={self.cp} {direction} {action}.conf {self._payload(frame[2])}"
        if kind == CALLERROR and len(frame) == 5:
            return (f"cp={self.cp} {direction} {action}.error {frame[2]} {json.dumps(frame[3])} "
                    f"{self._payload(frame[4])}")
        return f"cp={self.cp} {direction} not an OCPP-J frame {raw[:200]!r}"

    def _payload(self, payload: Any) -> str:
        return json.dumps(_masked(payload) if self.mask_tags else payload, ensure_ascii=False)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: mask_token(v) if k in ID_TAG_KEYS and isinstance(v, str) else _masked(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value

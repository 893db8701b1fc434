"""The JSON log option: one object per line with the service, the message's key=value pairs and the OCPP
message id of the call being handled; still private, still found by time."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from services.common.logs import log_context, record_time, setup_logging


def _records(path: Path) -> list[dict[str, object]]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_session_story_in_json(tmp_path: Path) -> None:
    setup_logging("ocpp_gateway", "INFO", tmp_path, "json")
    try:
        log = logging.getLogger("services.ocpp_gateway.engine")

        async def answer(message_id: str, tag: str) -> None:
            with log_context(ocpp_message_id=message_id, ocpp_action="RemoteStartTransaction"):
                await asyncio.sleep(0)
                log.info("remote start connector=1 id_token=%s", tag)

        async def both() -> None:  # two calls at once: each record keeps its own message id
            await asyncio.gather(answer("m-1", "04A2B3C4"), answer("m-2", "05A2B3C5"))

        asyncio.run(both())
        log.info("transaction confirmed session=s-9 transaction_id=%d", 42)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("call failed action=Reset")
        records = _records(tmp_path / "logs" / "ocpp_gateway.log")
    finally:
        setup_logging("ocpp_gateway", "INFO", None)
    starts = {r["ocpp_message_id"]: r for r in records if r["message"].startswith("remote start")}
    assert set(starts) == {"m-1", "m-2"} and starts["m-1"]["id_token"] == "04**C4"  # masked at INFO
    assert starts["m-1"]["service"] == "ocpp_gateway" and starts["m-1"]["connector"] == 1
    confirmed = next(r for r in records if r["message"].startswith("transaction confirmed"))
    assert confirmed["transaction_id"] == 42 and confirmed["session"] == "s-9" and "ocpp_message_id" not in confirmed
    failed = next(r for r in records if r["level"] == "ERROR")
    assert "ValueError: boom" in str(failed["exception"]) and failed["action"] == "Reset"
    line = (tmp_path / "logs" / "ocpp_gateway.log").read_text().splitlines()[0]
    stamp = record_time(line)
    assert stamp is not None and abs((datetime.now(UTC) - stamp).total_seconds()) < 60

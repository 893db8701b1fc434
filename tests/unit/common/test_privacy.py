"""Credentials never reach a log; idTags (personal data) are masked unless the log level is DEBUG."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.common.logs import mask_id_tag, redact_url, scrub, setup_logging


@pytest.mark.parametrize(("url", "shown"), [
    ("wss://CP1:s3cr3t@csms.example.com/ocpp/CP1", "wss://CP1:***@csms.example.com/ocpp/CP1"),
    ("ftp://cs:p%40ss@10.0.0.1:2121/fw.cbfw", "ftp://cs:***@10.0.0.1:2121/fw.cbfw"),
    ("ws://127.0.0.1:9000/ocpp/CP1", "ws://127.0.0.1:9000/ocpp/CP1"),
    ("https://user@host/x", "https://user@host/x"),
])
def test_urls_lose_their_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_id_tags_are_masked_enough_to_tell_cards_apart() -> None:
    assert mask_id_tag("04A2B3C4") == "04**C4"
    assert mask_id_tag("ABC") == "A**"
    assert mask_id_tag("04A2B3C4") != mask_id_tag("05A2B3C5")


@pytest.mark.parametrize(("line", "shown"), [
    ("csms authorize failed id_tag=04A2B3C4D5: timeout", "csms authorize failed id_tag=04**D5: timeout"),
    ("start id_tag=04A2B3C4, connector=1", "start id_tag=04**C4, connector=1"),
    ("card id_tag=AB:CD:EF:01 (csms)", "card id_tag=AB**01 (csms)"),
    ("end id_tag=04A2B3C4D5", "end id_tag=04**D5"),
    ("no tag here", "no tag here"),
])
def test_scrub_masks_the_whole_tag_whatever_follows_it(line: str, shown: str) -> None:
    assert scrub(line) == shown
    assert scrub(line, mask_tags=False) == line


@pytest.mark.parametrize(("level", "tag_shown"), [("INFO", "04**C4"), ("DEBUG", "04A2B3C4")])
def test_the_log_files_follow_the_rules(tmp_path: Path, level: str, tag_shown: str) -> None:
    setup_logging("privacy", level, tmp_path)
    try:
        log = logging.getLogger("privacy.test")
        log.warning("authorize id_tag=%s parent_id_tag=%s via %s", "04A2B3C4", "FLEET0001",
                    "wss://CP1:s3cr3t@csms/ocpp")
        for handler in logging.getLogger().handlers:
            handler.flush()
        text = (tmp_path / "logs" / "privacy.log").read_text()
    finally:
        setup_logging("privacy", "INFO", None)
    assert f"id_tag={tag_shown}" in text and "s3cr3t" not in text and "CP1:***@" in text
    assert ("FLEET0001" in text) is (level == "DEBUG")

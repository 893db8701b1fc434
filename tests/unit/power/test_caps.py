"""The maintenance caps on disk: kept across restarts, an unreadable file moved aside, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.power import caps


def test_caps_round_trip_and_clearing(tmp_path: Path) -> None:
    path = tmp_path / "power_caps.json"
    assert caps.load(path) == {}
    caps.save(path, {1: 100.0})
    assert caps.load(path) == {1: 100.0}
    caps.save(path, {})
    assert caps.load(path) == {}
    assert not path.with_name("power_caps.json.tmp").exists()


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"one": 5}', '{"1": "lots"}'])
def test_an_unreadable_file_is_moved_aside_and_no_cap_applies(tmp_path: Path, content: str) -> None:
    path = tmp_path / "power_caps.json"
    path.write_text(content)
    assert caps.load(path) == {}
    aside = list(tmp_path.glob("power_caps.json.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_text() == content and not path.exists()

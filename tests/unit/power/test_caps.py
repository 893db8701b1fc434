"""The maintenance caps on disk: kept across restarts; an unreadable file fails closed, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.power import caps


def test_caps_round_trip_and_clearing(tmp_path: Path) -> None:
    path = tmp_path / "power_caps.json"
    assert caps.load(path) == caps.Caps()
    caps.save(path, {1: 100.0})
    assert caps.load(path).cap(1) == 100.0 and caps.load(path).cap(2) is None
    caps.save(path, {})
    assert caps.load(path) == caps.Caps()
    assert not path.with_name("power_caps.json.tmp").exists()


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"one": 5}', '{"1": "lots"}', '{"1": -1}',
                                     '{"1": Infinity}', '{"1": true}'])
def test_an_unreadable_file_is_kept_and_every_connector_gets_the_safe_cap(tmp_path: Path, content: str) -> None:
    path = tmp_path / "power_caps.json"
    path.write_text(content)
    loaded = caps.load(path)
    assert loaded.unreadable is not None and loaded.unreadable.startswith("power_caps.json unreadable: ")
    assert loaded.cap(1) == caps.SAFE_CAP_A and loaded.cap(2) == caps.SAFE_CAP_A
    assert path.read_text() == content  # the next start fails closed again, until a technician acts

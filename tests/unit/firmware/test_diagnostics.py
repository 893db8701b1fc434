"""The GetDiagnostics archive, opened and read: the time window, continuation lines, no secrets, atomic."""

from __future__ import annotations

import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.firmware.diagnostics import Window, archive_name, collect, filter_log

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}"


def record(t: datetime, text: str) -> str:
    return f"{stamp(t)} INFO services.x: {text}\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    (logs / "ocpp_gateway.log").write_text(
        "a line before any record\n"
        + record(T0 - timedelta(minutes=5), "too early")
        + record(T0, "at the start")
        + record(T0 + timedelta(minutes=1), "failed") + "Traceback (most recent call last):\n  boom\n"
        + record(T0 + timedelta(minutes=10), "at the stop")
        + record(T0 + timedelta(minutes=11), "too late") + "  its continuation\n")
    (logs / "ocpp_gateway.log.1").write_text(record(T0 - timedelta(hours=2), "rotated, old"))
    (logs / "power.stderr.log").write_bytes(record(T0 + timedelta(minutes=2), "stderr inside").encode()
                                            + b"\xff garbage\n")  # not UTF-8
    (logs / "notes.txt").write_text("not a log\n")
    return tmp_path / "data"


def build(data_dir: Path, out: Path, window: Window, **kw: object) -> dict[str, bytes]:
    path = collect(data_dir, out, charge_point_id="CB 0001/x", version="0.2.0",
                   config={"HeartbeatInterval": "300", "authorizationkey": "0011", "AuthorizationKey": "9f"},
                   secrets={"AuthorizationKey"}, health={"chargebus/power/health": {"state": "online"}},
                   window=window, now=T0 + timedelta(hours=1), **kw)  # type: ignore[arg-type]
    assert path.name == "diagnostics-CB0001x-20261126T130000Z.tar.gz"
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        assert all(not m.name.startswith("/") and ".." not in m.name and m.mode == 0o644 for m in members)
        return {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]


def test_the_window_keeps_the_records_inside_with_their_continuation_lines(data_dir: Path, tmp_path: Path) -> None:
    files = build(data_dir, tmp_path / "out", Window(T0, T0 + timedelta(minutes=10)))
    gateway = files["logs/ocpp_gateway.log"].decode()
    assert "at the start" in gateway and "at the stop" in gateway and "  boom" in gateway
    assert "too early" not in gateway and "too late" not in gateway and "its continuation" not in gateway
    assert "a line before any record" not in gateway
    assert "logs/ocpp_gateway.log.1" not in files  # nothing of it in the window
    assert "logs/notes.txt" not in files
    assert "\ufffd garbage" in files["logs/power.stderr.log"].decode()
    summary = json.loads(files["summary.json"])
    assert summary["logs"] == {"ocpp_gateway.log": 3, "power.stderr.log": 1} and not summary["logs_truncated"]
    assert summary["window"]["start"].startswith("2026-11-26T12:00:00")


def test_no_window_keeps_everything(data_dir: Path, tmp_path: Path) -> None:
    files = build(data_dir, tmp_path / "out", Window())
    assert files["logs/ocpp_gateway.log"].decode().startswith("a line before any record")
    assert b"rotated, old" in files["logs/ocpp_gateway.log.1"]


def test_secrets_are_left_out_whatever_their_case(data_dir: Path, tmp_path: Path) -> None:
    files = build(data_dir, tmp_path / "out", Window())
    config = json.loads(files["config.json"])
    assert config["keys"] == {"HeartbeatInterval": "300"}
    assert config["left_out"] == ["AuthorizationKey", "authorizationkey"]
    assert b"9f" not in files["config.json"] and b"0011" not in files["config.json"]
    assert files["version.txt"] == b"0.2.0\n"
    assert json.loads(files["health.json"]) == {"chargebus/power/health": {"state": "online"}}


def test_logs_beyond_the_cap_are_cut_and_said_so(data_dir: Path, tmp_path: Path) -> None:
    files = build(data_dir, tmp_path / "out", Window(), max_log_bytes=120)
    assert json.loads(files["summary.json"])["logs_truncated"] is True
    assert sum(len(v) for k, v in files.items() if k.startswith("logs/")) <= 120


def test_the_archive_appears_whole_or_not_at_all(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(data_dir, out, Window())
    assert [p.name for p in out.iterdir()] == ["diagnostics-CB0001x-20261126T130000Z.tar.gz"]
    broken = tmp_path / "broken"
    with pytest.raises(TypeError):
        collect(data_dir, broken, charge_point_id="CB", version="1", config={}, secrets=(),
                health={"x": object.__new__(type("Unserialisable", (), {"__str__": None}))},  # type: ignore[dict-item]
                window=Window(), now=T0)
    assert list(broken.iterdir()) == []


def test_a_missing_logs_folder_is_no_error(tmp_path: Path) -> None:
    files = build(tmp_path / "empty", tmp_path / "out", Window())
    assert not any(name.startswith("logs/") for name in files)


def test_the_archive_name_is_safe() -> None:
    assert archive_name("../../etc", T0) == "diagnostics-....etc-20261126T120000Z.tar.gz"  # no separator left
    assert "/" not in archive_name("a/b", T0) and archive_name("", T0).startswith("diagnostics-station-")


@given(st.lists(st.integers(0, 3600), min_size=1, max_size=30), st.integers(0, 3600), st.integers(0, 3600))
def test_filter_log_keeps_exactly_the_records_in_the_window(offsets: list[int], a: int, b: int) -> None:
    times = [T0 + timedelta(seconds=s) for s in sorted(offsets)]
    lines = [record(t, f"r{i}") for i, t in enumerate(times)]
    window = Window(T0 + timedelta(seconds=min(a, b)), T0 + timedelta(seconds=max(a, b)))
    assert list(filter_log(lines, window)) == [line for line, t in zip(lines, times, strict=True)
                                               if window.contains(t)]

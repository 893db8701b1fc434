"""The GetDiagnostics archive, opened and read back: the time window (boundaries, continuation lines, rotated and
stderr logs), no secrets, version, health, summary, the log cap, and an archive that appears whole or not at all."""

from __future__ import annotations

import itertools
import json
import os
import tarfile
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.firmware.diagnostics import Window, archive_name, collect, filter_log

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
START, STOP = T0, T0 + timedelta(minutes=10)
NOW = datetime(2026, 11, 26, 17, 33, 11, 515000, tzinfo=UTC)
MS = timedelta(milliseconds=1)
ARCHIVE = "diagnostics-CB0000001-20261126T173311Z.tar.gz"


def stamp(t: datetime) -> str:
    """Python logging's default asctime: '2026-11-26 17:33:11,515'."""
    return t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}"


def rec(t: datetime, text: str, *continuation: str) -> str:
    return f"{stamp(t)} INFO services.x: {text}\n" + "".join(f"{line}\n" for line in continuation)


TRACEBACK = ("Traceback (most recent call last):", '  File "services/power/service.py", line 12, in run',
             "ValueError: boom")

# each log file as chunks (a record with its continuation lines, or lines before the first record), each marked
# with whether it belongs in the START..STOP window; written in this order
LOGS: dict[str, list[tuple[str, bool]]] = {
    "ocpp_gateway.log": [
        ("a header line before any record\n", False),
        (rec(START + timedelta(minutes=1), "failed", *TRACEBACK), True),
        (rec(STOP, "at the stop", "\tcontinued at the stop"), True),
        (rec(STOP + MS, "just too late", "  continuation of just too late"), False),
    ],
    "ocpp_gateway.log.1": [  # the rotated backup: older, straddles the start
        (rec(START - timedelta(minutes=1), "rotated early", "  continuation of rotated early"), False),
        (rec(START + timedelta(seconds=30), "rotated inside", "  continuation of rotated inside"), True),
    ],
    "ocpp_gateway.log.2": [(rec(START - timedelta(hours=2), "long ago", *TRACEBACK), False)],
    "power.log": [
        (rec(START - MS, "power just too early"), False),
        (rec(START, "power at the start"), True),
        (rec(STOP + timedelta(hours=1), "power later"), False),
    ],
    "power.stderr.log": [
        (rec(START + timedelta(minutes=2), "stderr inside", "Fatal Python error: Aborted"), True),
        (rec(STOP + timedelta(minutes=5), "stderr late"), False),
    ],
    "metering.stderr.log.1": [(rec(START - timedelta(hours=3), "metering stderr, old"), False)],
}
NOT_UTF8 = b"\xff\xfe not utf-8\n"  # appended to power.stderr.log's first record as a continuation line
CONFIG = {"HeartbeatInterval": "300", "MeterValueSampleInterval": "60", "AuthorizationKey": "0011aabbccdd",
          "AllowOfflineTxForUnknownId": "false"}
HEALTH: dict[str, Any] = {"chargebus/power/health": {"state": "online", "since": T0},
                          "chargebus/auth/health": {"state": "online"}}


def contents(name: str, window: bool) -> str:
    text = "".join(chunk for chunk, inside in LOGS[name] if inside or not window)
    if name == "power.stderr.log":  # the bad bytes follow the first record, inside the window
        first = LOGS[name][0][0]
        text = text.replace(first, first + "\ufffd\ufffd not utf-8\n")
    return text


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    for name, chunks in LOGS.items():
        data = "".join(chunk for chunk, _ in chunks).encode()
        if name == "power.stderr.log":
            first = chunks[0][0].encode()
            data = data.replace(first, first + NOT_UTF8)
        (logs / name).write_bytes(data)
    (logs / "auth.log").write_bytes(b"")  # empty: nothing to say, even without a window
    (logs / "notes.txt").write_text(rec(START, "not a log file"))
    (logs / "old.log").mkdir()  # a folder named like a log
    return tmp_path / "data"


def build(data_dir: Path, out_dir: Path, window: Window, **overrides: Any) -> Path:
    kwargs: dict[str, Any] = {"charge_point_id": "CB0000001", "version": "0.2.0", "config": CONFIG,
                              "secrets": {"AuthorizationKey"}, "health": HEALTH, "window": window, "now": NOW}
    kwargs.update(overrides)
    return collect(data_dir, out_dir, **kwargs)


def read(archive: Path) -> dict[str, bytes]:
    """Every member, in archive order; checks what every member must be on the way."""
    with tarfile.open(archive, "r:gz") as tar:
        files: dict[str, bytes] = {}
        for member in tar.getmembers():
            assert member.isfile(), member.name
            assert not os.path.isabs(member.name) and ".." not in member.name, member.name
            assert member.mode == 0o644, (member.name, oct(member.mode))
            assert member.mtime == int(NOW.timestamp()), member.name
            extracted = tar.extractfile(member)
            assert extracted is not None
            files[member.name] = extracted.read()
        return files


def logs_of(files: dict[str, bytes]) -> dict[str, str]:
    return {name.removeprefix("logs/"): data.decode() for name, data in files.items() if name.startswith("logs/")}


def test_the_window_keeps_exactly_the_records_inside_with_their_continuation_lines(data_dir: Path,
                                                                                   tmp_path: Path) -> None:
    archive = build(data_dir, tmp_path / "out", Window(START, STOP))
    assert archive == tmp_path / "out" / ARCHIVE
    files = read(archive)
    logs = logs_of(files)
    # rotated backup and stderr log included; files with nothing in the window, empty files, non-logs: absent
    assert set(logs) == {"ocpp_gateway.log", "ocpp_gateway.log.1", "power.log", "power.stderr.log"}
    for name, text in logs.items():
        assert text == contents(name, window=True), name
    # the boundaries are inclusive to the millisecond, and one millisecond outside is out
    assert "power at the start" in logs["power.log"] and "power just too early" not in logs["power.log"]
    assert "\tcontinued at the stop\n" in logs["ocpp_gateway.log"]
    assert "just too late" not in logs["ocpp_gateway.log"]
    # a traceback stays right after its record; the header before the first record goes once a window is given
    assert logs["ocpp_gateway.log"].startswith(rec(START + timedelta(minutes=1), "failed", *TRACEBACK))
    assert "header" not in logs["ocpp_gateway.log"]
    assert sorted(files) == sorted([*(f"logs/{n}" for n in logs), "config.json", "version.txt", "health.json",
                                    "summary.json"])


def test_without_a_window_every_log_is_kept_whole(data_dir: Path, tmp_path: Path) -> None:
    logs = logs_of(read(build(data_dir, tmp_path / "out", Window())))
    assert set(logs) == set(LOGS)  # every log, backups and stderr included; not the empty one, not notes.txt
    for name, text in logs.items():
        assert text == contents(name, window=False), name
    assert logs["ocpp_gateway.log"].startswith("a header line before any record\n")


def test_an_open_ended_window(data_dir: Path, tmp_path: Path) -> None:
    since = logs_of(read(build(data_dir, tmp_path / "since", Window(start=STOP + MS))))
    assert since == {"ocpp_gateway.log": rec(STOP + MS, "just too late", "  continuation of just too late"),
                     "power.log": rec(STOP + timedelta(hours=1), "power later"),
                     "power.stderr.log": rec(STOP + timedelta(minutes=5), "stderr late")}
    until = logs_of(read(build(data_dir, tmp_path / "until", Window(stop=START - timedelta(hours=2)))))
    assert until == {"ocpp_gateway.log.2": rec(START - timedelta(hours=2), "long ago", *TRACEBACK),
                     "metering.stderr.log.1": rec(START - timedelta(hours=3), "metering stderr, old")}


def test_the_summary_says_what_is_in_the_archive(data_dir: Path, tmp_path: Path) -> None:
    files = read(build(data_dir, tmp_path / "out", Window(START, STOP)))
    summary = json.loads(files["summary.json"])
    assert summary == {
        "charge_point_id": "CB0000001", "version": "0.2.0", "created": "2026-11-26T17:33:11.515000Z",
        "window": {"start": "2026-11-26T12:00:00Z", "stop": "2026-11-26T12:10:00Z"},
        "logs": {"ocpp_gateway.log": 2, "power.log": 1, "power.stderr.log": 1, "ocpp_gateway.log.1": 1},
        "logs_truncated": False, "max_log_bytes": 50_000_000, "logs_unreadable": {},
    }
    unbounded = json.loads(read(build(data_dir, tmp_path / "all", Window()))["summary.json"])
    assert unbounded["window"] == {"start": None, "stop": None}
    assert unbounded["logs"]["ocpp_gateway.log"] == 3  # the header line is no record


@pytest.mark.parametrize(("secret", "key"), [("AuthorizationKey", "AuthorizationKey"),
                                             ("AuthorizationKey", "authorizationkey"),
                                             ("AUTHORIZATIONKEY", "AuthorizationKey")])
def test_secret_keys_are_left_out_whatever_their_case(data_dir: Path, tmp_path: Path, secret: str, key: str) -> None:
    config = {k: v for k, v in CONFIG.items() if k != "AuthorizationKey"} | {key: "0011aabbccdd"}
    files = read(build(data_dir, tmp_path / "out", Window(), config=config, secrets=[secret, "NotAKeyWeHave"]))
    parsed = json.loads(files["config.json"])
    assert parsed == {"keys": {"AllowOfflineTxForUnknownId": "false", "HeartbeatInterval": "300",
                               "MeterValueSampleInterval": "60"},
                      "left_out": [key]}  # a secret we do not have is not listed
    assert list(parsed["keys"]) == sorted(parsed["keys"])  # sorted in the file itself
    assert b"0011aabbccdd" not in files["config.json"]
    assert all(b"0011aabbccdd" not in data for data in files.values())


def test_version_and_health(data_dir: Path, tmp_path: Path) -> None:
    files = read(build(data_dir, tmp_path / "out", Window()))
    assert files["version.txt"] == b"0.2.0\n"
    health = files["health.json"].decode()
    assert json.loads(health) == {"chargebus/auth/health": {"state": "online"},
                                  "chargebus/power/health": {"since": "2026-11-26 12:00:00+00:00", "state": "online"}}
    assert health.index("chargebus/auth/health") < health.index("chargebus/power/health")  # sorted keys


def test_logs_beyond_the_cap_are_cut_at_a_line_the_oldest_first_and_said_so(data_dir: Path, tmp_path: Path) -> None:
    full = logs_of(read(build(data_dir, tmp_path / "full", Window())))
    order = list(full)
    # every current file before any rotated backup: the cap drops the oldest logs
    assert order[:3] == ["ocpp_gateway.log", "power.log", "power.stderr.log"]
    assert order[3:] == ["metering.stderr.log.1", "ocpp_gateway.log.1", "ocpp_gateway.log.2"]
    total = sum(len(text.encode()) for text in full.values())

    exact = read(build(data_dir, tmp_path / "exact", Window(), max_log_bytes=total))
    assert logs_of(exact) == full and json.loads(exact["summary.json"])["logs_truncated"] is False

    first = len(full["ocpp_gateway.log"].encode())
    cap = first + 100  # power.log is cut after its first line (the first record is 75 bytes, two are 150)
    cut = read(build(data_dir, tmp_path / "cut", Window(), max_log_bytes=cap))
    logs = logs_of(cut)
    assert list(logs) == ["ocpp_gateway.log", "power.log"]
    assert logs["ocpp_gateway.log"] == full["ocpp_gateway.log"]
    assert logs["power.log"] == LOGS["power.log"][0][0]  # whole lines only
    assert sum(len(text.encode()) for text in logs.values()) <= cap
    summary = json.loads(cut["summary.json"])
    assert summary["logs_truncated"] is True and summary["max_log_bytes"] == cap
    assert summary["logs"] == {"ocpp_gateway.log": 3, "power.log": 1}

    nothing = read(build(data_dir, tmp_path / "none", Window(), max_log_bytes=0))
    assert logs_of(nothing) == {} and json.loads(nothing["summary.json"])["logs_truncated"] is True


def test_once_the_cap_is_reached_no_later_line_gets_in(tmp_path: Path) -> None:
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    (logs / "a.log").write_text(rec(START, "short") + rec(START, "y" * 200) + rec(START, "short again"))
    (logs / "b.log").write_text(rec(START, "short"))
    files = read(build(tmp_path / "data", tmp_path / "out", Window(), max_log_bytes=100))
    # the long record does not fit: neither the short one after it nor b.log's, although each would
    assert logs_of(files) == {"a.log": rec(START, "short")}
    assert json.loads(files["summary.json"])["logs_truncated"] is True


def test_a_log_without_any_timestamp_is_kept_only_without_a_window(tmp_path: Path) -> None:
    # what a child writes to stderr before logging is set up (an import error) has no time of its own
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    crash = "Traceback (most recent call last):\n  File \"x.py\", line 1\nImportError: no module named y\n"
    (logs / "auth.stderr.log").write_text(crash)
    files = read(build(tmp_path / "data", tmp_path / "all", Window()))
    assert logs_of(files) == {"auth.stderr.log": crash}
    assert json.loads(files["summary.json"])["logs"] == {"auth.stderr.log": 0}
    assert logs_of(read(build(tmp_path / "data", tmp_path / "window", Window(START, STOP)))) == {}


def test_a_missing_logs_folder_is_no_error(tmp_path: Path) -> None:
    files = read(build(tmp_path / "no-data-here", tmp_path / "out", Window(START, STOP)))
    assert sorted(files) == ["config.json", "health.json", "summary.json", "version.txt"]
    summary = json.loads(files["summary.json"])
    assert summary["logs"] == {} and summary["logs_truncated"] is False


def test_a_log_rotated_away_while_collecting_is_reported_not_fatal(data_dir: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = Path.open

    def rotating_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "ocpp_gateway.log.1":
            raise FileNotFoundError(2, "No such file or directory", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", rotating_open)
    files = read(build(data_dir, tmp_path / "out", Window(START, STOP)))
    summary = json.loads(files["summary.json"])
    assert summary["logs_unreadable"] == {"ocpp_gateway.log.1": "FileNotFoundError: No such file or directory"}
    assert set(logs_of(files)) == {"ocpp_gateway.log", "power.log", "power.stderr.log"}


def test_bytes_that_are_no_utf8_are_replaced(tmp_path: Path) -> None:
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    (logs / "binary.stderr.log").write_bytes(rec(START, "x").encode() + bytes(range(256)) + b"\n")
    text = logs_of(read(build(tmp_path / "data", tmp_path / "out", Window(START, STOP))))["binary.stderr.log"]
    assert text.startswith(rec(START, "x")) and "\ufffd" in text and text.endswith("\n")


def test_the_archive_is_written_aside_then_renamed(data_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        renames.append((Path(src), Path(dst)))
        assert not Path(dst).exists()  # the final name appears only through the rename
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    archive = build(data_dir, out, Window())
    assert renames == [(renames[0][0], archive)] and renames[0][0].parent == out  # same folder: an atomic rename
    assert [p.name for p in out.iterdir()] == [ARCHIVE]  # no temp file left
    assert archive.stat().st_mode & 0o777 == 0o644


def _fail_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)


def _fail_rename(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_src: Any, _dst: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", fail)


def _disk_full_mid_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    real_addfile = tarfile.TarFile.addfile
    calls = itertools.count()

    def addfile(self: tarfile.TarFile, info: tarfile.TarInfo, fileobj: Any = None) -> None:
        if next(calls) == 2:  # after two logs went in
            raise OSError(28, "No space left on device")
        real_addfile(self, info, fileobj)

    monkeypatch.setattr(tarfile.TarFile, "addfile", addfile)


@pytest.mark.parametrize("inject", [_fail_fsync, _fail_rename, _disk_full_mid_archive])
def test_a_failure_leaves_no_partial_archive(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             inject: Any) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ARCHIVE).write_bytes(b"the archive of an earlier request")
    inject(monkeypatch)
    with pytest.raises(OSError):
        build(data_dir, out, Window())
    assert [p.name for p in out.iterdir()] == [ARCHIVE]  # no temp file left behind
    assert (out / ARCHIVE).read_bytes() == b"the archive of an earlier request"  # not overwritten by half a file


def test_an_unserialisable_health_value_fails_cleanly(data_dir: Path, tmp_path: Path) -> None:
    class NoText:
        __str__ = None  # type: ignore[assignment]  # json's default=str fails on it

    out = tmp_path / "out"
    with pytest.raises(TypeError):
        build(data_dir, out, Window(), health={"x": NoText()})
    assert list(out.iterdir()) == []


def test_logs_are_streamed_not_read_whole(tmp_path: Path) -> None:
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    line = rec(START, "x" * 2000)  # long lines: tracemalloc's cost is per allocation, and this test stays fast
    count = 4_000  # ~8 MB, every record in the window
    with (logs / "big.log").open("w") as f:
        f.writelines(itertools.repeat(line, count))
    tracemalloc.start()
    try:
        archive = build(tmp_path / "data", tmp_path / "out", Window(START, STOP))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000, peak  # the file is 8 MB
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.getmember("logs/big.log")
        assert member.size == len(line.encode()) * count
        assert json.loads(tar.extractfile("summary.json").read())["logs"] == {"big.log": count}  # type: ignore[union-attr]


def test_filter_log_is_lazy() -> None:
    def endless() -> Iterator[str]:
        for i in itertools.count():
            yield rec(START + timedelta(seconds=i), f"r{i}")

    first = list(itertools.islice(filter_log(endless(), Window(START + timedelta(seconds=5), None)), 2))
    assert first == [rec(START + timedelta(seconds=5), "r5"), rec(START + timedelta(seconds=6), "r6")]


def test_window_bounds_are_inclusive_and_in_utc() -> None:
    window = Window(START, STOP)
    assert window.contains(START) and window.contains(STOP)
    assert not window.contains(START - MS) and not window.contains(STOP + MS)
    assert Window().contains(datetime(1970, 1, 1, tzinfo=UTC))
    # the same instant in another zone, and a naive time taken as UTC
    cet = Window(datetime(2026, 11, 26, 13, 0, tzinfo=timezone(timedelta(hours=1))), None)
    assert cet.start == START and cet.start.tzinfo is UTC
    assert Window(None, datetime(2026, 11, 26, 12, 10)).stop == STOP


def test_the_archive_name() -> None:
    assert archive_name("CB0000001", NOW) == ARCHIVE
    assert archive_name("../../etc/cb 1", T0) == "diagnostics-....etccb1-20261126T120000Z.tar.gz"  # no separator
    assert archive_name("CB", datetime(2026, 11, 26, 18, 33, 11, tzinfo=timezone(timedelta(hours=1)))) == \
        "diagnostics-CB-20261126T173311Z.tar.gz"  # the time in UTC
    assert archive_name("", T0) == "diagnostics-station-20261126T120000Z.tar.gz"


@given(st.text(max_size=40))
def test_the_archive_name_keeps_only_safe_characters(charge_point_id: str) -> None:
    name = archive_name(charge_point_id, T0)
    middle = name.removeprefix("diagnostics-").removesuffix("-20261126T120000Z.tar.gz")
    assert middle == ("".join(c for c in charge_point_id if c.isascii() and (c.isalnum() or c in "._-"))
                      or "station")


OFFSETS = st.integers(0, 10_000)  # milliseconds after T0: several records share a second, some an instant


@given(st.lists(st.tuples(OFFSETS, st.integers(0, 2)), max_size=25), st.integers(0, 2),
       st.one_of(st.none(), OFFSETS), st.one_of(st.none(), OFFSETS))
def test_filter_log_keeps_exactly_the_records_in_the_window(records: list[tuple[int, int]], preamble: int,
                                                            start: int | None, stop: int | None) -> None:
    times = sorted(records)
    window = Window(None if start is None else T0 + start * MS, None if stop is None else T0 + stop * MS)
    lines = [f"preamble {i}\n" for i in range(preamble)]
    expected = list(lines) if start is None and stop is None else []
    for i, (offset, continuations) in enumerate(times):
        t = T0 + offset * MS
        record = [f"{stamp(t)} WARNING services.x: r{i}\n",
                  *(f"  r{i} continuation {j}\n" for j in range(continuations))]
        lines += record
        if (start is None or start <= offset) and (stop is None or offset <= stop):
            expected += record
    assert list(filter_log(lines, window)) == expected


def test_the_security_log_is_the_security_events_within_the_window_and_nothing_else(tmp_path: Path) -> None:
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    (logs / "ocpp_gateway.log").write_text(
        rec(START - MS, "security event type=StartupOfTheDevice info=before the window")
        + rec(START, "security event type=StartupOfTheDevice info=chargebus 0.2.0")
        + rec(START + MS, "boot registration=Accepted", *TRACEBACK)
        + rec(STOP, "security event type=FailedToAuthenticateAtCsms info=HTTP 401"))
    (logs / "power.log").write_text(rec(START, "connector=1 plugged=True"))
    archive = build(tmp_path / "data", tmp_path / "out", Window(START, STOP), security_only=True)
    assert archive.name == ARCHIVE.replace("diagnostics-", "securitylog-")
    files = read(archive)
    assert sorted(files) == ["logs/ocpp_gateway.log", "summary.json", "version.txt"]  # no config, no health
    assert logs_of(files)["ocpp_gateway.log"] == (
        rec(START, "security event type=StartupOfTheDevice info=chargebus 0.2.0")
        + rec(STOP, "security event type=FailedToAuthenticateAtCsms info=HTTP 401"))

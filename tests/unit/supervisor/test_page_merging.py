"""Which memory is offered to the kernel's same-page merging, and what the supervisor says of the kernel's side."""

from __future__ import annotations

from pathlib import Path

from services.supervisor.page_merging import _anonymous_writable, ksmd_state

MAPS = """\
55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 123 /usr/bin/python3.11
55d0c0c00000-55d0c0c21000 rw-p 00200000 fe:01 123 /usr/bin/python3.11
55d0c1000000-55d0c1400000 rw-p 00000000 00:00 0 [heap]
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
7f0000100000-7f0000200000 rw-s 00000000 00:05 77 /dev/zero (deleted)
7f0000200000-7f0000201000 ---p 00000000 00:00 0
7f0000300000-7f0000400000 rw-p 00000000 fe:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]
"""


def test_only_the_heap_and_private_anonymous_mappings_are_offered() -> None:
    # a file's data, memory shared with another process, a guard page and the stack are never the image's objects
    assert _anonymous_writable(MAPS) == [(0x55D0C1000000, 0x55D0C1400000), (0x7F0000000000, 0x7F0000100000)]


def test_the_log_says_whether_the_kernel_merges(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.write_text("1\n")
    assert ksmd_state(run).startswith("ksmd runs")
    run.write_text("0\n")
    off = ksmd_state(run)
    assert "does not run" in off and f"echo 1 > {run}" in off  # and how to turn it on
    assert "has no same-page merging" in ksmd_state(tmp_path / "absent")

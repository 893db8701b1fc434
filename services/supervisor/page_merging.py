"""Kernel same-page merging (KSM) of the memory the station's processes share from the launcher.

Why: every service is forked from the launcher's pre-imported image and shares its pages copy-on-write, but
CPython writes to an object's reference count whenever code uses it, so each service soon has its own copy of
about a quarter of that image (9 to 15 MB a process), and a third of those copies end up byte for byte what
they were: the count went up and back down. KSM finds such identical pages and shares them again; `make bench`
measures about 49 MB less for the station (195 to 146 MB).

The anonymous memory of the image is offered (`madvise(MADV_MERGEABLE)`, before the first fork; every child
inherits the mark), and on Linux 6.4 or later all anonymous memory of the station's processes, including what
each service allocates after its fork (`prctl(PR_SET_MEMORY_MERGE)`, inherited the same way): services forked
from the same image and started the same way allocate the same objects at the same addresses, and about 3 MB
of those pages are alike. The kernel merges only while its `ksmd` thread runs (`/sys/kernel/mm/ksm/run` = 1,
which the systemd unit sets). What it costs, and why `page_merging = false` exists, is in docs/station.md
("Memory").
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

MADV_MERGEABLE = 12
PR_SET_MEMORY_MERGE = 67
KSM_RUN = Path("/sys/kernel/mm/ksm/run")


def _anonymous_writable(maps: str) -> list[tuple[int, int]]:
    """The private, writable mappings that no file backs (the heap and every anonymous mapping: the
    interpreter's object arenas), from the text of /proc/self/maps. Not the stack, which is each process's own."""
    found = []
    for line in maps.splitlines():
        fields = line.split()
        name = fields[5] if len(fields) > 5 else ""
        if fields[1] != "rw-p" or name not in ("", "[heap]"):
            continue
        start, end = (int(bound, 16) for bound in fields[0].split("-"))
        found.append((start, end))
    return found


def mark_mergeable() -> None:
    """Offer this process's anonymous memory to KSM, and what it and its children allocate later where the kernel
    can (Linux 6.4+; an older one refuses the prctl, and the image alone is offered).

    Raises OSError when the kernel has no KSM (EINVAL) or refuses: the station then runs as without it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    for start, end in _anonymous_writable(Path("/proc/self/maps").read_text()):
        if libc.madvise(start, end - start, MADV_MERGEABLE) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"madvise(MADV_MERGEABLE): {os.strerror(errno)}")
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    libc.prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0)


def ksmd_state(run_file: Path = KSM_RUN) -> str:
    """What the kernel does with the offered pages, in a line for the log."""
    try:
        run = run_file.read_text().strip()
    except FileNotFoundError:
        return "the kernel has no same-page merging (no /sys/kernel/mm/ksm): nothing is merged"
    except OSError as exc:
        return f"cannot read {run_file}: {exc.strerror}"
    if run == "1":
        return "ksmd runs: pages the services share are merged again"
    return (f"ksmd does not run ({run_file} = {run}): nothing is merged, the station takes about 45 MB more; "
            f"`echo 1 > {run_file}` as root turns it on (the systemd unit does)")

"""Which of two versions is older: the release numbers, then a pre-release (a, b, rc) before the release.

Enough of PEP 440 for this project's versions (`0.2.0`, `1.0.0rc1`, `0.1.0+src`); a version it cannot read
is older than anything, so an image with one is never installed over a running version.
"""

from __future__ import annotations

import re

_FORM = re.compile(r"v?(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?(?:\+[A-Za-z0-9.]+)?")
_PRE = {"a": 0, "b": 1, "rc": 2}
_FINAL = 3


def key(version: str) -> tuple[tuple[int, ...], int, int] | None:
    """A sort key, or None for a version this module cannot read; a local label (`+src`) does not count."""
    match = _FORM.fullmatch(version.strip().lower())
    if match is None:
        return None
    release = tuple(int(n) for n in match[1].split("."))
    while len(release) > 1 and release[-1] == 0:  # 0.2 and 0.2.0 are one version
        release = release[:-1]
    pre = (_PRE[match[2]], int(match[3])) if match[2] else (_FINAL, 0)
    return release, *pre


def older(candidate: str, running: str) -> bool:
    """True when `candidate` comes before `running`, or cannot be compared with it."""
    new, now = key(candidate), key(running)
    return new is None or now is None or new < now

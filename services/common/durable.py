"""Files that survive a power cut whole: written beside their place, flushed to disk, renamed over the old
one, and the directory synced (the rename is durable only once the directory entry is on disk)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replaced(final: Path, mode: int = 0o644, *, dir_sync_may_fail: bool = False) -> Iterator[IO[bytes]]:
    """Write `final` as a whole or not at all: what the block writes replaces it once the block ends well;
    a failure leaves the old file (or none) and no temporary behind. `dir_sync_may_fail`: some file systems
    refuse to sync a directory, which is then not an error."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)  # mkstemp makes it 0600
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if dir_sync_may_fail:
        with contextlib.suppress(OSError):
            fsync_dir(final.parent)
    else:
        fsync_dir(final.parent)


def write_text(path: Path, text: str) -> None:
    with replaced(path) as out:
        out.write(text.encode("utf-8"))

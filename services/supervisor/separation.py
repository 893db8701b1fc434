"""One user per bus account: who each child runs as, and the data directory made for it.

Run as root (systemd, `sudo make run`, CI), the supervisor has the launcher start each child under its
account's uid (`bus_accounts.account_uid`) in the station's group, so a compromised service reads its own
bus password and no other. Run as anyone else, every child is that user, as before: one warning says so.

The data directory is root's, group the station's, mode 1770: a service creates its own files there and
cannot rename or delete another's (the sticky bit). A station that ran before as one user keeps its data:
at every start each service gets back what it writes (its databases, its logs; `power_caps.json` to
power; the firmware tree, but `firmware/boot.json`, to firmware). Symbolic links and files with more than
one link are never handed over: a service cannot make root give it a file it planted a link to.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from services.common.bus_accounts import ACCOUNTS, account_uid, station_gid
from services.common.settings import Settings

log = logging.getLogger(__name__)

SHARED_MODE = 0o1770  # the data directory and logs/: each creates its own, touches no other's
FAILPOINTS_MODE = 0o770  # a test arms a point as root, the service it fires in removes it
UNACCOUNTED = "csms"  # the bench's dev CSMS holds no bus account: the uid equal to the group's number


class Identity(NamedTuple):
    uid: int
    gid: int


def identity(settings: Settings, child: str) -> Identity:
    """Whom the child named `child` runs as."""
    gid = station_gid(settings)
    return Identity(account_uid(settings, child) if child in ACCOUNTS else gid, gid)


def broker_identity(settings: Settings) -> Identity:
    """The broker container under compose (under `chargebus run` the broker stays root: it reads the hashed
    passwords, root's alone, at start)."""
    return Identity(station_gid(settings), station_gid(settings))


def separates() -> bool:
    return os.geteuid() == 0


def unreachable(settings: Settings) -> Path | None:
    """A directory the children need (the interpreter's, the code's, the data's) that their group cannot
    reach: dropping to their uids would only make every child fail to start."""
    gid = station_gid(settings)
    needed = {Path(sys.prefix), Path(sys.base_prefix), Path(os.__file__).parent,
              Path(__file__).resolve().parents[1], settings.data_dir.resolve().parent}
    for path in sorted(needed):
        for folder in (path, *path.parents):
            try:
                info = folder.stat()
            except OSError:
                return folder
            if not info.st_mode & stat.S_IXOTH and not (info.st_gid == gid and info.st_mode & stat.S_IXGRP):
                return folder
    return None


def decide(settings: Settings) -> bool:
    """Whether the children run as their accounts; the one line that says when they cannot."""
    if not separates():
        log.warning("every process of the station runs as this user (uid %d), so each can read every bus "
                    "password: run it as root (systemd unit, `sudo make run`) or under compose for one user "
                    "per service", os.geteuid())
        return False
    blocked = unreachable(settings)
    if blocked is not None:
        log.warning("every process of the station runs as root: %s is closed to the station's group %d, so the "
                    "services could not start as their own users; make it traversable (chmod o+x) for one "
                    "user per service", blocked, station_gid(settings))
        return False
    return True


def prepare_data_dir(settings: Settings) -> None:
    """Root's, the group's, 1770; every service's existing files handed to it (as root, at every start)."""
    data, gid = settings.data_dir, station_gid(settings)
    logs, failpoints = data / "logs", data / "failpoints"
    for folder, mode in ((data, SHARED_MODE), (logs, SHARED_MODE), (failpoints, FAILPOINTS_MODE)):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, 0, gid, follow_symlinks=False)
        folder.chmod(mode)
    for name in (*ACCOUNTS, UNACCOUNTED):
        uid = identity(settings, name).uid
        for path in (*data.glob(f"{name}.sqlite*"), *logs.glob(f"{name}.log*")):
            _hand(path, uid, gid)
    _hand(data / "power_caps.json", account_uid(settings, "power"), gid)
    _hand(data / "boot-generation", account_uid(settings, "supervisor"), gid)  # compose's restart orders
    firmware = data / "firmware"
    boot = firmware / "boot.json"
    for path in _tree(firmware):
        if path != boot:
            _hand(path, account_uid(settings, "firmware"), gid)


def hand_broker_files(settings: Settings, folder: Path) -> None:
    """Compose: the broker container, not root, reads its configuration, passwords and ACL and writes its
    persistence: all of `folder` is its own, closed to every other uid."""
    broker = broker_identity(settings)
    for path in _tree(folder):
        _hand(path, broker.uid, broker.gid)


def _tree(root: Path) -> Iterator[Path]:
    """`root` and everything below it, without following a link."""
    if not root.is_dir() or root.is_symlink():
        return
    yield root
    for top, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            yield Path(top) / name


def _hand(path: Path, uid: int, gid: int) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or (not stat.S_ISDIR(info.st_mode) and info.st_nlink > 1):
        return
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(path, uid, gid, follow_symlinks=False)


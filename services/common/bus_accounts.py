"""The broker's accounts: one per service, one for the supervisor and a read-write one for the `chargebus`
command line. The supervisor (or `chargebus broker-setup` under compose) makes the passwords on the first
start; each process reads its own from the data directory.

Each account is also a user of the machine (uid `account_uid_base`+1+its index here), all in one group
(gid `account_uid_base`): when the station runs as root every process runs as its account and the password
file of an account is readable by that uid only (docs/station.md, "Bus accounts and process separation").
The numbers are fixed by this order: a new account goes at the end.

A process that finds no password file connects anonymously: on the loopback listener that is read-only.
"""

from __future__ import annotations

from pathlib import Path

from .settings import SERVICES, Settings

CLI = "cli"
ACCOUNTS: tuple[str, ...] = ("supervisor", *SERVICES, CLI)


def account_uid(settings: Settings, account: str) -> int:
    return settings.account_uid_base + 1 + ACCOUNTS.index(account)


def station_gid(settings: Settings) -> int:
    """The group of every process of the station (it reads the logs of the others, never their passwords)."""
    return settings.account_uid_base


def accounts_dir(settings: Settings) -> Path:
    return settings.data_dir / "bus-accounts"


def password_path(settings: Settings, account: str) -> Path:
    return accounts_dir(settings) / account


def credentials(settings: Settings, account: str) -> tuple[str, str] | None:
    """(user, password) of `account`, or None when this process may not or cannot read it."""
    if account not in ACCOUNTS:
        return None
    try:
        password = password_path(settings, account).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return (account, password) if password else None

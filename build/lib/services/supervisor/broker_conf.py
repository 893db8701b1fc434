"""The broker configuration `chargebus run` writes into the data directory before starting Mosquitto."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

from services.common.settings import Settings

# the same rules as deploy/mosquitto/acl: every client is anonymous on loopback, confined to our namespace
ACL = "topic readwrite chargebus/#\ntopic read $SYS/#\n"


AUTOSAVE_S = 300  # see write_conf
MAX_PACKET_BYTES = 4 * 1024 * 1024
MAX_QUEUED_BYTES = 16 * 1024 * 1024


def broker_dir(settings: Settings) -> Path:
    return settings.data_dir / "mosquitto"


def broker_db(settings: Settings) -> Path:
    return broker_dir(settings) / "mosquitto.db"


def move_aside(db: Path) -> Path:
    """Rename a persistence file the broker cannot read: kept for a technician, never deleted."""
    aside = db.with_name(f"{db.name}.unreadable-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
    db.rename(aside)
    return aside


def write_conf(settings: Settings) -> Path:
    """Write mosquitto.conf for this station and return its path.

    Loopback only: the bus is the station's inside; nothing outside the box may publish a set-point.
    `set_tcp_nodelay` cuts a QoS 1 round trip from ~44 ms to ~1.5 ms.

    Persistence keeps the sessions (subscriptions, queued QoS 1 messages of a restarting service) and the
    retained states, saved every `AUTOSAVE_S` and at an orderly stop. Not every second: mosquitto rewrites
    its whole file at each save, idle or not, and that wears out flash. What a crash of the broker loses
    of the retained states is published again by each owner when it reconnects; SQLite holds the
    station's data. `max_packet_size` and `max_queued_bytes` bound what one client can make it hold.
    """
    folder = broker_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    acl = folder / "acl"
    acl.write_text(ACL, encoding="utf-8")
    acl.chmod(0o600)  # mosquitto ≥ 2.0.16 warns about (later ones refuse) an ACL others may read
    conf = folder / "mosquitto.conf"
    conf.write_text(
        "# written by `chargebus run` at every start: edit deploy/ or the settings, not this file\n"
        f"listener {settings.mqtt_port} {settings.mqtt_host}\n"
        # as root, mosquitto would switch to its own user and could not write our data dir
        f"user {getpass.getuser()}\n"
        "allow_anonymous true\n"
        f"acl_file {acl.resolve()}\n"
        "set_tcp_nodelay true\n"
        "persistence true\n"
        f"persistence_location {folder.resolve()}/\n"
        f"autosave_interval {AUTOSAVE_S}\n"
        "max_queued_messages 100000\n"
        "max_inflight_messages 100\n"
        f"max_queued_bytes {MAX_QUEUED_BYTES}\n"
        f"max_packet_size {MAX_PACKET_BYTES}\n"
        "log_dest stdout\n"
        f"log_dest file {(logs / 'mosquitto.log').resolve()}\n"
        "log_type error\n"
        "log_type warning\n"
        "log_type notice\n"
        "connection_messages true\n",
        encoding="utf-8",
    )
    return conf

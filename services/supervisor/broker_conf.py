"""The broker configuration `chargebus run` writes into the data directory before starting Mosquitto."""

from __future__ import annotations

import getpass
from pathlib import Path

from services.common.settings import Settings

# the same rules as deploy/mosquitto/acl: every client is anonymous on loopback, confined to our namespace
ACL = "topic readwrite chargebus/#\ntopic read $SYS/#\n"


def broker_dir(settings: Settings) -> Path:
    return settings.data_dir / "mosquitto"


def write_conf(settings: Settings) -> Path:
    """Write mosquitto.conf for this station and return its path.

    Loopback only: the bus is the station's inside; nothing outside the box may publish a set-point.
    `set_tcp_nodelay` cuts a QoS 1 round trip from ~44 ms to ~1.5 ms. Persistence keeps the
    sessions and retained states of every service through a broker restart or a power cut.
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
        "autosave_interval 1\n"
        "max_queued_messages 100000\n"
        "max_inflight_messages 100\n"
        "log_dest stdout\n"
        f"log_dest file {(logs / 'mosquitto.log').resolve()}\n"
        "log_type error\n"
        "log_type warning\n"
        "log_type notice\n"
        "connection_messages true\n",
        encoding="utf-8",
    )
    return conf

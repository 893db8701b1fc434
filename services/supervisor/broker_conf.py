"""The broker configuration `chargebus run` writes into the data directory before starting Mosquitto, and the
same files for the compose broker (`chargebus broker-setup`): listener, accounts and the ACL, generated from
the bus contract so that the two never drift.

Who may write and read where comes from the contract's declarations (`contract.access`), the same ones the
bus client enforces at run time: an account writes its own health, the states and events it owns, the commands
it is a declared caller of and its own reply topics `chargebus/<account>/reply/+/+`; it reads the public topics,
the private ones it is declared on, the commands it answers and the replies to its own client id. Anonymous
clients (loopback only) read the public topics and never write: `mosquitto_sub -v -t 'chargebus/#'` works on
the station, a stray tool cannot set a current, and no token or secret reaches it. The client id
`chargebus-<account>` (and `chargebus-<account>-…`) is the account's alone: the broker's plugin
(`mosquitto_plugin/`) refuses any other login with it, so nobody takes over a service's session.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from services.common.bus_accounts import ACCOUNTS, CLI, account_uid, accounts_dir, password_path
from services.common.contract import TOPICS, Kind, Topic, access, health_topic, reply_topic
from services.common.contract.base import REPLY_WORD, ROOT
from services.common.settings import Settings


class BrokerSetupError(Exception):
    """The broker cannot be set up as asked (said in one line to the user)."""


def _filters(topics: Iterable[Topic]) -> list[str]:
    found: list[str] = []
    for topic in topics:
        if topic.filter not in found:
            found.append(topic.filter)
    return found


def writes(account: str) -> list[str]:
    """The topic filters `account` may publish on."""
    found = [] if account == CLI else [health_topic(account)]
    found += _filters(t for t in TOPICS if t.kind is not Kind.HEALTH and access.may_publish(account, t))
    found += _filters(t for t in TOPICS if access.may_call(account, t))
    if any(access.may_handle(account, t) for t in TOPICS):
        found.append(reply_topic(account, "+", "+"))
    return found


def reads(account: str | None) -> list[str]:
    """The topic filters `account` (None: anonymous) may read, beside the replies to its own client id."""
    return [*_filters(t for t in TOPICS if access.may_read(account, t)), "$SYS/#"]


def acl_text() -> str:
    lines = ["# generated from the bus contract (services/supervisor/broker_conf.py); do not edit",
             "# anonymous clients, on the loopback listener only: read the public topics, publish nothing"]
    lines += [f"topic read {f}" for f in reads(None)]
    for account in ACCOUNTS:
        lines += ["", f"user {account}"]
        lines += [f"topic write {f}" for f in writes(account)]
        lines += [f"topic read {f}" for f in reads(account)]
    lines += ["", "# each client reads the replies addressed to its own client id (bound to its account by the plugin)",
              f"pattern read {reply_topic('+', '%c', '+')}"]
    return "\n".join(lines) + "\n"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ensure_accounts(settings: Settings, passwd_bin: str | None = None) -> Path:
    """Make the missing passwords (kept across starts) and write the broker's hashed password file.

    Each password file is its account's alone (mode 400; as root, owned by the account's uid, see
    separation.py) in a folder of root's that others may traverse, not list; the hashed file is root's."""
    folder = accounts_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    if as_root:
        os.chown(folder, 0, 0, follow_symlinks=False)  # it was the station user's before one user per account
    folder.chmod(0o711)
    for account in ACCOUNTS:
        path = password_path(settings, account)
        owner = account_uid(settings, account) if as_root else None
        if not path.exists() or not path.read_text(encoding="ascii").strip():
            _write_private(path, secrets.token_urlsafe(24) + "\n", owner, 0o400)
        else:
            if owner is not None:
                os.chown(path, owner, -1, follow_symlinks=False)
            path.chmod(0o400)
    passwd = broker_dir(settings) / "passwd"
    passwd.parent.mkdir(parents=True, exist_ok=True)
    _write_private(passwd, "".join(f"{a}:{password_path(settings, a).read_text(encoding='ascii').strip()}\n"
                                   for a in ACCOUNTS))
    tool = passwd_bin or shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    try:
        subprocess.run([tool, "-U", str(passwd)], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        passwd.unlink(missing_ok=True)  # never leave the passwords there in clear
        raise BrokerSetupError(f"cannot hash the bus passwords with {tool} ({exc}); "
                               "apt-get install mosquitto") from None
    return passwd


def _write_private(path: Path, text: str, owner: int | None = None, mode: int = 0o600) -> None:
    """Written aside and renamed: a read-only file of an earlier start is replaced, never opened to write,
    and nobody but `owner` (by default this process) ever reads it, not even half written."""
    aside = path.with_name(f".{path.name}.new")
    aside.unlink(missing_ok=True)
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        if owner is not None:
            os.fchown(f.fileno(), owner, -1)
        os.fchmod(f.fileno(), mode)
        f.write(text)
    aside.replace(path)


PLUGIN_NAME = "chargebus_clientid.so"
# where `make deps` (the venv) and the image (Dockerfile) put it
PLUGIN_PLACES = (Path(sys.prefix) / "lib" / "chargebus", Path("/usr/lib/chargebus"))


def plugin_path(settings: Settings) -> Path:
    """The client-id plugin; a broker without it would let anyone take over a service's session, so none starts.

    The one the installation carries is copied beside the broker's files: a version installed by a firmware
    update (a slot built from wheels, with no compiler on the station) starts its broker with that copy."""
    kept = broker_dir(settings) / PLUGIN_NAME
    places = [settings.broker_plugin] if settings.broker_plugin else [p / PLUGIN_NAME for p in PLUGIN_PLACES]
    for place in places:
        if place.is_file():
            _keep_copy(place, kept)
            return place.resolve()
    if kept.is_file():
        return kept.resolve()
    raise BrokerSetupError(f"the broker's client-id plugin is missing (looked for {', '.join(map(str, places))}); "
                           "`make deps` builds it (needs gcc and mosquitto-dev)")


def _keep_copy(plugin: Path, kept: Path) -> None:
    data = plugin.read_bytes()
    if kept.is_file() and kept.read_bytes() == data:
        return
    kept.parent.mkdir(parents=True, exist_ok=True)
    aside = kept.with_name(f".{kept.name}.new")
    aside.write_bytes(data)
    aside.chmod(0o644)
    aside.replace(kept)


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


def write_conf(settings: Settings, passwd_bin: str | None = None) -> Path:
    """Write mosquitto.conf (with the accounts and the ACL) for this station and return its path.

    Loopback unless TLS is set: a listener that other machines can reach takes no anonymous client and
    only TLS. `set_tcp_nodelay` cuts a QoS 1 round trip from ~44 ms to ~1.5 ms.

    Persistence keeps the sessions (subscriptions, queued QoS 1 messages of a restarting service) and the
    retained states, saved every `AUTOSAVE_S` and at an orderly stop. Not every second: mosquitto rewrites
    its whole file at each save, idle or not, and that wears out flash. What a crash of the broker loses
    of the retained states is published again by each owner when it reconnects; SQLite holds the
    station's data. `max_packet_size` and `max_queued_bytes` bound what one client can make it hold.
    """
    return _write(settings, settings.data_dir, passwd_bin, user=getpass.getuser())


def write_compose_conf(settings: Settings, seen_as: Path = Path("/chargebus"), passwd_bin: str | None = None
                       ) -> Path:
    """The same files for the compose broker container, which mounts the data volume at `seen_as`."""
    return _write(settings, seen_as, passwd_bin, user=None)


def _write(settings: Settings, seen_as: Path, passwd_bin: str | None, user: str | None) -> Path:
    """Write the files under `settings.data_dir`; the paths inside them are as the broker sees that directory."""
    loopback = is_loopback(settings.mqtt_host)
    if not loopback and not settings.mqtt_tls:
        raise BrokerSetupError(
            f"the bus would listen on {settings.mqtt_host}, beyond this machine: that needs TLS and passwords "
            "(CHARGEBUS_MQTT_URL=mqtts://…, CHARGEBUS_MQTT_TLS_CERT, CHARGEBUS_MQTT_TLS_KEY); or use 127.0.0.1")
    if settings.mqtt_tls and not (settings.mqtt_tls_cert and settings.mqtt_tls_key):
        raise BrokerSetupError("an mqtts:// bus needs the listener's certificate and key "
                               "(CHARGEBUS_MQTT_TLS_CERT, CHARGEBUS_MQTT_TLS_KEY)")
    folder = broker_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ensure_accounts(settings, passwd_bin)
    _write_private(folder / "acl", acl_text())  # mosquitto ≥ 2.0.16 warns about an ACL others may read
    inside = seen_as / "mosquitto"
    lines = ["# written by chargebus at every start: edit the settings, not this file",
             f"listener {settings.mqtt_port} {settings.mqtt_host}"]
    if user is not None:  # as root, mosquitto would switch to its own user and could not write our data dir
        lines.append(f"user {user}")
    # anonymous clients are read-only by the ACL, and only where nothing outside the machine reaches
    lines.append(f"allow_anonymous {'true' if loopback else 'false'}")
    if settings.mqtt_tls_cert and settings.mqtt_tls_key and settings.mqtt_tls:
        lines += [f"certfile {settings.mqtt_tls_cert.resolve()}", f"keyfile {settings.mqtt_tls_key.resolve()}"]
    lines += [
        f"plugin {plugin_path(settings)}",
        f"password_file {inside / 'passwd'}",
        f"acl_file {inside / 'acl'}",
        "set_tcp_nodelay true",
        "persistence true",
        f"persistence_location {inside}/",
        f"autosave_interval {AUTOSAVE_S}",
        "max_queued_messages 100000",
        "max_inflight_messages 100",
        f"max_queued_bytes {MAX_QUEUED_BYTES}",
        f"max_packet_size {MAX_PACKET_BYTES}",
        "log_dest stdout",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]
    lines += bridge_lines(settings)
    conf = folder / "mosquitto.conf"
    _write_private(conf, "\n".join(lines) + "\n")  # a bridge's password is in it
    return conf


def bridged_out() -> list[str]:
    """What goes out to a fleet broker: the public topics (what an anonymous watcher sees), never a command, a
    reply (unless asked for) or a private topic (idTags stay on the station)."""
    return [f.removeprefix(f"{ROOT}/") for f in reads(None) if f.startswith(f"{ROOT}/")]


def bridge_lines(settings: Settings) -> list[str]:
    """Mosquitto's bridge to the fleet broker, if one is set: out only, unless bridge_commands_in."""
    if settings.bridge_url is None:
        return []
    if not (settings.bridge_user and settings.bridge_password):
        raise BrokerSetupError("a bridge needs its account on the fleet broker (bridge_user, bridge_password)")
    parts = urlsplit(settings.bridge_url)
    remote = settings.bridge_prefix.replace("{charge_point_id}", settings.charge_point_id) + f"{ROOT}/"
    lines = ["", "# the fleet bridge (settings bridge_*)", f"connection fleet-{settings.charge_point_id}",
             f"address {parts.hostname}:{parts.port or 8883}", "bridge_protocol_version mqttv50",
             f"remote_clientid chargebus-{settings.charge_point_id}", f"remote_username {settings.bridge_user}",
             f"remote_password {settings.bridge_password.get_secret_value()}", "bridge_insecure false",
             "cleansession false", "restart_timeout 5 60"]
    lines.append(f"bridge_cafile {settings.bridge_ca.resolve()}" if settings.bridge_ca
                 else "bridge_capath /etc/ssl/certs")
    lines += [f"topic {pattern} out 1 {ROOT}/ {remote}" for pattern in bridged_out()]
    if settings.bridge_commands_in:
        lines += [f"topic +/cmd/# in 1 {ROOT}/ {remote}", f"topic +/{REPLY_WORD}/# out 1 {ROOT}/ {remote}"]
    return lines

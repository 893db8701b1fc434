"""Station settings shared by every process (services, supervisor, CLI).

Sources, strongest first: environment (`CHARGEBUS_*`), the TOML file named by
`CHARGEBUS_CONFIG_FILE` (default `deploy/chargebus.toml` when present), built-in defaults.
Every process reads the same settings so that a second stack on other ports and
another CAN channel never hears the first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("deploy/chargebus.toml")
SERVICES = (
    "ocpp_gateway",
    "power",
    "auth",
    "metering",
    "smart_charging",
    "firmware",
    "api",
    "sim",
)


def _config_file() -> Path | None:
    named = os.environ.get("CHARGEBUS_CONFIG_FILE")
    if named:
        return Path(named)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class Settings(BaseSettings):
    """Everything a chargebus process needs to find its peers and its data."""

    # a mistyped key in the TOML file is an error naming it, never silently ignored
    model_config = SettingsConfigDict(env_prefix="CHARGEBUS_", extra="forbid", frozen=True, allow_inf_nan=False)

    csms_url: str = Field(
        "ws://127.0.0.1:9000/ocpp",
        description="Central System WebSocket URL; the gateway connects to <csms_url>/<charge_point_id>, or to the "
        "URL with {id} replaced by the charge point id when it has one (e.g. ws://host/ocpp/{id}/ for a CSMS that "
        "routes a trailing slash).",
    )
    ocpp_version: Literal["1.6", "2.0.1"] = Field(
        "1.6", description="The OCPP version the station speaks to its CSMS: OCPP 1.6J (subprotocol ocpp1.6) or "
        "OCPP 2.0.1 (ocpp2.0.1). Only the gateway depends on it.",
    )
    charge_point_id: str = Field(
        "CB0000001", min_length=1, max_length=48, pattern=r"^[A-Za-z0-9._:-]+$",
        description="Charge point identity, the last path segment of the OCPP URL.",
    )
    charge_point_serial_number: str | None = Field(
        None, min_length=1, max_length=25,
        description="The serial number the station reports to the CSMS (at most 25 characters); none: the charge "
        "point id when it fits, else no serial number.",
    )
    data_dir: Path = Field(Path("./data"), description="SQLite files, broker persistence and logs.")
    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883",
        description="Broker URL; the supervisor starts its broker on this host and port.",
    )
    mqtt_tls_cert: Path | None = Field(
        None, description="PEM certificate of the broker's listener; with mqtt_tls_key and an mqtts:// URL the bus may "
        "listen beyond loopback (then passwords only, no anonymous client).")
    mqtt_tls_key: Path | None = Field(None, description="PEM private key of mqtt_tls_cert.")
    mqtt_tls_ca: Path | None = Field(
        None, description="PEM CA bundle the services check the broker's certificate against (mqtts:// only).")
    broker_plugin: Path | None = Field(
        None, description="The broker plugin that binds each service's client id to its account "
        "(chargebus_clientid.so, built by `make deps`); unset: looked for beside the installed package.")
    bridge_url: str | None = Field(
        None, description="A central (fleet) MQTT broker to bridge to, mqtts://host:port: health, states and events "
        "go out under bridge_prefix; Mosquitto's own bridge, over TLS with its own account.")
    bridge_user: str | None = Field(None, description="The station's account on the fleet broker.")
    bridge_password: SecretStr | None = Field(None, description="Its password (CHARGEBUS_BRIDGE_PASSWORD).")
    bridge_ca: Path | None = Field(None, description="PEM CA bundle that the fleet broker's certificate must verify.")
    bridge_prefix: str = Field(
        "fleet/{charge_point_id}/", pattern=r"^[^#+]*/$",
        description="Where the station's topics appear on the fleet broker ({charge_point_id} is replaced).")
    bridge_commands_in: bool = Field(
        False, description="Also take commands from the fleet broker (under the prefix) and send their replies "
        "back. Off: nothing comes in.")
    api_host: str = Field(
        "0.0.0.0", description="Bind address of the maintenance API and status page (the station's LAN: a phone "
        "at the station reads it; idTags masked, actions need api_token).")
    api_port: int = Field(8080, ge=1, le=65535, description="Port of the maintenance API.")
    api_token: SecretStr | None = Field(
        None, min_length=16, description="Bearer token of the maintenance actions and of unmasked idTags on the page; "
        "none: the actions are refused.")
    api_tls_cert: Path | None = Field(
        None, description="PEM certificate of the maintenance API (with api_tls_key): the page and the API over "
        "HTTPS. None: plain HTTP, with a warning at start unless api_host is loopback.")
    api_tls_key: Path | None = Field(None, description="PEM private key of api_tls_cert.")
    can_interface: Literal["udp_multicast", "socketcan", "virtual"] = Field(
        "udp_multicast", description="python-can interface: udp_multicast with the simulator, socketcan on a station."
    )
    can_channel: str = Field(
        "ff11:7079:7468:6f6e:6465:6d6f:6d63:6173",
        description="python-can channel: a multicast group (interface-local) for udp_multicast, can0 for socketcan.",
    )
    can_port: int = Field(43113, ge=1, le=65535, description="UDP port, udp_multicast only.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_format: Literal["text", "json"] = Field(
        "text", description="text: one key=value line per record; json: one object per line with service, "
        "transaction id and OCPP message id as fields (for a log collector).")
    mosquitto_bin: str = Field("mosquitto", description="Broker binary the supervisor starts.")
    services: tuple[str, ...] = Field(SERVICES, description="Services the supervisor starts, in order.")
    account_uid_base: int = Field(
        50200, ge=1000, le=2**31 - 1000,
        description="When `chargebus run` runs as root, bus account i runs under uid base+1+i and every process of "
        "the station in group base, so that no process reads another's bus password (docs/station.md).")
    with_sim: bool = Field(False, description="Start the hardware simulator: the bench (`make run`) and tests only; "
                           "a station talks to its real devices.")
    dev_csms_port: int = Field(
        9000, ge=1, le=65535, description="Loopback port of the development CSMS (`chargebus csms`) that `chargebus "
        "run` starts on the bench (with_sim) while csms_url is the built-in default; the gateway then connects to it.")
    page_merging: bool = Field(
        True, description="Offer the station's memory to the kernel's same-page merging (KSM): about 50 MB "
        "less for the station while ksmd runs (/sys/kernel/mm/ksm/run = 1, set by the systemd unit). Off where "
        "another trust domain on the same machine also uses KSM (docs/station.md, \"Memory\").")
    watchdog_s: float = Field(
        5.0, ge=1, le=600,
        description="A service whose event loop has not reported for this long is blocked: the supervisor restarts it.",
    )
    failed_retry_s: float = Field(
        60.0, ge=1, le=3600,
        description="A service in a crash loop (`failed`) is tried again this often, until it stays up.",
    )
    csms_ca_bundle: Path | None = Field(
        None, description="PEM file of the CA(s) that sign the CSMS's certificate (wss://); none: the system's CAs.",
    )
    csms_client_cert: Path | None = Field(
        None, description="PEM client certificate for security profile 3 (with csms_client_key).",
    )
    csms_client_key: Path | None = Field(None, description="PEM private key of csms_client_cert.")
    firmware_public_key: Path | None = Field(
        None, description="The Ed25519 public key (PEM) firmware images must be signed with; none: a firmware update "
        "downloads but never installs (install_failed).",
    )
    firmware_trial_s: float = Field(
        120.0, ge=10, le=3600,
        description="A new firmware version that does not bring every service online within this is rolled back.",
    )
    firmware_max_image_bytes: int = Field(
        256 * 1024 * 1024, ge=1024 * 1024,
        description="A firmware download larger than this ends download_failed (announced or not, it is cut there).",
    )
    firmware_disk_reserve_bytes: int = Field(
        128 * 1024 * 1024, ge=0,
        description="Free disk a firmware download never takes: the databases and logs beside it keep room to write.",
    )
    ocpp_response_timeout_s: float = Field(
        30.0, gt=0, le=300,
        description="How long the gateway waits for the CSMS to answer a CALL before it counts as unanswered "
        "(an unanswered transaction message is sent again, never dropped).",
    )

    @field_validator("csms_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError("must be a ws:// or wss:// URL with a host")
        # a template is the CSMS's exact form, trailing slash included
        return value if "{id}" in value else value.rstrip("/")

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("must be mqtt://host:port (or mqtts:// with TLS)")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError("port is not a number in 1..65535") from exc
        return value

    @field_validator("bridge_url")
    @classmethod
    def _bridge_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme != "mqtts" or not parts.hostname:
            raise ValueError("must be mqtts://host:port: a bridge leaves the station, so it is TLS")
        return value

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(SERVICES))
        if unknown:
            raise ValueError(f"unknown service(s) {unknown}; known: {list(SERVICES)}")
        return value

    @property
    def mqtt_host(self) -> str:
        return urlsplit(self.mqtt_url).hostname or "127.0.0.1"

    @property
    def mqtt_port(self) -> int:
        return urlsplit(self.mqtt_url).port or (8883 if self.mqtt_tls else 1883)

    @property
    def mqtt_tls(self) -> bool:
        return urlsplit(self.mqtt_url).scheme == "mqtts"

    @property
    def ocpp_url(self) -> str:
        if "{id}" in self.csms_url:
            return self.csms_url.replace("{id}", self.charge_point_id)
        return f"{self.csms_url}/{self.charge_point_id}"

    def db_path(self, service: str) -> Path:
        return self.data_dir / f"{service}.sqlite"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _config_file()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)


class SettingsError(SystemExit):
    """A bad setting: one clear line, exit status 2."""


def _said(err: ErrorDetails) -> str:
    """What is wrong, the way a person says it (pydantic says "Value should have at least 16 items" of a
    token); the value itself is never repeated: it may be a secret."""
    ctx = err.get("ctx", {})
    kind = err["type"]
    if kind in ("too_short", "string_too_short"):
        given = f" ({ctx['actual_length']} given)" if "actual_length" in ctx else ""
        return f"at least {ctx['min_length']} characters{given}"
    if kind in ("too_long", "string_too_long"):
        given = f" ({len(err['input'])} given)" if isinstance(err.get("input"), str) else ""
        return f"at most {ctx['max_length']} characters{given}"
    words = {"string_pattern_mismatch": "only the characters of {pattern}", "greater_than_equal": "at least {ge:g}",
             "less_than_equal": "at most {le:g}", "greater_than": "more than {gt:g}", "less_than": "less than {lt:g}",
             "int_parsing": "a whole number", "int_from_float": "a whole number", "float_parsing": "a number",
             "bool_parsing": "true or false", "literal_error": "one of {expected}", "enum": "one of {expected}",
             "value_error": "{error}"}
    if kind in words:
        return words[kind].format(**ctx)
    return err["msg"]


def load_settings(**overrides: object) -> Settings:
    """Load settings or exit with one line naming the bad setting."""
    toml = _config_file()
    if toml is not None and not toml.is_file():
        raise SettingsError(f"chargebus: bad setting CHARGEBUS_CONFIG_FILE: {toml} does not exist")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "extra_forbidden":
            known = ", ".join(sorted(Settings.model_fields))
            raise SettingsError(f"chargebus: unknown setting {err['loc'][0]!r} in {toml}; known: {known}") from None
        name = "CHARGEBUS_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise SettingsError(f"chargebus: bad setting {name}: {_said(err)}") from None
    except ValueError as exc:  # a TOML file that does not parse
        raise SettingsError(f"chargebus: bad settings file {toml}: {exc}") from None


def warm_up() -> None:
    """Read the settings once in the launcher before it forks: the type checks pydantic-settings makes of every
    field fill the interpreter's subclass caches (`abc`), which every service would otherwise fill for itself,
    each writing its own copy of the pages they sit in (about 2 MB a process). After the imports, not before:
    the `chargebus run` process read its settings before the preload, but every class an import registers
    with an ABC empties those caches again."""
    load_settings()

"""docker-compose.yml and deploy/ agree with the supervisor: same services, same commands, same broker rules.

There is no Docker engine on the build machines, so the file is checked by parsing it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from services.common.bus_accounts import account_uid, station_gid
from services.common.settings import SERVICES, Settings
from services.supervisor.broker_conf import acl_text
from services.supervisor.children import service_argv
from services.supervisor.separation import broker_identity

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_one_container_per_supervised_service_running_the_same_command() -> None:
    services = _compose()["services"]
    assert set(services) - {"mosquitto", "broker-setup", "supervisor"} == set(SERVICES)
    for name in SERVICES:
        spec = services[name]
        assert spec["command"] == ["python", *service_argv(name)[1:]], name
        assert spec["restart"] == "unless-stopped" and spec["network_mode"] == "host", name
        assert any(v.endswith(":/data") for v in spec["volumes"]), name
        assert spec["environment"]["CHARGEBUS_DATA_DIR"] == "/data"
        assert ("sim" in spec.get("profiles", [])) == (name == "sim"), "only the simulator is optional"
    assert services["power"]["environment"]["CHARGEBUS_CAN_INTERFACE"] == "socketcan"
    assert services["power"]["environment"]["CHARGEBUS_CAN_CHANNEL"] == "can0"


def test_every_service_container_has_a_healthcheck_a_log_limit_and_waits_for_a_healthy_broker() -> None:
    services = _compose()["services"]
    for name in (*SERVICES, "supervisor"):
        spec = services[name]
        assert spec["healthcheck"]["test"] == ["CMD", "chargebus", "health", name, "--same-host"], name
        assert spec["depends_on"]["mosquitto"]["condition"] == "service_healthy", name
        assert spec["logging"]["options"]["max-size"] and spec["logging"]["options"]["max-file"], name
        assert spec["stop_grace_period"], name
    assert services["supervisor"]["command"] == ["python", "-m", "services.supervisor.restart_orders"]


def test_the_broker_container_runs_what_broker_setup_writes_into_the_volume() -> None:
    services = _compose()["services"]
    setup, broker = services["broker-setup"], services["mosquitto"]
    # the station's image: its mosquitto loads the client-id plugin the Dockerfile builds where broker-setup looks
    assert broker["image"] == "chargebus:latest" and broker["restart"] == "unless-stopped"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "/usr/lib/chargebus/chargebus_clientid.so" in dockerfile and "mosquitto-dev" in dockerfile
    assert broker["depends_on"]["broker-setup"]["condition"] == "service_completed_successfully"
    mount = next(v.split(":")[1] for v in broker["volumes"] if v.startswith("chargebus-data:"))
    assert setup["command"] == ["chargebus", "broker-setup", "--broker-sees", mount]
    assert broker["command"] == ["mosquitto", "-c", f"{mount}/mosquitto/mosquitto.conf"]
    assert "$$SYS/broker/uptime" in broker["healthcheck"]["test"]
    assert broker["logging"]["options"]["max-size"]


def test_broker_acl_is_the_one_chargebus_run_writes() -> None:
    assert (ROOT / "deploy" / "mosquitto" / "acl").read_text() == acl_text()


def test_the_systemd_unit_runs_the_station_with_absolute_paths_a_watchdog_and_an_orderly_stop() -> None:
    unit = _unit()
    assert unit["Type"] == "notify" and int(unit["WatchdogSec"]) > 0 and unit["NotifyAccess"] == "main"
    assert unit["KillMode"] == "mixed" and unit["Restart"] == "always"
    assert Path(unit["ExecStart"].split()[0]).is_absolute() and unit["ExecStart"].endswith("chargebus run")
    env = dict(e.split("=", 1) for e in unit["Environment"])
    assert Path(env["CHARGEBUS_DATA_DIR"]).is_absolute() and Path(env["CHARGEBUS_CONFIG_FILE"]).is_absolute()
    install = (ROOT / "deploy" / "systemd" / "install.sh").read_text()
    assert "deploy/systemd/chargebus.service" in install and "systemctl enable --now chargebus.service" in install
    assert env["CHARGEBUS_DATA_DIR"] in install


def _unit() -> dict[str, Any]:
    """The [Service] section: a key given more than once (Environment) as a list."""
    section: dict[str, Any] = {}
    current = ""
    for raw in (ROOT / "deploy" / "systemd" / "chargebus.service").read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            current = line
        elif current == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            if key == "Environment":
                section.setdefault(key, []).append(value)
            else:
                section[key] = value
    return section


def test_station_toml_holds_the_defaults() -> None:
    values = tomllib.loads((ROOT / "deploy" / "chargebus.toml").read_text())
    fields = Settings.model_fields
    optional = {name for name, field in fields.items() if field.default is None}  # a station names them if used
    assert set(fields) - {"services"} - optional <= set(values) <= set(fields) - {"services"}
    for key, value in values.items():
        if key == "firmware_public_key":  # no default: a station names the key it trusts
            assert fields[key].default is None and Path(value).is_absolute()
            continue
        default = fields[key].default
        if isinstance(default, Path):
            assert Path(value) == default, key
        else:
            assert value == default, key


def test_one_image_whose_default_command_is_the_whole_station() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.11-slim" in lines and 'CMD ["chargebus", "run"]' in lines
    # `chargebus run` needs the broker binary it starts, and the project installed
    assert any("install" in line and "mosquitto" in line for line in lines)
    assert any("pip install ." in line for line in lines)


def test_production_paths_run_no_simulator() -> None:
    """The simulator would put module, EV and meter frames next to the real devices: only a bench runs it."""
    services = _compose()["services"]
    assert services["sim"]["profiles"] == ["sim"]
    assert services["sim"]["environment"]["CHARGEBUS_SIM_ALLOW_SOCKETCAN"] == "true"  # the bench's vcan only
    assert all("CHARGEBUS_SIM_ALLOW_SOCKETCAN" not in spec.get("environment", {})
               for name, spec in services.items() if name != "sim")
    unit = (ROOT / "deploy" / "systemd" / "chargebus.service").read_text().splitlines()
    assert "Environment=CHARGEBUS_WITH_SIM=false" in unit and "KillMode=mixed" in unit
    assert tomllib.loads((ROOT / "deploy" / "chargebus.toml").read_text())["with_sim"] is False


def test_the_broker_configs_bound_what_they_write_and_hold(tmp_path: Path) -> None:
    from services.supervisor.broker_conf import AUTOSAVE_S, MAX_PACKET_BYTES, MAX_QUEUED_BYTES, write_compose_conf

    settings = Settings(data_dir=tmp_path)
    written = write_compose_conf(settings).read_text().splitlines()
    for line in (f"autosave_interval {AUTOSAVE_S}", f"max_packet_size {MAX_PACKET_BYTES}",
                 f"max_queued_bytes {MAX_QUEUED_BYTES}", "listener 1883 127.0.0.1", "allow_anonymous true",
                 "password_file /chargebus/mosquitto/passwd", "acl_file /chargebus/mosquitto/acl",
                 "persistence_location /chargebus/mosquitto/"):
        assert line in written, line
    assert not any(line.startswith("user ") for line in written)  # the container's user, not ours
    assert AUTOSAVE_S >= 60  # a save rewrites the whole file: every second would wear out flash


def test_each_container_runs_as_its_bus_account_in_the_station_group() -> None:
    """The numbers `chargebus run` as root gives each child (one user per bus account: no container reads
    another's password); broker-setup alone is root, to hand each its files."""
    services, settings = _compose()["services"], Settings()
    group = station_gid(settings)
    for name in ("supervisor", *SERVICES):
        assert services[name]["user"] == f"{account_uid(settings, name)}:{group}", name
    assert services["mosquitto"]["user"] == f"{broker_identity(settings).uid}:{group}"
    assert services["broker-setup"]["user"] == "0:0"

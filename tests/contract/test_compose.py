"""docker-compose.yml and deploy/ agree with the supervisor: same services, same commands, same broker rules.

There is no Docker engine on the build machines, so the file is checked by parsing it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from services.common.settings import SERVICES, Settings
from services.supervisor.broker_conf import acl_text
from services.supervisor.children import service_argv

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_one_container_per_supervised_service_running_the_same_command() -> None:
    services = _compose()["services"]
    assert set(services) - {"mosquitto"} == set(SERVICES)
    for name in SERVICES:
        spec = services[name]
        assert spec["command"] == ["python", *service_argv(name)[1:]], name
        assert spec["restart"] == "unless-stopped" and spec["network_mode"] == "host", name
        assert any(v.endswith(":/data") for v in spec["volumes"]), name
        assert spec["environment"]["CHARGEBUS_DATA_DIR"] == "/data"
        assert ("sim" in spec.get("profiles", [])) == (name == "sim"), "only the simulator is optional"
    assert services["power"]["environment"]["CHARGEBUS_CAN_INTERFACE"] == "socketcan"
    assert services["power"]["environment"]["CHARGEBUS_CAN_CHANNEL"] == "can0"


def test_broker_container_uses_the_deploy_config_with_nodelay_and_persistence() -> None:
    broker = _compose()["services"]["mosquitto"]
    assert broker["image"].startswith("eclipse-mosquitto:2") and broker["restart"] == "unless-stopped"
    source = next(v.split(":")[0] for v in broker["volumes"] if v.endswith("mosquitto.conf:ro"))
    conf = (ROOT / source).read_text().splitlines()
    assert "set_tcp_nodelay true" in conf and "persistence true" in conf
    assert any(line.startswith("listener 1883 127.0.0.1") for line in conf)
    acl = next(v.split(":") for v in broker["volumes"] if v.endswith(":/mosquitto/config/acl:ro"))
    assert f"acl_file {acl[1]}" in conf


def test_broker_acl_is_the_one_chargebus_run_writes() -> None:
    rules = [line for line in (ROOT / "deploy" / "mosquitto" / "acl").read_text().splitlines()
             if line and not line.startswith("#")]
    assert rules == [line for line in acl_text().splitlines() if line and not line.startswith("#")]


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


def test_the_broker_configs_bound_what_they_write_and_hold() -> None:
    from services.supervisor.broker_conf import AUTOSAVE_S, MAX_PACKET_BYTES, MAX_QUEUED_BYTES

    deployed = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    for line in (f"autosave_interval {AUTOSAVE_S}", f"max_packet_size {MAX_PACKET_BYTES}",
                 f"max_queued_bytes {MAX_QUEUED_BYTES}"):
        assert line in deployed, line
    assert AUTOSAVE_S >= 60  # a save rewrites the whole file: every second would wear out flash

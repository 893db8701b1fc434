"""The dev CSMS is the bench's: `make run` on a fresh clone starts it; no production file ever does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from services.common.settings import load_settings
from services.supervisor.supervisor import dev_csms_wanted

ROOT = Path(__file__).resolve().parents[3]
TOML = ROOT / "deploy" / "chargebus.toml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("CHARGEBUS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CHARGEBUS_CONFIG_FILE", str(TOML))


def test_make_run_on_a_fresh_clone_starts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run`: deploy/chargebus.toml as it is checked in, CHARGEBUS_WITH_SIM=true, nothing else."""
    monkeypatch.setenv("CHARGEBUS_WITH_SIM", "true")
    assert dev_csms_wanted(load_settings())


def test_a_csms_url_of_ones_own_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGEBUS_WITH_SIM", "true")
    monkeypatch.setenv("CHARGEBUS_CSMS_URL", "ws://csms.example:9000/ocpp")
    assert not dev_csms_wanted(load_settings())


def test_the_station_file_and_the_systemd_unit_never_start_it(monkeypatch: pytest.MonkeyPatch) -> None:
    unit = (ROOT / "deploy" / "systemd" / "chargebus.service").read_text().splitlines()
    for line in unit:
        if line.startswith("Environment=CHARGEBUS_") and "CONFIG_FILE" not in line:
            name, value = line.removeprefix("Environment=").split("=", 1)
            monkeypatch.setenv(name, value)
    assert "Environment=CHARGEBUS_WITH_SIM=false" in unit
    # the unit's file is a copy of deploy/chargebus.toml, which the image's `chargebus run` reads as well
    assert not dev_csms_wanted(load_settings())


def test_compose_runs_no_dev_csms() -> None:
    """Compose runs each service on its own and no `chargebus run`: nothing there could start the dev CSMS."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, spec in compose["services"].items():
        command = " ".join(str(part) for part in spec.get("command", []) + spec.get("entrypoint", []))
        assert "csms" not in name and "services.csms" not in command and " run" not in f" {command}", name

"""Settings: env prefix, TOML file, and one clear line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("CHARGEBUS_CONFIG_FILE", str(empty))


@pytest.mark.parametrize(
    ("env", "value", "attribute", "expected"),
    [
        ("CHARGEBUS_MQTT_URL", "mqtt://127.0.0.1:1999", "mqtt_port", 1999),
        ("CHARGEBUS_CSMS_URL", "ws://csms.example:9000/ocpp/", "ocpp_url", "ws://csms.example:9000/ocpp/CB0000001"),
        ("CHARGEBUS_CAN_INTERFACE", "socketcan", "can_interface", "socketcan"),
        ("CHARGEBUS_SERVICES", '["power","sim"]', "services", ("power", "sim")),
    ],
)
def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, env: str, value: str, attribute: str,
                               expected: object) -> None:
    monkeypatch.setenv(env, value)
    assert getattr(load_settings(), attribute) == expected


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("CHARGEBUS_MQTT_URL", "http://x:1"),
        ("CHARGEBUS_MQTT_URL", "mqtt://127.0.0.1:99999"),
        ("CHARGEBUS_CSMS_URL", "http://csms/ocpp"),
        ("CHARGEBUS_API_PORT", "0"),
        ("CHARGEBUS_CAN_INTERFACE", "pcan"),
        ("CHARGEBUS_CHARGE_POINT_ID", "has space"),
        ("CHARGEBUS_SERVICES", '["power","nope"]'),
    ],
)
def test_bad_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, env: str, value: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert env in message and "\n" not in message


def test_toml_file_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "station.toml"
    toml.write_text('charge_point_id = "FROMTOML"\napi_port = 9001\n')
    monkeypatch.setenv("CHARGEBUS_CONFIG_FILE", str(toml))
    monkeypatch.setenv("CHARGEBUS_API_PORT", "9002")
    settings = load_settings()
    assert settings.charge_point_id == "FROMTOML" and settings.api_port == 9002


def test_missing_config_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHARGEBUS_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(SettingsError, match="CHARGEBUS_CONFIG_FILE"):
        load_settings()


def test_cli_reports_bad_setting_without_traceback(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from services.cli.main import main

    monkeypatch.setenv("CHARGEBUS_MQTT_URL", "nonsense")
    assert main(["sim", "unplug"]) == 2
    err = capsys.readouterr().err
    assert "CHARGEBUS_MQTT_URL" in err and "Traceback" not in err


def test_a_mistyped_key_in_the_toml_file_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    toml = tmp_path / "station.toml"
    toml.write_text('csms_url = "ws://csms.example/ocpp"\nchargepoint_id = "CP7"\n')
    monkeypatch.setenv("CHARGEBUS_CONFIG_FILE", str(toml))
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "unknown setting 'chargepoint_id'" in str(err.value) and str(toml) in str(err.value)
    assert "charge_point_id" in str(err.value)  # the known keys are listed


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_infinity_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CHARGEBUS_OCPP_RESPONSE_TIMEOUT_S", value)
    with pytest.raises(SettingsError, match="OCPP_RESPONSE_TIMEOUT_S"):
        load_settings()


def test_the_station_file_keeps_the_simulator_off() -> None:
    from services.common.settings import Settings

    assert Settings.model_fields["with_sim"].default is False
    station = Path(__file__).resolve().parents[3] / "deploy" / "chargebus.toml"
    assert "with_sim = false" in station.read_text().splitlines()


@pytest.mark.parametrize(
    ("env", "value", "said"),
    [
        ("CHARGEBUS_API_TOKEN", "short", "CHARGEBUS_API_TOKEN: at least 16 characters (5 given)"),
        ("CHARGEBUS_CHARGE_POINT_ID", "C" * 49, "CHARGEBUS_CHARGE_POINT_ID: at most 48 characters (49 given)"),
        ("CHARGEBUS_CHARGE_POINT_ID", "has space", "CHARGEBUS_CHARGE_POINT_ID: only the characters of "
                                                   "^[A-Za-z0-9._:-]+$"),
        ("CHARGEBUS_API_PORT", "0", "CHARGEBUS_API_PORT: at least 1"),
        ("CHARGEBUS_API_PORT", "eighty", "CHARGEBUS_API_PORT: a whole number"),
        ("CHARGEBUS_OCPP_RESPONSE_TIMEOUT_S", "0", "CHARGEBUS_OCPP_RESPONSE_TIMEOUT_S: more than 0"),
        ("CHARGEBUS_OCPP_RESPONSE_TIMEOUT_S", "soon", "CHARGEBUS_OCPP_RESPONSE_TIMEOUT_S: a number"),
        ("CHARGEBUS_WITH_SIM", "maybe", "CHARGEBUS_WITH_SIM: true or false"),
        ("CHARGEBUS_CAN_INTERFACE", "pcan", "CHARGEBUS_CAN_INTERFACE: one of 'udp_multicast', 'socketcan' or "
                                            "'virtual'"),
        ("CHARGEBUS_MQTT_URL", "http://x:1", "CHARGEBUS_MQTT_URL: must be mqtt://host:port"),
    ],
)
def test_a_bad_setting_is_said_the_way_a_person_would(monkeypatch: pytest.MonkeyPatch, env: str, value: str,
                                                      said: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert message.startswith(f"chargebus: bad setting {said}"), message
    for pydantic_speak in ("items", "Input should", "String should", "Value error", "valid integer"):
        assert pydantic_speak not in message
    assert value not in message or env != "CHARGEBUS_API_TOKEN"  # a secret is never echoed

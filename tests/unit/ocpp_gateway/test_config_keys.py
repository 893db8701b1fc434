"""Configuration keys: PICS defaults and limits, ChangeConfiguration answers, persistence in SQLite."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from services.common.bus import Bus
from services.common.contract.metering import Measurand
from services.common.contract.station_settings import DEFAULTS, Setting, SettingValue
from services.common.db import open_engine
from services.common.settings import Settings
from services.ocpp_gateway.config_store import Change, ConfigStore
from services.ocpp_gateway.keys import BY_NAME, KEYS, setting_value

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "ocpp_gateway" / "migrations"


def test_pics_defaults() -> None:
    expected = {"GetConfigurationMaxKeys": "6", "LocalAuthListMaxLength": "9999", "ChargeProfileMaxStackLevel": "10",
                "ChargingScheduleMaxPeriods": "24", "WebSocketPingInterval": "300",
                "StopTransactionMaxMeterValues": "1",
                "CP_MODEL": "MIC-200-ELT", "AllowOfflineTxForUnknownId": "false", "LocalAuthorizeOffline": "true",
                "SupportedFileTransferProtocols": "FTP", "MemberPrice": "312.5,kWh Won"}
    assert {k: BY_NAME[k].default for k in expected} == expected
    assert BY_NAME["GetConfigurationMaxKeys"].readonly and BY_NAME["CP_MODEL"].readonly


async def test_change_answers_and_persistence(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = open_engine(tmp_path / "gw.sqlite", MIGRATIONS)
    bus = Bus(settings, "ocpp_gateway", persistent=False)  # never started: publishing is queued locally
    store = ConfigStore(engine, bus)
    assert await store.change("MeterValueSampleInterval", "-1") is Change.REJECTED
    assert await store.change("MeterValueSampleInterval", "65536") is Change.REJECTED
    assert await store.change("MeterValueSampleInterval", "abc") is Change.REJECTED
    assert await store.change("MeterValueSampleInterval", "15") is Change.ACCEPTED
    assert await store.change("GetConfigurationMaxKeys", "10") is Change.REJECTED
    assert await store.change("NoSuchKey", "1") is Change.NOT_SUPPORTED
    assert await store.change("MeterValuesSampledData", "Energy.Active.Import.Register,Bogus") is Change.REJECTED
    assert await store.change("MeterValuesSampledData", "SoC, Voltage") is Change.ACCEPTED
    assert await store.change("ServerURL", "wss://x/ocpp") is Change.REJECTED  # read-only: the settings decide
    seen: list[str] = []

    async def listener(value: str) -> None:
        seen.append(value)

    store.on_change("HeartbeatInterval", listener)
    assert await store.change("HeartbeatInterval", "30") is Change.ACCEPTED and seen == ["30"]
    again = ConfigStore(open_engine(tmp_path / "gw.sqlite", MIGRATIONS), bus)
    assert again.get_int("MeterValueSampleInterval") == 15 and again.get("MeterValuesSampledData") == "SoC,Voltage"
    known, unknown = again.items(["HeartbeatInterval", "Nope"])
    assert known == [("HeartbeatInterval", "30", False)] and unknown == ["Nope"]
    assert len(again.items(None)[0]) == len(BY_NAME) - 1  # AuthorizationKey is write-only: never listed


async def test_a_read_only_key_has_its_declared_value_whatever_was_stored(tmp_path: Path) -> None:
    """Item 4: AllowOfflineTxForUnknownId was writable; a station that stored true keeps no such claim."""
    engine = open_engine(tmp_path / "gw.sqlite", MIGRATIONS)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO config (key, value) VALUES ('AllowOfflineTxForUnknownId', 'true')"))
    store = ConfigStore(engine, Bus(Settings(data_dir=tmp_path), "ocpp_gateway", persistent=False))
    assert store.items(["allowofflinetxforunknownid"]) == ([("AllowOfflineTxForUnknownId", "false", True)], [])
    assert await store.change("ALLOWOFFLINETXFORUNKNOWNID", "true") is Change.REJECTED


def test_every_station_setting_is_set_by_one_key_whose_default_is_the_settings_default() -> None:
    """The other services fall back to the contract's defaults until the gateway publishes: the two agree."""
    by_setting = {k.setting: k for k in KEYS if k.setting is not None}
    assert len(by_setting) == len([k for k in KEYS if k.setting is not None]) and set(by_setting) == set(Setting)
    for setting, key in by_setting.items():
        assert setting_value(key, key.default) == DEFAULTS[setting], key.name


def test_key_values_become_typed_settings() -> None:
    assert setting_value(BY_NAME["LocalPreAuthorize"], "false") is False
    assert setting_value(BY_NAME["MeterValueSampleInterval"], "15") == 15
    assert setting_value(BY_NAME["MeterValuesSampledData"], "SoC,Current.Export") == [Measurand.SOC,
                                                                                       Measurand.CURRENT]
    assert setting_value(BY_NAME["StopTxnAlignedData"], "") == []
    assert setting_value(BY_NAME["ChargingScheduleAllowedChargingRateUnit"], "Current,Power") == ["A", "W"]
    # what the other services receive is checked again at their door
    SettingValue(name=Setting.SAMPLED_MEASURANDS, value=setting_value(BY_NAME["MeterValuesSampledData"], "Voltage"))

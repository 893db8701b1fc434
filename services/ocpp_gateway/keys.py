"""The OCPP 1.6 configuration keys of this station, declared once: names, defaults, ranges, read-only flags,
and the station setting each one sets.

The gateway owns the store (SQLite, then retained `chargebus/config/<Key>` for display). The other services
never read a key: a key that tunes their behaviour names a station setting (`contract.station_settings`),
which the gateway publishes, converted, as `chargebus/settings/<name>`. Defaults and limits are the
reference station's PICS answers (GetConfigurationMaxKeys 6, MeterValueSampleInterval and HeartbeatInterval
1..65535, WebSocketPingInterval 300, ...) plus its vendor keys. Every value travels as a string, as OCPP
carries it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.common.contract.metering import Measurand
from services.common.contract.station_settings import DEFAULTS, Setting, SettingValueType

# the measurands of PICS C-09 (what the station was certified with); anything else in a measurand list is
# rejected. Current.Export is the DC current measured at the outlet, as the reference station reports it.
MEASURANDS: dict[str, Measurand] = {
    "Energy.Active.Import.Register": Measurand.ENERGY_IMPORTED,
    "Power.Active.Import": Measurand.POWER,
    "Current.Export": Measurand.CURRENT,
    "Voltage": Measurand.VOLTAGE,
    "SoC": Measurand.SOC,
    "Power.Offered": Measurand.POWER_OFFERED,
}
SUPPORTED_MEASURANDS = tuple(MEASURANDS)
UNITS = {"Current": "A", "Power": "W"}  # ChargingScheduleAllowedChargingRateUnit: the schedule units it names
VENDOR_ID = "chargebus"


class BadValue(ValueError):
    """The value does not fit the key (ChangeConfiguration answers Rejected)."""


def boolean(value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise BadValue("expects true or false")
    return value.lower()


def integer(low: int, high: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            number = int(value)
        except ValueError:
            raise BadValue(f"expects an integer {low}..{high}") from None
        if not low <= number <= high:
            raise BadValue(f"expects an integer {low}..{high}")
        return str(number)
    return check


def measurands(max_items: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        items = _items(value)
        unknown = [v for v in items if v not in SUPPORTED_MEASURANDS]
        if unknown:
            raise BadValue(f"unsupported measurand(s) {unknown}")
        if len(items) > max_items:
            raise BadValue(f"at most {max_items} measurands")
        return ",".join(items)
    return check


def only(*allowed: str) -> Callable[[str], str]:
    """A key whose other values the station does not support (a PICS No): ChangeConfiguration is Rejected."""
    def check(value: str) -> str:
        if value.lower() not in allowed:
            raise BadValue(f"this station supports only {', '.join(allowed)}")
        return value.lower()
    return check


def text(max_length: int = 500) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > max_length:
            raise BadValue(f"at most {max_length} characters")
        return value
    return check


ANY_TEXT = text()


def authorization_key(value: str) -> str:
    """The basic-auth password of security profiles 1 and 2: 16 to 40 printable characters, no space, no colon."""
    if not 16 <= len(value) <= 40 or not value.isprintable() or any(c in value for c in " :"):
        raise BadValue("AuthorizationKey is 16 to 40 printable characters without spaces or colons")
    return value


@dataclass(frozen=True)
class Key:
    name: str
    default: str
    readonly: bool = False
    check: Callable[[str], str] = ANY_TEXT
    secret: bool = False  # write-only: never read back (GetConfiguration, the bus, diagnostics, logs)
    setting: Setting | None = None  # the station setting this key sets, published converted


_M = len(SUPPORTED_MEASURANDS)
_SECONDS = integer(0, 86400)

KEYS: tuple[Key, ...] = (
    # Core profile (OCPP 1.6 §9.1)
    # PICS C-02 No: read-only false, so that no CSMS can switch on what the station does not claim (§9.1.1)
    Key("AllowOfflineTxForUnknownId", "false", readonly=True, setting=Setting.UNKNOWN_WHEN_OFFLINE),
    Key("AuthorizationCacheEnabled", "true", check=boolean, setting=Setting.AUTHORIZATION_CACHE),  # C-04
    Key("AuthorizeRemoteTxRequests", "false", check=boolean),
    Key("ClockAlignedDataInterval", "0", check=_SECONDS, setting=Setting.ALIGNED_INTERVAL_S),
    Key("ConnectionTimeOut", "60", check=integer(1, 3600)),
    Key("ConnectorPhaseRotation", "0.NotApplicable,1.NotApplicable", check=text()),
    Key("ConnectorPhaseRotationMaxLength", "2", readonly=True),
    Key("GetConfigurationMaxKeys", "6", readonly=True),
    Key("HeartbeatInterval", "300", check=integer(1, 65535)),
    Key("LocalAuthorizeOffline", "true", check=boolean, setting=Setting.LOCAL_WHEN_OFFLINE),  # C-01
    Key("LocalPreAuthorize", "true", check=boolean, setting=Setting.LOCAL_FIRST),
    Key("MaxEnergyOnInvalidId", "0", check=integer(0, 1_000_000)),  # C-03
    Key("MeterValuesAlignedData", "Energy.Active.Import.Register", check=measurands(_M),
        setting=Setting.ALIGNED_MEASURANDS),
    Key("MeterValuesAlignedDataMaxLength", str(_M), readonly=True),
    Key("MeterValuesSampledData", "Energy.Active.Import.Register", check=measurands(_M),
        setting=Setting.SAMPLED_MEASURANDS),
    Key("MeterValuesSampledDataMaxLength", str(_M), readonly=True),
    # 0: no sampled data (§9.1.18)
    Key("MeterValueSampleInterval", "60", check=integer(0, 65535), setting=Setting.SAMPLE_INTERVAL_S),
    Key("MinimumStatusDuration", "0", check=integer(0, 3600)),  # C-05
    Key("NumberOfConnectors", "1", readonly=True),
    Key("ResetRetries", "3", check=integer(0, 10)),
    # PICS C-06.1 No: the authorization is not kept when the EV side disconnects, so false is refused
    Key("StopTransactionOnEVSideDisconnect", "true", check=only("true")),
    Key("StopTransactionOnInvalidId", "true", check=boolean),
    Key("StopTxnAlignedData", "", check=measurands(_M), setting=Setting.SESSION_ALIGNED_MEASURANDS),
    Key("StopTxnAlignedDataMaxLength", str(_M), readonly=True),
    Key("StopTxnSampledData", "Energy.Active.Import.Register", check=measurands(_M),
        setting=Setting.SESSION_SAMPLED_MEASURANDS),
    Key("StopTxnSampledDataMaxLength", str(_M), readonly=True),
    # a profile is listed once it works, and only then
    Key("SupportedFeatureProfiles",
        "Core,FirmwareManagement,LocalAuthListManagement,Reservation,RemoteTrigger,SmartCharging", readonly=True),
    Key("SupportedFeatureProfilesMaxLength", "6", readonly=True),
    Key("TransactionMessageAttempts", "3", check=integer(1, 100)),
    Key("TransactionMessageRetryInterval", "60", check=integer(1, 86400)),
    Key("UnlockConnectorOnEVSideDisconnect", "false", readonly=True),  # fixed cable: nothing to unlock
    Key("WebSocketPingInterval", "300", check=integer(0, 86400)),  # ORS-11
    # limits of the other profiles, answered now so a CSMS can read them (ORS-12..16)
    Key("LocalAuthListEnabled", "true", check=boolean, setting=Setting.LOCAL_LIST),
    Key("LocalAuthListMaxLength", "9999", readonly=True, setting=Setting.LOCAL_LIST_CAPACITY),
    Key("SendLocalListMaxLength", "9999", readonly=True),
    Key("ChargeProfileMaxStackLevel", "10", readonly=True, setting=Setting.MAX_STACK_LEVEL),
    # SC-1: A only
    Key("ChargingScheduleAllowedChargingRateUnit", "Current", readonly=True, setting=Setting.SCHEDULE_UNITS),
    Key("ChargingScheduleMaxPeriods", "24", readonly=True, setting=Setting.MAX_SCHEDULE_PERIODS),
    Key("MaxChargingProfilesInstalled", "10", readonly=True, setting=Setting.MAX_INSTALLED_LIMITS),
    Key("ReserveConnectorZeroSupported", "false", readonly=True),  # No
    Key("SupportedFileTransferProtocols", "FTP", readonly=True),
    # ORS-8: MeterValue elements in StopTransaction.transactionData (the Transaction.End reading first)
    Key("StopTransactionMaxMeterValues", "1", check=integer(0, 100)),
    # true: an Absolute profile without startSchedule runs from the start of charging, as a Relative one
    # (false, the default: such a profile is Rejected)
    Key("AbsoluteWithoutStartScheduleAsRelative", "false", check=boolean,
        setting=Setting.UNDATED_ABSOLUTE_FROM_SESSION_START),
    # vendor keys of the PICS
    Key("CP_MODEL", "MIC-200-ELT", readonly=True),
    # where the station connects: read-only, the gateway answers the values in force (settings csms_url and
    # charge_point_id); a CSMS cannot move the station to another server
    Key("SERVER_ADDRESS", "", readonly=True),
    Key("SERVER_PORT", "", readonly=True),
    Key("SERVER_PATH", "/ocpp", readonly=True),
    Key("SERVER_CPID", "", readonly=True),
    Key("MemberPrice", "312.5,kWh Won", check=text(100)),
    Key("NonMemberPrice", "312.5,kWh Won", check=text(100)),
    Key("ServerURL", "", readonly=True),
    # OCPP 1.6 security whitepaper (edition 3): profile 1 basic auth, 2 basic auth over TLS, 3 client certificate
    Key("AuthorizationKey", "", check=authorization_key, secret=True),
    Key("SecurityProfile", "0", check=integer(0, 3)),
)

BY_NAME = {k.name: k for k in KEYS}
HEARTBEAT_RANGE_S = (1, 65535)  # PICS ORS-6/ORS-7


def defaults(*names: str) -> dict[str, str]:
    """The declared defaults of the named keys (a KeyError names a key that is not declared)."""
    return {name: BY_NAME[name].default for name in names}


# keys whose values never leave the station in diagnostics, logs or the API (OCPP 1.6 security whitepaper)
SECRET_KEYS = frozenset(k.name for k in KEYS if k.secret)


def setting_value(key: Key, value: str) -> SettingValueType:
    """The key's checked value as its station setting takes it: a flag, a number, measurands or units."""
    assert key.setting is not None, key.name
    default = DEFAULTS[key.setting]
    if isinstance(default, bool):
        return value.lower() == "true"
    if isinstance(default, int):
        return int(value)
    if key.setting is Setting.SCHEDULE_UNITS:
        return [UNITS[v] for v in _items(value)]
    return [m.value for m in measurands_of(value)]


def measurands_of(value: str) -> list[Measurand]:
    """A measurand key's value (checked by the store) as the measurands metering reads."""
    return [MEASURANDS[v] for v in _items(value)]


def _items(value: str) -> list[str]:
    """The items of a comma-separated key value, blanks around them dropped."""
    return [v.strip() for v in value.split(",") if v.strip()]

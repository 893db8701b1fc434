"""The OCPP 2.0.1 device model of this station, declared once: each variable's component, characteristics,
mutability, default and the station setting it sets (the same settings the 1.6 keys set, `keys.py`).

Defaults and limits are the reference station's PICS answers, as under 1.6 (ChargingProfileMaxStackLevel 10,
ChargingScheduleMaxPeriods 24, LocalAuthListMaxLength 9999, FTP, ...). What the station does in one way only is
ReadOnly with that way as its value (TxStartPoint, StopTxOnEVSideDisconnect, OfflineTxForUnknownIdEnabled):
a CSMS that asks for another gets Rejected, never a setting that is accepted and then half done. A value a
part of the station knows at the time (an availability, a count) is `live`: the gateway answers it from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocpp.v201.enums import DataEnumType as Data
from ocpp.v201.enums import MutabilityEnumType as Mutability

from services.common.contract.station_settings import Setting

from ..keys import SUPPORTED_MEASURANDS
from ..link import MAX_FRAME_BYTES

RO, RW, WO = Mutability.read_only, Mutability.read_write, Mutability.write_only
ENERGY = "Energy.Active.Import.Register"
AVAILABILITY_STATES = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")
# TxStartPoint and TxStopPoint: the points a 2.0.1 station may choose from (OCPP 2.0.1 E01, E06)
TX_START_POINTS = ("ParkingBayOccupancy", "EVConnected", "Authorized", "DataSigned", "PowerPathClosed",
                   "EnergyTransfer")
TX_STOP_POINTS = ("ParkingBayOccupancy", "EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer")
TIME_SOURCES = ("Heartbeat", "NTP", "GPS", "RealTimeClock", "MobileNetwork", "RadioTimeTransmitter")
FILE_TRANSFER = ("FTP", "FTPS", "HTTP", "HTTPS", "SFTP")
MAX_ITEMS_PER_MESSAGE = 50  # GetVariables, SetVariables, one part of a report


@dataclass(frozen=True)
class Var:
    """One variable of one component, with the one attribute this station keeps of it (Actual)."""

    component: str
    name: str
    data_type: Data
    default: str = ""
    mutability: Mutability = RO
    instance: str | None = None  # the variable's instance (MessageAttempts of TransactionEvent)
    evse: int | None = None
    connector: int | None = None
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None  # for a string or a list: its greatest length
    values: tuple[str, ...] | None = None  # the values an OptionList, MemberList or SequenceList takes
    setting: Setting | None = None  # the station setting its value sets
    max_setting: Setting | None = None  # the station setting its greatest value sets (a capacity)
    live: bool = False  # its value is what the station knows now, not a stored one
    reboot: bool = False  # a new value takes effect at the next boot (SetVariables answers RebootRequired)

    @property
    def path(self) -> str:
        """Its name in the store, on the bus (`chargebus/config/<path>`) and in logs:
        Component[@evse[.connector]].Variable[:instance]."""
        where = "" if self.evse is None else f"@{self.evse}" + ("" if self.connector is None else f".{self.connector}")
        return f"{self.component}{where}.{self.name}" + ("" if self.instance is None else f":{self.instance}")


def _bool(component: str, name: str, default: bool, mutability: Mutability = RO, **more: object) -> Var:
    return Var(component, name, Data.boolean, "true" if default else "false", mutability, **more)  # type: ignore[arg-type]


def _int(component: str, name: str, default: int, mutability: Mutability = RO, **more: object) -> Var:
    return Var(component, name, Data.integer, str(default), mutability, **more)  # type: ignore[arg-type]


def _measurands(component: str, name: str, default: str, setting: Setting | None = None,
                mutability: Mutability = RW) -> Var:
    return Var(component, name, Data.member_list, default, mutability, values=SUPPORTED_MEASURANDS, setting=setting)


OCPP_COMM, AUTH, AUTH_CACHE, LOCAL_LIST = "OCPPCommCtrlr", "AuthCtrlr", "AuthCacheCtrlr", "LocalAuthListCtrlr"
TX, SAMPLED, ALIGNED, RESERVATION = "TxCtrlr", "SampledDataCtrlr", "AlignedDataCtrlr", "ReservationCtrlr"
SMART, SECURITY, DEVICE_DATA = "SmartChargingCtrlr", "SecurityCtrlr", "DeviceDataCtrlr"

VARIABLES: tuple[Var, ...] = (
    # how the station talks to its CSMS
    _int(OCPP_COMM, "HeartbeatInterval", 300, RW, unit="s", min_limit=1, max_limit=65535),
    _int(OCPP_COMM, "WebSocketPingInterval", 300, RW, unit="s", min_limit=0, max_limit=86400),
    _int(OCPP_COMM, "MessageTimeout", 30, instance="Default", unit="s", live=True),  # ocpp_response_timeout_s
    _int(OCPP_COMM, "MessageAttempts", 3, RW, instance="TransactionEvent", min_limit=1, max_limit=100),
    _int(OCPP_COMM, "MessageAttemptInterval", 60, RW, instance="TransactionEvent", unit="s", min_limit=1,
         max_limit=86400),
    _int(OCPP_COMM, "ResetRetries", 3, RW, min_limit=0, max_limit=10),
    _int(OCPP_COMM, "OfflineThreshold", 60, RW, unit="s", min_limit=0, max_limit=86400),
    # one connection, from the station's own settings: no network profiles to choose from
    _int(OCPP_COMM, "ActiveNetworkProfile", 0),
    Var(OCPP_COMM, "NetworkConfigurationPriority", Data.sequence_list, "0", values=("0",)),
    _int(OCPP_COMM, "NetworkProfileConnectionAttempts", 3),
    # the link's reconnect: from half a second, doubling (six times) to 30 s, each wait drawn at random below it
    _int(OCPP_COMM, "RetryBackOffWaitMinimum", 1, unit="s"),
    _int(OCPP_COMM, "RetryBackOffRepeatTimes", 6),
    _int(OCPP_COMM, "RetryBackOffRandomRange", 1, unit="s"),
    Var(OCPP_COMM, "FileTransferProtocols", Data.member_list, "FTP", values=FILE_TRANSFER),
    _bool(OCPP_COMM, "UnlockOnEVSideDisconnect", False),  # a fixed cable: nothing to unlock
    # who may charge
    _bool(AUTH, "Enabled", True),
    _bool(AUTH, "AuthorizeRemoteStart", False, RW),
    _bool(AUTH, "LocalAuthorizeOffline", True, RW, setting=Setting.LOCAL_WHEN_OFFLINE),
    _bool(AUTH, "LocalPreAuthorize", True, RW, setting=Setting.LOCAL_FIRST),
    # PICS C-02 No: an unknown card never charges offline
    _bool(AUTH, "OfflineTxForUnknownIdEnabled", False, setting=Setting.UNKNOWN_WHEN_OFFLINE),
    _bool(AUTH_CACHE, "Available", True),
    _bool(AUTH_CACHE, "Enabled", True, RW, setting=Setting.AUTHORIZATION_CACHE),
    _bool(LOCAL_LIST, "Available", True),
    _bool(LOCAL_LIST, "Enabled", True, RW, setting=Setting.LOCAL_LIST),
    _int(LOCAL_LIST, "Entries", 0, max_limit=9999, live=True, max_setting=Setting.LOCAL_LIST_CAPACITY),
    _int(LOCAL_LIST, "ItemsPerMessage", 9999),
    _int(LOCAL_LIST, "BytesPerMessage", MAX_FRAME_BYTES),
    # transactions: started once the output is on (authorised and plugged), ended by either going
    _int(TX, "EVConnectionTimeOut", 60, RW, unit="s", min_limit=1, max_limit=3600),
    Var(TX, "TxStartPoint", Data.member_list, "PowerPathClosed", values=TX_START_POINTS),
    Var(TX, "TxStopPoint", Data.member_list, "EVConnected,Authorized", values=TX_STOP_POINTS),
    _bool(TX, "StopTxOnEVSideDisconnect", True),  # PICS C-06.1 No
    _bool(TX, "StopTxOnInvalidId", True, RW),
    _int(TX, "MaxEnergyOnInvalidId", 0, RW, unit="Wh", min_limit=0, max_limit=1_000_000),
    # meter values
    _int(SAMPLED, "TxUpdatedInterval", 60, RW, unit="s", min_limit=0, max_limit=65535,
         setting=Setting.SAMPLE_INTERVAL_S),
    _measurands(SAMPLED, "TxStartedMeasurands", ENERGY, mutability=RO),
    _measurands(SAMPLED, "TxUpdatedMeasurands", ENERGY, Setting.SAMPLED_MEASURANDS),
    _measurands(SAMPLED, "TxEndedMeasurands", ENERGY, Setting.SESSION_SAMPLED_MEASURANDS),
    _int(ALIGNED, "Interval", 0, RW, unit="s", min_limit=0, max_limit=86400, setting=Setting.ALIGNED_INTERVAL_S),
    _measurands(ALIGNED, "Measurands", ENERGY, Setting.ALIGNED_MEASURANDS),
    _measurands(ALIGNED, "TxEndedMeasurands", "", Setting.SESSION_ALIGNED_MEASURANDS),
    _bool(ALIGNED, "SendDuringIdle", False),
    # reservation: of one EVSE, never of the station as a whole (PICS R-1 No)
    _bool(RESERVATION, "Available", True),
    _bool(RESERVATION, "Enabled", True),
    _bool(RESERVATION, "NonEvseSpecific", False),
    # smart charging: in amperes only (PICS SC-1)
    _bool(SMART, "Available", True),
    _bool(SMART, "Enabled", True),
    _int(SMART, "Entries", 0, instance="ChargingProfiles", max_limit=10, live=True,
         max_setting=Setting.MAX_INSTALLED_LIMITS),
    _int(SMART, "ProfileStackLevel", 10, setting=Setting.MAX_STACK_LEVEL),
    _int(SMART, "PeriodsPerSchedule", 24, setting=Setting.MAX_SCHEDULE_PERIODS),
    Var(SMART, "RateUnit", Data.member_list, "A", values=("A", "W"), setting=Setting.SCHEDULE_UNITS),
    Var(SMART, "LimitChangeSignificance", Data.decimal, "10.0", unit="Percent"),  # no external limits to report
    # security: the profile and identity come from the station's settings
    Var(SECURITY, "BasicAuthPassword", Data.string, "", WO, min_limit=16, max_limit=40),
    _int(SECURITY, "SecurityProfile", 1, live=True),
    Var(SECURITY, "Identity", Data.string, "", max_limit=48, live=True),
    Var(SECURITY, "OrganizationName", Data.string, "chargebus"),
    _int(SECURITY, "CertificateEntries", 0, live=True),
    # how much one message may carry
    *(_int(DEVICE_DATA, "ItemsPerMessage", MAX_ITEMS_PER_MESSAGE, instance=i)
      for i in ("GetReport", "GetVariables", "SetVariables")),
    *(_int(DEVICE_DATA, "BytesPerMessage", MAX_FRAME_BYTES, instance=i)
      for i in ("GetReport", "GetVariables", "SetVariables")),
    # the station's clock is the operating system's, kept by its NTP client
    Var("ClockCtrlr", "DateTime", Data.date_time, "", live=True),
    Var("ClockCtrlr", "TimeSource", Data.sequence_list, "NTP", values=TIME_SOURCES),
    # the station, its one EVSE and the EVSE's fixed DC cable (PICS: cCCS1)
    Var("ChargingStation", "AvailabilityState", Data.option_list, "Available", values=AVAILABILITY_STATES,
        live=True),
    _bool("ChargingStation", "Available", True, live=True),
    _int("ChargingStation", "SupplyPhases", 0),
    Var("EVSE", "AvailabilityState", Data.option_list, "Available", evse=1, values=AVAILABILITY_STATES, live=True),
    _bool("EVSE", "Available", True, evse=1, live=True),
    _int("EVSE", "SupplyPhases", 0, evse=1),  # DC
    Var("EVSE", "Power", Data.decimal, "0", evse=1, unit="W", live=True),
    Var("Connector", "AvailabilityState", Data.option_list, "Available", evse=1, connector=1,
        values=AVAILABILITY_STATES, live=True),
    _bool("Connector", "Available", True, evse=1, connector=1, live=True),
    _int("Connector", "SupplyPhases", 0, evse=1, connector=1),
    Var("Connector", "ConnectorType", Data.string, "cCCS1", evse=1, connector=1),
)


def markdown_rows() -> list[str]:
    """The device model as rows of the table in docs/ocpp201.md (a test keeps the two the same)."""
    rows = ["| component | variable | type | mutability | value | limits | station setting |",
            "|---|---|---|---|---|---|---|"]
    for v in VARIABLES:
        where = "" if v.evse is None else f" (EVSE {v.evse}" + (
            "" if v.connector is None else f", connector {v.connector}") + ")"
        limits = " ".join(part for part in (
            "" if v.min_limit is None else f"min {v.min_limit:g}",
            "" if v.max_limit is None else f"max {v.max_limit:g}",
            v.unit or "", "" if v.values is None else "of " + ", ".join(v.values)) if part)
        value = ("(live)" if v.live else "(never read)" if v.mutability is WO
                 else f"`{v.default}`" if v.default else "(empty)")
        name = v.name if v.instance is None else f"{v.name} ({v.instance})"
        rows.append(f"| {v.component}{where} | {name} | {v.data_type.value} | {v.mutability.value} | {value} | "
                    f"{limits} | {v.setting or v.max_setting or ''} |")
    return rows

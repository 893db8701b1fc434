"""Station settings: the behaviour a CSMS may tune, named for what it does rather than for the protocol key
or variable that sets it.

The gateway owns them: it maps its protocol's keys onto these names (the table lives in the gateway package)
and publishes each as a retained `chargebus/settings/<name>`. Auth, metering and smart_charging read the ones
they need and use the default declared here until the gateway's copy arrives. A value always has the type of
its default: a flag, a whole number or a list of names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Never

from pydantic import Field, model_validator

from .base import Kind, Model, Topic
from .metering import Measurand


class Setting(StrEnum):
    # auth: which answers may be given without the CSMS
    AUTHORIZATION_CACHE = "authorization_cache"  # remember the CSMS's answers and use them
    LOCAL_LIST = "local_list"  # the list the CSMS sends is in use
    LOCAL_FIRST = "local_first"  # online, a card valid in the cache or list starts at once, without asking
    LOCAL_WHEN_OFFLINE = "local_when_offline"  # offline, the cache and list decide
    UNKNOWN_WHEN_OFFLINE = "unknown_when_offline"  # offline, an unknown card may charge
    LOCAL_LIST_CAPACITY = "local_list_capacity"  # entries the local list may hold
    # metering: what is read, and how often
    SAMPLE_INTERVAL_S = "sample_interval_s"  # 0: no periodic readings during a session
    ALIGNED_INTERVAL_S = "aligned_interval_s"  # 0: no readings on the clock
    SAMPLED_MEASURANDS = "sampled_measurands"
    ALIGNED_MEASURANDS = "aligned_measurands"
    SESSION_SAMPLED_MEASURANDS = "session_sampled_measurands"  # kept for the session's end report
    SESSION_ALIGNED_MEASURANDS = "session_aligned_measurands"
    # smart_charging: what a limit may be
    MAX_STACK_LEVEL = "max_stack_level"
    MAX_SCHEDULE_PERIODS = "max_schedule_periods"
    MAX_INSTALLED_LIMITS = "max_installed_limits"
    SCHEDULE_UNITS = "schedule_units"  # "A", "W"
    UNDATED_ABSOLUTE_FROM_SESSION_START = "undated_absolute_from_session_start"  # else refused


SettingValueType = bool | int | list[str]
_ENERGY = [Measurand.ENERGY_IMPORTED.value]

DEFAULTS: dict[Setting, SettingValueType] = {
    Setting.AUTHORIZATION_CACHE: True,
    Setting.LOCAL_LIST: True,
    Setting.LOCAL_FIRST: True,
    Setting.LOCAL_WHEN_OFFLINE: True,
    Setting.UNKNOWN_WHEN_OFFLINE: False,
    Setting.LOCAL_LIST_CAPACITY: 9999,
    Setting.SAMPLE_INTERVAL_S: 60,
    Setting.ALIGNED_INTERVAL_S: 0,
    Setting.SAMPLED_MEASURANDS: _ENERGY,
    Setting.ALIGNED_MEASURANDS: _ENERGY,
    Setting.SESSION_SAMPLED_MEASURANDS: _ENERGY,
    Setting.SESSION_ALIGNED_MEASURANDS: [],
    Setting.MAX_STACK_LEVEL: 10,
    Setting.MAX_SCHEDULE_PERIODS: 24,
    Setting.MAX_INSTALLED_LIMITS: 10,
    Setting.SCHEDULE_UNITS: ["A"],
    Setting.UNDATED_ABSOLUTE_FROM_SESSION_START: False,
}
_MEASURAND_LISTS = frozenset({Setting.SAMPLED_MEASURANDS, Setting.ALIGNED_MEASURANDS,
                              Setting.SESSION_SAMPLED_MEASURANDS, Setting.SESSION_ALIGNED_MEASURANDS})


class SettingValue(Model):
    name: Setting
    value: bool | int | list[str] = Field(description="A flag, a whole number or a list, as the name's default.")

    @model_validator(mode="after")
    def _typed_as_declared(self) -> SettingValue:
        wanted = type(DEFAULTS[self.name])
        if type(self.value) is not wanted:  # bool is an int to isinstance: compare the types themselves
            raise ValueError(f"{self.name} takes a {wanted.__name__}, not {self.value!r}")
        if isinstance(self.value, int) and not isinstance(self.value, bool) and self.value < 0:
            raise ValueError(f"{self.name} is never negative")
        if self.name in _MEASURAND_LISTS:
            unknown = set(self.value) - set(Measurand)  # type: ignore[arg-type]
            if unknown:
                raise ValueError(f"{self.name}: unknown measurand(s) {sorted(unknown)}")
        if self.name is Setting.SCHEDULE_UNITS and (not self.value or set(self.value) - {"A", "W"}):  # type: ignore[arg-type]
            raise ValueError(f"{self.name} lists A, W or both")
        return self


SETTING: Topic[SettingValue, Never] = Topic(
    "chargebus/settings/{name}",
    Kind.CONFIG,
    SettingValue,
    owner="ocpp_gateway",
    retain=True,
    subscribers=("auth", "metering", "smart_charging"),
    doc="A station setting, written only by the gateway (which maps it from the CSMS's configuration). A change "
    "takes effect at once in every service that reads it.",
    example={"name": "sample_interval_s", "value": 60},
)

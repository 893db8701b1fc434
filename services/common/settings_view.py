"""A service's live view of the station settings it reads (published by the gateway).

Until the gateway's retained value arrives, the default declared in `contract.station_settings` applies.
"""

from __future__ import annotations

from .bus import Bus
from .contract.metering import Measurand
from .contract.station_settings import DEFAULTS, SETTING, Setting, SettingValue, SettingValueType


class SettingsView:
    def __init__(self, bus: Bus, *names: Setting) -> None:
        self.values: dict[Setting, SettingValueType] = {name: DEFAULTS[name] for name in names}
        for name in names:  # only the settings it reads: a change of another one wakes nobody here
            bus.follow(SETTING, self._seen, name=name.value)

    async def _seen(self, setting: SettingValue | None, params: dict[str, str]) -> None:
        if setting is not None and setting.name in self.values and setting.name == params.get("name"):
            self.values[setting.name] = setting.value

    def flag(self, name: Setting) -> bool:
        value = self.values[name]
        assert isinstance(value, bool), name  # SettingValue refuses a value of another type than the default
        return value

    def number(self, name: Setting) -> int:
        value = self.values[name]
        assert isinstance(value, int) and not isinstance(value, bool), name
        return value

    def names(self, name: Setting) -> list[str]:
        value = self.values[name]
        assert isinstance(value, list), name
        return value

    def measurands(self, name: Setting) -> list[Measurand]:
        return [Measurand(v) for v in self.names(name)]

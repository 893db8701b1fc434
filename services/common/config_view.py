"""A service's live view of the OCPP configuration keys it reads (published by the gateway).

Until the gateway's retained value arrives, the default declared in `contract.config_keys` applies.
"""

from __future__ import annotations

from .bus import Bus
from .contract.common import CONFIG, ConfigValue
from .contract.config_keys import defaults


class ConfigView:
    def __init__(self, bus: Bus, *keys: str) -> None:
        self.values = defaults(*keys)
        for key in keys:  # only the keys it reads: a change of another key wakes nobody here
            bus.follow(CONFIG, self._seen, key=key)

    async def _seen(self, value: ConfigValue | None, params: dict[str, str]) -> None:
        if value is not None and value.key in self.values and value.key == params.get("key"):
            self.values[value.key] = value.value

    def get(self, key: str) -> str:
        return self.values[key]

    def get_bool(self, key: str) -> bool:
        return self.values[key].lower() == "true"

    def get_int(self, key: str, fallback: int = 0) -> int:
        try:
            return int(self.values[key])
        except ValueError:
            return fallback

    def get_csv(self, key: str) -> list[str]:
        return [v.strip() for v in self.values[key].split(",") if v.strip()]

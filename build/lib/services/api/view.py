"""The api's picture of the station: the latest retained state of every topic, kept from the bus."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.common.contract import Topic
from services.common.contract.common import ConfigValue, Health


class StationView:
    """Latest payload per topic; the api only reads the bus, it never owns data."""

    def __init__(self) -> None:
        self.latest: dict[str, BaseModel] = {}

    async def seen(self, topic: str, _declared: Topic, payload: BaseModel | None, _p: dict[str, str]) -> None:
        if payload is None:
            self.latest.pop(topic, None)  # a cleared retained state
        elif "/state/" in topic or topic.endswith("/health") or topic.startswith("chargebus/config/"):
            self.latest[topic] = payload

    def health(self) -> dict[str, Any]:
        return {t.split("/")[1]: v.model_dump(mode="json") for t, v in sorted(self.latest.items())
                if isinstance(v, Health)}

    def states(self) -> dict[str, Any]:
        return {t: v.model_dump(mode="json") for t, v in sorted(self.latest.items()) if "/state/" in t}

    def config(self) -> dict[str, Any]:
        return {v.key: {"value": v.value, "readonly": v.readonly} for _, v in sorted(self.latest.items())
                if isinstance(v, ConfigValue)}

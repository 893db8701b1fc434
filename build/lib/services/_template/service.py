"""Life cycle and wiring only: register handlers, start and stop tasks."""

from __future__ import annotations

from services.common.lifecycle import Service


class TemplateService(Service):
    name = "_template"

    async def setup(self) -> None:
        # self.bus.handle(contract.<name>.SOME_CMD, handlers.on_some_cmd)
        # self.bus.on(contract.<other>.SOME_STATE, self.on_some_state)
        pass

"""The supervisor under docker-compose: compose holds the processes, so a restart (a CSMS Reset, `chargebus
restart`, the api) is an order on the bus. The named services stop in order and compose's restart policy
starts them again; a restart of all of them is a new boot of the station (the CSMS is told of it).

`python -m services.supervisor.restart_orders` is the `supervisor` container's command.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from services.common.boot import next_boot
from services.common.bus import BusError
from services.common.contract.base import ErrorCode
from services.common.contract.supervisor import (
    INSTALL,
    RESTART,
    RESTART_ORDER,
    InstallReply,
    InstallRequest,
    RestartOrder,
    RestartReply,
    RestartRequest,
)
from services.common.lifecycle import Service, run_service
from services.common.settings import SERVICES

log = logging.getLogger(__name__)


class RestartOrders(Service):
    name = "supervisor"

    async def setup(self) -> None:
        self.bus.handle(RESTART, self.on_restart)
        self.bus.handle(INSTALL, self.on_install)

    async def on_install(self, request: InstallRequest, _p: dict[str, str]) -> InstallReply:
        log.warning("firmware %s not installed: under docker-compose a version comes as a new image", request.version)
        return InstallReply(switching=False, reason="under docker-compose a new version comes as a new image "
                            "(docker compose pull/build && up -d), not through a firmware update from the CSMS")

    async def on_restart(self, request: RestartRequest, _p: dict[str, str]) -> RestartReply:
        running = [s for s in self.settings.services if s != "sim" or self.settings.with_sim]
        if request.service is not None and request.service not in SERVICES:
            raise BusError(ErrorCode.NOT_FOUND, f"no service {request.service!r}; known: {sorted(running)}")
        names = [request.service] if request.service else running
        if request.service is None:
            next_boot(self.settings.data_dir)
        log.warning("restart ordered services=%s reason=%r", names, request.reason)
        order = RestartOrder(services=names, reason=request.reason, at=datetime.now(UTC))
        self.bus.after_reply(lambda: self.bus.publish(RESTART_ORDER, order))  # the caller may be one that stops
        return RestartReply(restarting=names)


if __name__ == "__main__":
    run_service(RestartOrders)

"""Wiring: CAN driver + controller + bus. Sends the module command every 100 ms and on every change."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from datetime import UTC, datetime

import can

from services.common.bus import BusError
from services.common.contract import ocpp_gateway, power, smart_charging
from services.common.contract.auth import IdToken, TokenType
from services.common.contract.common import HEALTH, Health, HealthState
from services.common.contract.ocpp_gateway import SessionRequest, SessionView
from services.common.contract.power import ConnectorState, Measurement, RfidSwiped
from services.common.lifecycle import Service

from . import caps, handlers
from .can_codec import CanCodec, EvStatus, MeterReading, ModuleStatus, RfidAssembler, RfidChunk, StationInputs
from .controller import Controller, same_state, significant
from .driver import CanDriver

log = logging.getLogger(__name__)

CYCLE_S = 0.1
STARTUP_WAIT_S = 1.0  # wait this long for the module and EV frames before adopting and publishing
AVAILABILITY_WAIT_S = 2.0  # and for the gateway's retained availability (none on a station never started)
MEASUREMENT_EVERY_S = 1.0
HOLD_RELEASE_S = 1.0  # after the bus connects, retained limits have arrived: stop holding the adopted current
SESSION_CHECK_S = 1.0  # while energized, the gateway is asked this often whether its session is still open
SESSION_ASK_S = 1.0
# no session can be started, authorized, billed or kept to its charging limit without them
NEEDED = ("ocpp_gateway", "auth", "metering", "smart_charging")
NEEDED_GRACE_S = 10.0  # a restart takes a second or two; down longer than this, the connector is Unavailable


class PowerService(Service):
    name = "power"

    async def setup(self) -> None:
        self.codec = CanCodec()
        self.ctl = Controller(started_at=time.monotonic())
        self.driver = CanDriver(self.settings, accept=(self.codec.status_id, self.codec.meter_id,
                                                       self.codec.ev_id, self.codec.rfid_id, self.codec.inputs_id))
        self.driver.open()
        self.rfid = RfidAssembler()
        self.ready = asyncio.Event()
        self._heard = asyncio.Event()
        self._alive = 0
        self._state: ConnectorState | None = None
        self._measurement: Measurement | None = None
        self._measured_at = 0.0
        self._connected_at: float | None = None
        self.boot_id = uuid.uuid4().hex[:12]  # measurements are ordered by (boot, sequence), never by the clock
        self._sequence = itertools.count()
        self.caps_path = self.settings.data_dir / "power_caps.json"
        self.caps = caps.load(self.caps_path)
        self.ctl.set_cap(self.caps.cap(self.ctl.connector_id), fail_closed=self.caps.unreadable)
        h = handlers.Handlers(self.ctl, self.apply, self.answer, self.ready, self.open_session, self.keep_cap)
        self.availability_known = h.availability_known
        self.bus.handle(power.ENERGIZE, h.on_energize)
        self.bus.handle(power.SUSPEND, h.on_suspend)
        self.bus.handle(power.DEENERGIZE, h.on_deenergize)
        self.bus.handle(power.SET_LIMIT, h.on_set_limit)
        self.bus.follow(ocpp_gateway.AVAILABILITY, h.on_availability)
        self.bus.handle(power.GET_STATE, h.on_get_state)
        self.bus.follow(smart_charging.LIMIT, h.on_limit)
        self.bus.when_connected(self.republish)
        self.bus.follow(HEALTH, self.on_health)
        self._down_since: dict[str, float] = {name: time.monotonic() for name in NEEDED}  # until heard online

    async def on_health(self, health: Health | None, params: dict[str, str]) -> None:
        name = params.get("service", "")
        if name not in NEEDED:
            return
        if health is not None and health.state is HealthState.ONLINE:
            self._down_since.pop(name, None)
        else:
            self._down_since.setdefault(name, time.monotonic())

    def keep_cap(self, connector_id: int, current_a: float | None) -> None:
        updated = {k: v for k, v in self.caps.by_connector.items() if k != connector_id}
        if current_a is not None:
            updated[connector_id] = current_a
        caps.save(self.caps_path, updated)
        self.caps = caps.Caps(updated)  # a technician's word replaces an unreadable file: no longer fail closed

    def _needed_down(self, now: float) -> str | None:
        return next((n for n in NEEDED if n in self._down_since and now - self._down_since[n] > NEEDED_GRACE_S), None)

    def republish(self) -> None:
        """After every (re)connection: the next cycle publishes the state and measurement of now."""
        self._state, self._measurement = None, None

    async def run(self) -> None:
        self.driver.start(self.on_frame)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STARTUP_WAIT_S):
                await self._heard.wait()
        try:  # the first state published must not call an inoperative connector Available
            async with asyncio.timeout(AVAILABILITY_WAIT_S):
                await self.availability_known.wait()
        except TimeoutError:
            log.warning("no availability from the gateway within %.0f s: connector=%d operative until it says",
                        AVAILABILITY_WAIT_S, self.ctl.connector_id)
        adopted = self.ctl.adopt(time.monotonic())
        log.info("started connector=%d module_seen=%s adopted_charge=%s hold_a=%s", self.ctl.connector_id,
                 self.ctl.module is not None, adopted, self.ctl.hold_a)
        self.ready.set()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._cycle(), name="can-cycle")
            tg.create_task(self._watch_session(), name="session-watch")

    async def _cycle(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(CYCLE_S)

    async def open_session(self, connector_id: int) -> str | None:
        """The gateway's persisted session on the connector, asked now (BusError when it cannot answer)."""
        view: SessionView = await self.bus.request(ocpp_gateway.GET_SESSION, SessionRequest(connector_id=connector_id),
                                                   timeout=SESSION_ASK_S)
        return view.session_id

    async def _watch_session(self) -> None:
        """An energized output needs an open session at the gateway; checked at start and every second.

        This is the energize interlock, and it stays a question rather than a followed state: a retained state
        cannot tell a gateway that is gone from one with nothing to say, and only an answer given now proves the
        session is open now. The same answer brings the suspension back after a restart of either side. No
        answer (the gateway is restarting) changes nothing: a running charge is never cut because a service
        restarts, and the gateway checks the outputs itself when it is back.
        """
        while True:
            await self._check_session()
            await asyncio.sleep(SESSION_CHECK_S)

    async def _check_session(self) -> None:
        ctl = self.ctl
        try:
            view: SessionView = await self.bus.request(ocpp_gateway.GET_SESSION, SessionRequest(
                connector_id=ctl.connector_id), timeout=SESSION_ASK_S)
        except BusError:
            return
        if not ctl.energized:
            return
        if view.session_id is None or (ctl.session_id is not None and view.session_id != ctl.session_id):
            log.error("connector=%d energized for session=%s but the gateway has %s: de-energizing",
                      ctl.connector_id, ctl.session_id, view.session_id)
            ctl.deenergize(time.monotonic())
            self.apply()
            return
        if ctl.session_id is None:
            log.info("connector=%d adopted charge belongs to session=%s", ctl.connector_id, view.session_id)
            ctl.session_id = view.session_id
        if view.suspended != ctl.suspended:
            ctl.suspend(view.suspended)
            self.apply()

    async def shutdown(self) -> None:
        self.driver.close()

    # -- frames ---------------------------------------------------------------------------------

    def on_frame(self, msg: can.Message) -> None:
        frame = self.codec.decode(msg)
        now = time.monotonic()
        if isinstance(frame, ModuleStatus):
            self.ctl.on_module(frame, now)
        elif isinstance(frame, EvStatus):
            self.ctl.on_ev(frame, now)
        elif isinstance(frame, MeterReading):
            self.ctl.on_meter(frame)
        elif isinstance(frame, RfidChunk):
            self._on_rfid(frame, now)
            return
        elif isinstance(frame, StationInputs):
            pressed = frame.emergency_stop and not (self.ctl.inputs is not None and self.ctl.inputs.emergency_stop)
            self.ctl.on_inputs(frame, now)
            if pressed and self.ready.is_set():
                log.warning("emergency stop pressed connector=%d: output off", self.ctl.connector_id)
                self.apply()  # the module hears enable=0 now, within the cycle the button was seen
                return
        else:
            return
        if self.ctl.module is not None and self.ctl.ev is not None:
            self._heard.set()
        if self.ready.is_set():
            self.publish_state(now)
            if isinstance(frame, ModuleStatus):
                self.publish_measurement(now, force=False)

    def _on_rfid(self, chunk: RfidChunk, now: float) -> None:
        tag = self.rfid.feed(chunk, now)
        if tag is not None:
            log.info("rfid swiped id_token=%s", tag)
            # the reader reads contactless cards: their UID is the token
            self.bus.publish(power.RFID_SWIPED, RfidSwiped(token=IdToken(value=tag, type=TokenType.ISO14443)))

    # -- outputs --------------------------------------------------------------------------------

    def tick(self) -> None:
        now = time.monotonic()
        down = self._needed_down(now)
        if down != self.ctl.service_down:
            log.warning("connector=%d %s", self.ctl.connector_id,
                        f"unavailable: {down} is down" if down else "available again: every needed service is up")
            self.ctl.service_down = down
        if self._connected_at is None and self.bus.connected:
            self._connected_at = now
        if self.ctl.hold_a is not None and self._connected_at is not None and now - self._connected_at > HOLD_RELEASE_S:
            self.ctl.release_hold()
        self.send_command(now)
        self.publish_state(now)
        self.publish_measurement(now, force=now - self._measured_at >= MEASUREMENT_EVERY_S)

    def send_command(self, now: float) -> None:
        self._alive = (self._alive + 1) % 256
        self.driver.send(self.codec.encode_command(self.ctl.command(now, self._alive)))

    def apply(self) -> ConnectorState:
        """After a change: the module hears it now, not at the next cycle; the new state is published."""
        now = time.monotonic()
        self.send_command(now)
        return self._publish(now)

    def answer(self) -> ConnectorState:
        """In a command's handler: the module hears it now, and the reply (the new state) goes out before the state
        and the measurement are published to every follower; the caller, a start or a stop, is waiting on it."""
        now = time.monotonic()
        self.send_command(now)
        self.bus.after_reply(lambda: self._publish(time.monotonic()))
        return self.ctl.snapshot(now, datetime.now(UTC))

    def _publish(self, now: float) -> ConnectorState:
        self.publish_measurement(now, force=False)
        return self.publish_state(now)

    def publish_state(self, now: float) -> ConnectorState:
        state = self.ctl.snapshot(now, datetime.now(UTC))
        if not same_state(self._state, state):
            if self._state is None or self._state.since != state.since:
                log.info("connector=%d plugged=%s energized=%s delivering=%s held_back=%s awaiting_unplug=%s "
                         "fault=%s blocked_by=%s", state.connector_id, state.plugged, state.energized,
                         state.delivering, state.held_back, state.awaiting_unplug, state.fault, state.blocked_by)
            self._state = state
            self.bus.publish(power.CONNECTOR, state, connector_id=state.connector_id)
        return state

    def publish_measurement(self, now: float, force: bool) -> None:
        new = self.ctl.measurement(now, datetime.now(UTC), self.boot_id, 0)
        if new is None or not (force or significant(self._measurement, new)):
            return
        new = new.model_copy(update={"sequence": next(self._sequence)})
        self._measurement, self._measured_at = new, now
        self.bus.publish(power.MEASUREMENT, new, connector_id=new.connector_id)

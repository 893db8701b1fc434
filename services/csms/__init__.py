"""The development Central System of the bench (`chargebus csms`): not a station service.

It stands for the remote CSMS so that a bench with no CSMS configured charges: it accepts every
card, logs every OCPP message both ways as one readable line, asks for meter values every few
seconds, and sends the station the commands of the six 1.6 profiles on request (`chargebus csms send`).
It is not on the bus; `chargebus run` starts it only on the bench (with_sim) while csms_url is the
built-in default, and nothing of production (compose, systemd) ever does. See docs/dev-csms.md.
"""

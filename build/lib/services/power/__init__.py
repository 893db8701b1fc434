"""power: the power controller.

Owns the CAN link to the DC power module, the DC meter, the EV link and the RFID reader
(`proto/can/chargebus.dbc`), the connector state machine (OCPP status and error code) and the
current set-point (min of EV request, smart charging limit, maintenance cap, module rating).
"""

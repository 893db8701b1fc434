"""sim: bench hardware simulator.

Owns the simulated DC power module (200 kW: 1000 V / 500 A), the DC meter, the EV (plug, SoC,
requested current), the RFID reader and injectable faults; it speaks the station's CAN DBC on the
configured python-can bus and is driven over MQTT (`chargebus sim ...`, tests).
"""

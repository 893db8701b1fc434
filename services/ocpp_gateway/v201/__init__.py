"""The OCPP 2.0.1 side of the gateway, chosen by the setting `ocpp_version` (issue 18).

It speaks to the same bus as the 1.6 side, under the same account and the same domain contract, so no other
service can tell which protocol the station speaks. `edition.py` assembles it around the parts both versions
share (the link, the transaction engine, the availability, the status reporter): the device model
(`variables`, `device_model`, its store `variable_store`, its live values `live`), the transaction messages
(`tx_messages`, `transaction_events`), the link's `dialect`, and the charge point of each connection
(`charge_point`, one mixin per functional block). `docs/ocpp201.md` lists what is supported and what is refused.
"""

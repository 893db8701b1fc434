"""The OCPP 2.0.1 side of the gateway, built beside the 1.6 one (issue 18).

It speaks to the same bus as the 1.6 gateway, under the same account and the same domain contract, so no other
service can tell which protocol the station speaks. Not selectable yet: `ocpp_version` arrives with a whole
2.0.1 card session. What is here is tested on its own: the device model (`variables`, `device_model`,
its store `variable_store`, its calls `provisioning`), the TransactionEvent payloads (`transaction_events`),
tokens (`tokens`), connector statuses (`connector_status`) and the link's 2.0.1 dialect (`dialect`: the 1.6
link, `link.py`, speaks either).
"""

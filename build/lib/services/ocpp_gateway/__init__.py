"""ocpp_gateway service (life cycle only until its features land)."""

"""metering service (life cycle only until its features land)."""

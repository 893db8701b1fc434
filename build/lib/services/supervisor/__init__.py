"""The supervisor: `chargebus run` starts the broker and every service, restarts what dies, performs Reset."""

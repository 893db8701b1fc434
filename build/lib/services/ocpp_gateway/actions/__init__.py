"""The Central System's calls, one module per OCPP 1.6 feature profile; `charge_point.py` assembles them."""

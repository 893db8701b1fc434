"""`python -m services.supervisor` is `chargebus run`."""

from services.cli.main import main

raise SystemExit(main(["run"]))

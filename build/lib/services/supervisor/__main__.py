"""`python -m services.supervisor` is `chargebus run`."""

import sys

from services.common.settings import SettingsError, load_settings

from .main import run

try:
    settings = load_settings()
except SettingsError as exc:
    print(exc, file=sys.stderr)
    raise SystemExit(2) from None
raise SystemExit(run(settings))

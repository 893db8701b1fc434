from services.common.settings import load_settings

from .server import main

raise SystemExit(main(load_settings()))

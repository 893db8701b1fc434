from services.common.lifecycle import run_service

from .service import SimService

run_service(SimService)

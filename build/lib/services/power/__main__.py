from services.common.lifecycle import run_service

from .service import PowerService

run_service(PowerService)

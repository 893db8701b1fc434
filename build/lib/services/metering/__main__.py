from services.common.lifecycle import run_service

from .service import MeteringService

run_service(MeteringService)

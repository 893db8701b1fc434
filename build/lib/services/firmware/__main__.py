from services.common.lifecycle import run_service

from .service import FirmwareService

run_service(FirmwareService)

from services.common.lifecycle import run_service

from .service import SmartChargingService

run_service(SmartChargingService)

from services.common.lifecycle import run_service

from .service import OcppGatewayService

run_service(OcppGatewayService)

from services.common.lifecycle import run_service

from .service import ApiService

run_service(ApiService)

from services.common.lifecycle import run_service

from .service import TemplateService

run_service(TemplateService)

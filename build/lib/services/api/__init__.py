"""api: the local maintenance API and status page (FastAPI + uvicorn), read-only from the bus."""

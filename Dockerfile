# One image for every service; docker-compose.yml picks the service with its command.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 CHARGEBUS_DATA_DIR=/data
WORKDIR /opt/chargebus
COPY pyproject.toml README.md ./
COPY services ./services
COPY proto ./proto
COPY deploy ./deploy
# mosquitto only for the stand-alone `chargebus run` below; under compose the broker has its own container
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto && rm -rf /var/lib/apt/lists/* \
    && pip install . && useradd --system --uid 1000 chargebus && mkdir -p /data && chown chargebus /data
USER chargebus
VOLUME ["/data"]
# without compose the image runs the whole station under the supervisor (broker included); under compose
# each container names its own command and healthcheck
HEALTHCHECK --interval=15s --timeout=10s --start-period=20s CMD ["chargebus", "health", "supervisor"]
CMD ["chargebus", "run"]

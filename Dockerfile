# One image for every service; docker-compose.yml picks the service with its command.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 CHARGEBUS_DATA_DIR=/data
WORKDIR /opt/chargebus
COPY pyproject.toml README.md ./
COPY services ./services
COPY proto ./proto
COPY deploy ./deploy
RUN pip install . && useradd --system --uid 1000 chargebus && mkdir -p /data && chown chargebus /data
USER chargebus
VOLUME ["/data"]
# without compose the image runs the whole station (it then needs mosquitto in the image: use compose)
CMD ["chargebus", "run"]

# One image for every service; docker-compose.yml picks the service with its command.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 CHARGEBUS_DATA_DIR=/data
WORKDIR /opt/chargebus
COPY pyproject.toml README.md ./
COPY services ./services
COPY proto ./proto
COPY deploy ./deploy
# mosquitto with the station's client-id plugin: the compose broker runs from this image too
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto mosquitto-clients gcc libc6-dev \
        mosquitto-dev libmosquitto-dev \
    && mkdir -p /usr/lib/chargebus \
    && cc -shared -fPIC -O2 -Wall -Wextra -Werror -o /usr/lib/chargebus/chargebus_clientid.so \
        deploy/mosquitto/plugin/chargebus_clientid.c \
    && apt-get purge -y gcc libc6-dev mosquitto-dev libmosquitto-dev && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/* \
    && pip install . && useradd --system --uid 1000 chargebus && mkdir -p /data && chown chargebus /data
USER chargebus
VOLUME ["/data"]
# without compose the image runs the whole station under the supervisor (broker included); under compose
# each container names its own command and healthcheck
HEALTHCHECK --interval=15s --timeout=10s --start-period=20s CMD ["chargebus", "health", "supervisor"]
CMD ["chargebus", "run"]

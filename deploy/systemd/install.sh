#!/usr/bin/env bash
# Install the station as a systemd service from this checkout: `sudo deploy/systemd/install.sh`.
# Code in /opt/chargebus (its own virtual environment), settings in /etc/chargebus, data in /var/lib/chargebus,
# run by root, which starts each service as its own user (docs/station.md). Running it again updates the code
# and keeps settings and data (a station installed before, as the user `chargebus`, keeps them too).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run it as root: sudo $0" >&2; exit 1; }
SOURCE="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="${CHARGEBUS_PREFIX:-/opt/chargebus}"
UNIT_DIR="${CHARGEBUS_UNIT_DIR:-/etc/systemd/system}"

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto python3-venv >/dev/null
# the packaged broker would take port 1883: the station runs its own
systemctl disable --now mosquitto 2>/dev/null || true
# SocketCAN needs no group; a serial RFID reader would need dialout. The supervisor makes the data directory
# root's and the station group's (mode 1770) and hands each service its files at every start.
install -d -m 0750 /var/lib/chargebus
install -d -m 0755 /etc/chargebus "$PREFIX"
[ -f /etc/chargebus/chargebus.toml ] || install -m 0644 "$SOURCE/deploy/chargebus.toml" /etc/chargebus/chargebus.toml
sed -i 's|^data_dir = .*|data_dir = "/var/lib/chargebus"|' /etc/chargebus/chargebus.toml
[ -f /etc/chargebus/station.env ] || install -m 0600 /dev/null /etc/chargebus/station.env
cp -r "$SOURCE/pyproject.toml" "$SOURCE/README.md" "$SOURCE/services" "$SOURCE/proto" "$SOURCE/deploy" "$PREFIX/"
python3 -m venv "$PREFIX/.venv"
"$PREFIX/.venv/bin/pip" install -q "$PREFIX"
install -m 0644 "$SOURCE/deploy/systemd/chargebus.service" "$UNIT_DIR/chargebus.service"
systemctl daemon-reload
systemctl enable --now chargebus.service
echo "chargebus installed: systemctl status chargebus; $PREFIX/.venv/bin/chargebus status"

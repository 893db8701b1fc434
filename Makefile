# chargebus: `make run` starts the station with the simulator, `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# gcc and mosquitto-dev build the broker's client-id plugin (deploy/mosquitto/plugin/)
APT_PACKAGES := mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev gcc libc6-dev python3-venv
# the status page's browser test drives Debian's own Chromium through its chromedriver
TEST_APT_PACKAGES := chromium chromium-driver

.PHONY: run test bench lint proto deps test-deps clean system-packages test-system-packages

deps: $(VENV)/.installed

system-packages test-system-packages: PACKAGES = $(if $(filter test-%,$@),$(TEST_APT_PACKAGES),$(APT_PACKAGES))
system-packages test-system-packages:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	@# the packaged broker starts a system-wide instance on 1883; the station runs its own
	@if command -v systemctl >/dev/null && systemctl is-active -q mosquitto 2>/dev/null; then \
	  $(SUDO) systemctl disable --now mosquitto; fi

PLUGIN := $(VENV)/lib/chargebus/chargebus_clientid.so
# Debian's interpreter (python3-venv): run as root, each service runs as its own user and must reach it, which a
# Python under /root (pyenv) does not allow
PYTHON := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

$(VENV)/.installed: pyproject.toml deploy/mosquitto/plugin/chargebus_clientid.c | system-packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -e .
	mkdir -p $(dir $(PLUGIN))
	cc -shared -fPIC -O2 -Wall -Wextra -Werror -o $(PLUGIN) deploy/mosquitto/plugin/chargebus_clientid.c
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed | test-system-packages
	$(PIP) install -q -e '.[test]'
	touch $@

test-deps: $(VENV)/.test-installed

# the bench: the station with the hardware simulator (deploy/chargebus.toml, the station's file, has it off)
run: deps
	CHARGEBUS_WITH_SIM=$${CHARGEBUS_WITH_SIM:-true} $(VENV)/bin/chargebus run

test: test-deps
	$(VENV)/bin/ruff check services tests bench
	$(VENV)/bin/mypy
	@# six workers on two cores: the longest tests wait on protocol timers (a last will, an offline replay, a
	@# firmware trial), and the others run meanwhile
	$(PY) -m pytest -n 6 --dist worksteal -q

bench: test-deps
	$(PY) -m bench

proto: deps
	$(PY) -m services.common.proto_gen

lint: test-deps
	$(VENV)/bin/ruff check services tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) data

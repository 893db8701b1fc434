"""The software version reported in health messages and to the CSMS at boot."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("chargebus")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.1.0+src"

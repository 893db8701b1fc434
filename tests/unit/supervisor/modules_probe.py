"""Run by the launcher as a child in a test: prints its niceness and whether the late preload (the api's web
framework) was there when it was forked."""

import os
import sys

if __name__ == "__main__":
    print(os.nice(0), "services.api.service" in sys.modules)

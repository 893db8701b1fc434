"""Run by the launcher as a child in a test: says whether the collector runs and how many objects are frozen."""

import gc

if __name__ == "__main__":
    print(gc.isenabled(), gc.get_freeze_count())

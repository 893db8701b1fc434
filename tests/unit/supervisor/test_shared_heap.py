"""The launcher's last writes before it forks: every class tagged, the C heap's free chunks taken."""

from __future__ import annotations

import subprocess
import sys

from services.supervisor.shared_heap import tag_classes

_HOLES = """
import ctypes
from services.supervisor import launcher, shared_heap

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                  "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
launcher.preload(launcher.PRELOAD)  # takes the holes itself, as the launcher does: make new ones
garbage = [bytes(700 + i % 900) for i in range(20000)]
del garbage[::2]
before = libc.mallinfo2()
taken = shared_heap.take_heap_holes()
after = libc.mallinfo2()
print(before.fordblks - before.keepcost, taken, after.fordblks - after.keepcost)
"""


def test_the_free_chunks_inside_the_heap_are_taken_and_growth_comes_from_its_end() -> None:
    free_before, taken, free_after = (int(n) for n in subprocess.run(
        [sys.executable, "-c", _HOLES], check=True, capture_output=True, text=True).stdout.split())
    assert free_before > 5_000_000  # the holes the freed half left among the kept half
    assert taken >= free_before * 0.9
    assert free_after < 64 * 1024  # what is left is smaller than the smallest chunk asked for, and scattered


class Stubborn(type):
    def __getattribute__(cls, name: str) -> object:
        raise RuntimeError("a metaclass that answers nothing")


class Odd(metaclass=Stubborn):
    pass


def test_every_class_is_looked_at_and_a_metaclass_that_raises_stops_nothing() -> None:
    # `Odd` above is among them: looking anything up through it raises, and the call still goes through all
    assert tag_classes() > 1000

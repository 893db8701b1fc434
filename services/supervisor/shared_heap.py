"""Two writes the services would each make into the pages they share with the launcher, made once before the fork.

A page of the preloaded image stays shared only while nobody writes to it. Besides the reference counts (which
the kernel's page merging takes care of: `page_merging.py`), two kinds of writes land there for no other reason
than that the image was made before:
- the interpreter gives a class its method-cache version tag the first time an attribute is looked up through
  it, writing into the class object;
- the C allocator hands out the free chunks left among the preloaded objects (temporary objects of the imports)
  before it grows the heap, so a new object lands in the middle of shared pages.
Both are done here, in the launcher, before it forks (and again after its late preload). `make bench` measures
about 4 MB less for the station.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc

CHUNK_SIZES = (65536, 16384, 4096, 1024, 512, 256, 128, 64, 32, 16)


def tag_classes() -> int:
    """Look an attribute up through every class the collector knows (not yet frozen); returns how many."""
    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, type):
            with contextlib.suppress(Exception):  # a metaclass of a library's own: no tag, no harm
                getattr(obj, "__init__", None)
            count += 1
    return count


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def take_heap_holes() -> int:
    """Allocate (and keep) the free chunks inside glibc's heap, largest first, until an allocation would come
    from its end; returns the bytes taken (about 1 MB after the preload), 0 without glibc.

    Kept for the life of the process: they were free memory of pages already there."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        return 0
    libc.mallinfo2.restype = _MallInfo2
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.sbrk.restype, libc.sbrk.argtypes = ctypes.c_void_p, [ctypes.c_ssize_t]
    heap_end = libc.sbrk(0)
    if not heap_end:
        return 0
    top = heap_end - libc.mallinfo2().keepcost  # the free chunk at the heap's end, where growth comes from
    taken = 0
    for size in CHUNK_SIZES:
        while True:
            chunk = libc.malloc(size)
            if not chunk or chunk >= top:
                if chunk:
                    libc.free(chunk)
                break
            taken += size
    return taken

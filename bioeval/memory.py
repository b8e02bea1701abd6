"""Keep freed large buffers in the process for reuse (glibc), set once by the command line.

Re-scoring a million predictions makes numpy and Arrow temporaries of tens to hundreds of MB.
By default glibc serves each buffer over 32 MB with a fresh mmap and unmaps it when freed, so
the next one pays the kernel's page faults again (on the VM measured in docs/scoring.md,
Performance, ~0.6 s of 3.75 s for a million NER predictions).  Raising the mmap and trim
thresholds keeps such memory in the heap for the next buffer; the peak memory is about the same.

A process setting, not a library one: the command line sets it before any command runs (its
group callback: `bioeval --help` skips it) and the benches call it; the engine's training
process and library users keep their allocator as it is.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)
KEEP_BYTES = 1 << 30


def reuse_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; False where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:  # musl and others: no mallopt
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * KEEP_BYTES))


def _libc():
    """The C library; glibc's soname first: importing ctypes.util and find_library cost 15 ms of
    every command's start."""
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        from ctypes.util import find_library

        try:
            return ctypes.CDLL(find_library("c"))
        except OSError:
            return None

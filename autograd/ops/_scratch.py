"""Reusable memory for a kernel's large temporaries, the arrays that never leave the call
that made them.

A fresh array of a few megabytes costs more than the arithmetic done in it here: glibc
gives memory freed at the top of its heap back to the system (above a trim threshold of
twice the largest block freed so far), and every page of the next fresh array is then
faulted in again. On this project's machine that was about 10,000 page faults per W6 step
(42 MB), a third of the step. A temporary written into a buffer kept from the last call
touches no new page.

One buffer per (thread, slot), grown to the largest request and never shrunk; a request
gets a view of its first bytes. Two temporaries alive at once must use different slots.

``Memo`` is the same idea for a result one derivative rule makes and its sibling rule (the
same node, the same gradient) reads right after.
"""

from __future__ import annotations

import threading
from math import prod

import numpy as np

_local = threading.local()


def scratch(slot: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype`` in the buffer of ``slot``; its
    contents are the next request's to overwrite."""
    buffers = _local.__dict__.setdefault("buffers", {})
    dtype = np.dtype(dtype)
    nbytes = prod(shape) * dtype.itemsize
    buf = buffers.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = buffers[slot] = np.empty(max(nbytes, 64), np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


class Memo(threading.local):
    """One remembered entry per thread. Per thread, because threads run backward passes
    at once (a shared slot could hand one thread another's result between its check and
    its read); one tuple, replaced whole, so a read never mixes two entries."""

    entry: tuple = ()

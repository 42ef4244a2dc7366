"""Atomic file writes, shared by the pictures, nn checkpoints and the examples.

A reader never sees half a file and a crash leaves the previous file in place: the data
goes to a temporary file in the same folder, is flushed to disk, then renamed over the
target (``os.replace`` is atomic on one filesystem).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | os.PathLike, data: bytes | str | Callable[[BinaryIO], None]
                 ) -> Path:
    """Write ``data`` (bytes, text, or a function that writes to a binary file) to
    ``path`` atomically; parent folders are created. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

"""Writing pictures: atomic file writes and the one-line message when ``dot`` is missing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

INSTALL_HINT = (
    "Graphviz's 'dot' program was not found, so the picture cannot be rendered (its DOT "
    "source is still in .source); install it with `apt install graphviz`, "
    "`brew install graphviz` or `conda install -c conda-forge graphviz`"
)


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's ``dot`` executable, which is not on PATH."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory and
    ``os.replace``, so a reader never sees a half-written picture."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path

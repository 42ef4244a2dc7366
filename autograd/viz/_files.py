"""Writing pictures: the one-line message when ``dot`` is missing (files are written with
``safeio.atomic_write``)."""

from __future__ import annotations

INSTALL_HINT = (
    "Graphviz's 'dot' program was not found, so the picture cannot be rendered (its DOT "
    "source is still in .source); install it with `apt install graphviz`, "
    "`brew install graphviz` or `conda install -c conda-forge graphviz`"
)


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's ``dot`` executable, which is not on PATH."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


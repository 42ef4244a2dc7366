"""Progress bars that suit where the code runs: a text bar on a terminal, a widget bar in
Jupyter (tqdm.auto), nothing in logs and pipes. tqdm is optional (extra ``progress``)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["in_notebook", "progress_bar"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a notebook, or a notebook run by nbclient/nbconvert)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too old or half imported: not a kernel we know
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def progress_bar(iterable: Iterable[Any] | None = None, *, show: bool | None = None,
                 **kwargs: Any) -> Any:
    """A tqdm bar (``kwargs`` go to tqdm), or None when bars are off or tqdm is missing.

    ``show=None`` shows one on a terminal and in a Jupyter notebook, where it is tqdm.auto's
    widget when ipywidgets is installed (the ``notebooks`` extra) and a text bar otherwise
    (tqdm.auto would fall back to text too, with a warning).
    """
    notebook = in_notebook()
    if show is None:
        show = notebook or sys.stderr.isatty()
    if not show:
        return None
    try:
        if notebook and _widgets():
            from tqdm.auto import tqdm
        else:
            from tqdm.std import tqdm
    except ImportError:
        return None
    return tqdm(iterable, **kwargs)

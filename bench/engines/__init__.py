"""One module per engine, each exposing the same two functions.

``version() -> str`` imports the engine's library (raising ImportError when it is not
installed) and returns its version. ``build(case, data) -> Runner`` builds the case's model
from the shared numpy ``data`` (see ``workloads.make_data``), or raises ``NotSupported``.

A ``Runner`` has ``step()``, the timed unit of work, returning an engine-native handle, and
``read(handle) -> (loss, grads)`` converting that handle to a float (None when the engine
does not compute the loss on the way) and numpy arrays; ``read``
runs only during the untimed correctness check, so conversion never costs time.

An engine with a thread pool of its own (not a BLAS or OpenMP library that threadpoolctl
finds) also defines ``set_threads(n: int | None) -> int``: use ``n`` threads, or the
library's default for None, and return the count in effect (see ``worker.Threads``).
Engine modules import their library lazily, so importing this package needs numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

ENGINES = ("numpy", "cygrad", "torch", "mygrad", "hips", "micrograd")


class NotSupported(Exception):
    """The engine cannot express this workload (e.g. no second derivatives)."""


@dataclass
class Runner:
    step: Callable[[], Any]
    read: Callable[[Any], tuple[float | None, list[np.ndarray]]]
    note: str = ""  # shown under the table, e.g. a setting the engine needed to finish


Maker = Callable[[Any, dict], Runner]


def dispatch(engine: str, case: Any, data: dict, makers: dict[str, Maker],
             missing: str | None = None) -> Runner:
    """Every engine's ``build``: the maker for ``case.kind``, or ``NotSupported`` with
    ``missing`` (by default: the engine has no implementation of that kind)."""
    if case.kind not in makers:
        raise NotSupported(missing or f"{engine} has no implementation of workload kind "
                                      f"{case.kind!r}")
    return makers[case.kind](case, data)

"""Save and load a model's state as .npz, atomically and bit-exact.

The file holds one array per state-dict entry plus a format marker. Writing goes to a
temporary file in the same directory, then ``os.replace``: a crash never leaves a
half-written checkpoint under the real name. Loading reads and checks everything before
touching the model, so a truncated or foreign file raises and the model is unchanged.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from autograd.io import atomic_write

__all__ = ["CheckpointError", "load_state", "save_state"]

_MARKER = "__cygrad_nn_state__"
_VERSION = 1


class CheckpointError(ValueError):
    """A state file that cannot be read as a cygrad nn state."""


def save_state(model_or_state: Any, path: str | Path) -> Path:
    """Write ``model.state_dict()`` (or a state dict) to ``path`` (.npz), atomically."""
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") \
        else dict(model_or_state)
    if _MARKER in state:
        raise ValueError(f"save_state: {_MARKER!r} is reserved")
    return atomic_write(path, lambda fh: np.savez(fh, **{_MARKER: np.array(_VERSION)}, **state))


def read_state(path: str | Path) -> dict[str, np.ndarray]:
    """The state dict stored at ``path``, fully read into memory and checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_state: no file at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
            if _MARKER not in keys:
                raise CheckpointError(
                    f"load_state: {path} is an .npz file but not a cygrad nn state (no "
                    f"{_MARKER!r} entry; found keys {keys[:5]}...); save it with nn.save_state")
            version = int(z[_MARKER])
            if version != _VERSION:
                raise CheckpointError(f"load_state: {path} has state format {version}, this "
                                      f"version reads format {_VERSION}")
            return {k: z[k] for k in keys if k != _MARKER}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise CheckpointError(f"load_state: {path} is truncated or not an .npz state file "
                              f"({type(e).__name__}: {e}); the model was not changed") from e


def load_state(model: Any, path: str | Path, strict: bool = True) -> None:
    """Load a state written by ``save_state`` into ``model`` (in place). Errors (bad file,
    missing/unexpected/mis-shaped keys) leave the model untouched."""
    model.load_state_dict(read_state(path), strict=strict)

"""Save and load states (a model's, an optimizer's, a schedule's) as .npz, atomically and
bit-exact.

The file is an uncompressed zip of ``.npy`` entries, one per state-dict entry, plus a
format marker: what ``np.savez`` writes, except that the entries are written one by one
(so no key can collide with a keyword of ``np.savez``, such as ``file``) with a fixed
timestamp (so equal states give equal bytes). Writing goes to a temporary file in the
same directory, then ``os.replace``: a crash never leaves a half-written checkpoint under
the real name.

Reading (``safeio.read_npz``) checks every entry's header against its size and
against the model before any data is read, refuses compressed entries (zip bombs), and
reads each entry to its end so the zip's CRC-32 catches flipped bytes. Only then is the
target changed, all or nothing.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

import autograd as ag
from safeio import NPZ_KINDS, atomic_write, read_npz

__all__ = ["CheckpointError", "load_state", "read_state", "save_state"]

_MARKER = "__cygrad_nn_state__"
_VERSION = 1
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date: reproducible files


class CheckpointError(ValueError):
    """A state file that cannot be read as a cygrad nn state."""


def _arrays(who: str, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k, v in state.items():
        if not isinstance(k, str) or not k or "\x00" in k:
            raise TypeError(f"{who}: state keys must be non-empty strings, got {k!r}")
        if k == _MARKER:
            raise ValueError(f"{who}: the key {_MARKER!r} is reserved for the format marker")
        a = v.data if isinstance(v, ag.Tensor) else np.asarray(v)
        if a.dtype.kind not in NPZ_KINDS or a.dtype.fields is not None or a.dtype.subdtype:
            raise TypeError(f"{who}: entry {k!r} has dtype {a.dtype}; a state holds arrays of "
                            "bools, integers, floats (or text), nothing that needs pickle")
        out[k] = a
    return out


def save_state(model_or_state: Any, path: str | Path) -> Path:
    """Write ``obj.state_dict()`` (a Module, an optimizer, a schedule) or a state dict
    (a mapping name -> array) to ``path`` (.npz), atomically. Returns the path."""
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") \
        else model_or_state
    if not isinstance(state, Mapping):
        raise TypeError(f"save_state: expected a Module, an optimizer, a schedule or a "
                        f"mapping name -> array, got {type(model_or_state).__name__}")
    arrays = _arrays("save_state", state)  # checked before the file is touched

    def write(fh: BinaryIO) -> None:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, a in [(_MARKER, np.array(_VERSION)), *arrays.items()]:
                info = zipfile.ZipInfo(name + ".npy", date_time=_EPOCH)
                with zf.open(info, "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asanyarray(a), allow_pickle=False)

    return atomic_write(path, write)


def read_state(path: str | Path, expect: Mapping[str, tuple[int, ...]] | None = None
               ) -> dict[str, np.ndarray]:
    """The state dict stored at ``path``, fully read into memory and checked
    (``safeio.read_npz``: headers before data, nothing compressed, CRC-32).

    ``expect`` (name -> shape): entries whose header gives another shape are refused
    before any data is read (``load_state(model, path)`` passes the model's shapes).
    """
    arrays = read_npz(path, who="load_state", error=CheckpointError, expect=expect)
    if _MARKER not in arrays:
        raise CheckpointError(
            f"load_state: {path} is an .npz file but not a cygrad nn state (no {_MARKER!r} "
            f"entry; found keys {list(arrays)[:5]}...); save it with nn.save_state")
    marker = arrays.pop(_MARKER)
    if marker.shape != () or marker.dtype.kind not in "iu" or int(marker) != _VERSION:
        raise CheckpointError(f"load_state: {path} has state format {marker!r}, this version "
                              f"reads format {_VERSION}")
    return arrays


def load_state(target: Any, path: str | Path | None = None, strict: bool = True) -> Any:
    """Read a state written by ``save_state``.

    ``load_state(path)`` returns the state dict (like ``torch.load``), to hand to
    ``obj.load_state_dict``. ``load_state(obj, path)`` loads it into ``obj`` (a Module,
    an optimizer, a schedule) in place and returns ``obj``; for a Module the shapes in
    the file are compared with the model's before any data is read, and ``strict=False``
    allows missing and unexpected keys. A bad file or a state that does not fit raises,
    and ``obj`` is unchanged.
    """
    if path is None:
        if not isinstance(target, (str, os.PathLike)):
            raise TypeError(f"load_state: pass a path, or an object and a path; got "
                            f"{type(target).__name__} alone")
        return read_state(target)
    if isinstance(target, (str, os.PathLike)):
        raise TypeError("load_state(obj, path): obj is a path; call load_state(path) to get "
                        "the state dict, or pass the model/optimizer first")
    if not hasattr(target, "load_state_dict"):
        raise TypeError(f"load_state: {type(target).__name__} has no load_state_dict")
    expect = ({k: t.shape for k, t in target._named_tensors().items()}
              if hasattr(target, "_named_tensors") else None)
    state = read_state(path, expect)
    if strict:
        target.load_state_dict(state)
    else:
        target.load_state_dict(state, strict=False)
    return target

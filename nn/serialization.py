"""Save and load states (a model's, an optimizer's, a schedule's) as .npz, atomically and
bit-exact.

The file is an uncompressed zip of ``.npy`` entries, one per state-dict entry, plus a
format marker: what ``np.savez`` writes, except that the entries are written one by one
(so no key can collide with a keyword of ``np.savez``, such as ``file``) with a fixed
timestamp (so equal states give equal bytes). Writing goes to a temporary file in the
same directory, then ``os.replace``: a crash never leaves a half-written checkpoint under
the real name.

Reading never trusts the file: every entry's ``.npy`` header (shape, dtype) is read and
checked first, against the entry's size in the zip and, when loading into a model,
against the model, before any data is read; compressed entries are refused (cygrad
never writes them, and they are how a small file expands into gigabytes), so reading
costs at most the file's own size in memory. Every entry is read to its end, so the
zip's CRC-32 catches flipped bytes. Only then is the target changed, all or nothing.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

import autograd as ag
from autograd.io import atomic_write

__all__ = ["CheckpointError", "load_state", "read_state", "save_state"]

_MARKER = "__cygrad_nn_state__"
_VERSION = 1
_KINDS = "biufU"  # bool, integers, floats and (for a schedule's mode) text
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
        if a.dtype.kind not in _KINDS or a.dtype.fields is not None or a.dtype.subdtype:
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


def _header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f".npy format version {version} (cygrad writes 1.0)")


def _entries(zf: zipfile.ZipFile, size: int, path: Path) -> list[zipfile.ZipInfo]:
    """The zip's entries, refused unless each is a stored ``.npy`` named once."""
    infos = zf.infolist()
    names = [i.filename for i in infos]
    dup = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) < len(names) \
        else []
    if dup:
        raise CheckpointError(f"load_state: {path} names entries {dup[:3]} twice")
    for i in infos:
        if not i.filename.endswith(".npy"):
            raise CheckpointError(f"load_state: {path} holds {i.filename!r}, not an .npy "
                                  "entry; save states with nn.save_state")
        if i.compress_type != zipfile.ZIP_STORED or i.flag_bits & 0x1:
            raise CheckpointError(f"load_state: {path} entry {i.filename!r} is compressed or "
                                  "encrypted; cygrad states are stored uncompressed (save with "
                                  "nn.save_state, not np.savez_compressed)")
    # Stored entries occupy distinct bytes of the file: more declared than the file holds
    # means entries overlap or lie, the trick of zip bombs that need no compression.
    if sum(i.file_size for i in infos) > size:
        raise CheckpointError(f"load_state: {path}'s entries declare more bytes than the "
                              f"file's {size}; the file is corrupt")
    return infos


def read_state(path: str | Path, expect: Mapping[str, tuple[int, ...]] | None = None
               ) -> dict[str, np.ndarray]:
    """The state dict stored at ``path``, fully read into memory and checked.

    ``expect`` (name -> shape): entries whose header gives another shape are refused
    before their data is read (``load_state(model, path)`` passes the model's shapes).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load_state: no file at {path}")
    if not path.is_file():
        raise CheckpointError(f"load_state: {path} is not a regular file")
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(6)
            fh.seek(0)
            if head == b"\x93NUMPY":
                raise CheckpointError(f"load_state: {path} is a single .npy array, not an .npz "
                                      "state; save states with nn.save_state")
            if head[:2] != b"PK":
                raise CheckpointError(f"load_state: {path} is not an .npz state (not a zip "
                                      f"file: it starts with {head!r}); save with "
                                      "nn.save_state")
            with zipfile.ZipFile(fh) as zf:
                return _read(zf, _entries(zf, size, path), path, expect)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            KeyError, NotImplementedError, RuntimeError, UnicodeDecodeError,
            SyntaxError, TypeError, OverflowError, MemoryError) as e:
        if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise CheckpointError(f"load_state: {path} is truncated, corrupt or not an .npz "
                              f"state file ({type(e).__name__}: {e}); nothing was "
                              "changed") from e


def _read(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], path: Path,
          expect: Mapping[str, tuple[int, ...]] | None) -> dict[str, np.ndarray]:
    layout: list[tuple[zipfile.ZipInfo, str, tuple[int, ...], bool, np.dtype, int]] = []
    problems: list[str] = []
    for info in infos:  # pass 1: headers only
        key = info.filename[:-4]
        with zf.open(info) as f:
            shape, fortran, dtype = _header(f)
            offset = f.tell()
        if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype:
            raise CheckpointError(f"load_state: {path} entry {key!r} has dtype {dtype}; "
                                  "states hold bools, integers and floats")
        count = 1
        for n in shape:
            count *= n
        if count * dtype.itemsize != info.file_size - offset:
            raise CheckpointError(
                f"load_state: {path} entry {key!r} claims shape {shape} of {dtype} "
                f"({count * dtype.itemsize} bytes), but holds {info.file_size - offset}; "
                "the file is corrupt")
        if expect is not None and key in expect and tuple(expect[key]) != shape:
            problems.append(f"{key}: model has {tuple(expect[key])}, file has {shape}")
        layout.append((info, key, shape, fortran, dtype, offset))
    if problems:
        raise ValueError(f"load_state: {path} does not fit: " + "; ".join(problems)
                         + "; nothing was read or changed (was it saved from a different "
                         "architecture?)")
    if _MARKER not in {key for _, key, *_ in layout}:
        keys = [key for _, key, *_ in layout]
        raise CheckpointError(
            f"load_state: {path} is an .npz file but not a cygrad nn state (no {_MARKER!r} "
            f"entry; found keys {keys[:5]}...); save it with nn.save_state")
    out: dict[str, np.ndarray] = {}
    for info, key, shape, fortran, dtype, offset in layout:  # pass 2: the data
        nbytes = info.file_size - offset
        buf = bytearray(nbytes)
        with zf.open(info) as f:
            _header(f)  # read again, not skipped, so the CRC-32 covers every byte
            view, got = memoryview(buf), 0
            while got < nbytes:
                n = f.readinto(view[got:])
                if not n:
                    raise EOFError(f"entry {key!r} ends after {got} of {nbytes} bytes")
                got += n
            if f.read(1):  # also reaches the end, where zipfile checks the CRC-32
                raise CheckpointError(f"load_state: {path} entry {key!r} is longer than its "
                                      "header says")
        flat = np.frombuffer(buf, dtype=dtype)
        out[key] = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    marker = out.pop(_MARKER)
    if marker.shape != () or marker.dtype.kind not in "iu" or int(marker) != _VERSION:
        raise CheckpointError(f"load_state: {path} has state format {marker!r}, this version "
                              f"reads format {_VERSION}")
    return out


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

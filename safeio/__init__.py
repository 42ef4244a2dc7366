"""Atomic file writes and a guarded .npz reader, shared by the pictures, nn checkpoints,
datasets and the examples. A package of its own (numpy only), so that autograd and physics
both use it without physics importing autograd.

Writing

A reader never sees half a file and a crash leaves the previous file in place: the data
goes to a temporary file in the same folder, is flushed to disk, then renamed over the
target (``os.replace`` is atomic on one filesystem).

- Modes: the temporary file is created with mode 0o666, which the kernel narrows by the
  user's umask, as ``open(path, "w")`` would; when a file is replaced, its own permission
  bits are kept (a file made private stays private).
- Failures: the temporary file is removed on every error path (including
  KeyboardInterrupt). A process killed with SIGKILL cannot clean up, so each write first
  removes the temporaries of earlier writes to the same target whose process is gone
  (the writer's PID is part of the temporary's name; a live writer's file is kept).
- Only regular files are replaced. A symlink is followed, so the link survives and its
  target is replaced. A device, FIFO, socket or directory at the target is refused:
  replacing ``/dev/full`` or a named pipe with a regular file would silently destroy it,
  and writing through it would not be atomic, so neither is what a checkpoint save means.

Reading (``read_npz``) never trusts the file: each entry's ``.npy`` header (shape, dtype)
is read and checked first, against the entry's size in the zip and against the shapes
the caller expects, before any data is read. Compressed entries are refused (``np.savez``
and cygrad never write them, and they are how a small file expands into gigabytes), as
are entries that overlap, so reading costs at most the file's own size in memory. Every
entry is read to its end, so the zip's CRC-32 catches flipped bytes.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

_LEGACY_AGE = 3600.0  # seconds: temporaries of older versions (no PID) count as stale


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove the temporaries that killed writes to ``target`` left beside it (those
    whose writer's PID no longer runs; older unnamed ones after an hour). Returns them."""
    target = Path(target)
    prefix = f".{target.name}."
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix):-len(".tmp")].split(".")
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if len(middle) == 2 and middle[0].isdigit():
                stale = not _pid_alive(int(middle[0]))
            else:  # mkstemp's names, written before the PID was part of the name
                stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > _LEGACY_AGE
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # raced with another cleaner, or not ours to remove
    return removed


def _resolve_target(path: Path) -> tuple[Path, int | None]:
    """The file to replace (symlinks followed) and its permission bits, if it exists."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target, None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "atomic_write: the target is a directory; "
                                "give a file name inside it", str(path))
    if not stat.S_ISREG(st.st_mode):
        kind = ("character device" if stat.S_ISCHR(st.st_mode) else
                "block device" if stat.S_ISBLK(st.st_mode) else
                "named pipe" if stat.S_ISFIFO(st.st_mode) else
                "socket" if stat.S_ISSOCK(st.st_mode) else "special file")
        raise OSError(errno.EINVAL, f"atomic_write: the target is a {kind}, not a regular "
                      "file; an atomic save replaces a file and would destroy it, so it is "
                      "refused; write to a regular file", str(path))
    return target, stat.S_IMODE(st.st_mode)


def atomic_write(path: str | os.PathLike, data: bytes | str | Callable[[BinaryIO], None]
                 ) -> Path:
    """Write ``data`` (bytes, text, or a function that writes to a binary file) to
    ``path`` atomically; parent folders are created. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    target, mode = _resolve_target(path)
    remove_stale_temporaries(target)
    while True:
        tmp = _temp_name(target)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                         0o666)  # the umask narrows this, as for any new file
            break
        except FileExistsError:
            continue
    try:
        fh = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    try:
        with fh:
            if mode is not None:
                _keep_mode(fh.fileno(), mode)
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)
    return path


def _keep_mode(fd: int, mode: int) -> None:
    try:
        os.fchmod(fd, mode)
    except OSError:  # a filesystem without modes (vfat): the file keeps the umask's
        pass


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


NPZ_KINDS = "biufU"  # bool, integers, floats and text: nothing that needs pickle


def _npy_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f".npy format version {version} (numpy writes 1.0 or 2.0)")


def _npz_entries(zf: zipfile.ZipFile, size: int, where: str,
                 error: type[Exception]) -> list[zipfile.ZipInfo]:
    """The zip's entries, refused unless each is a stored ``.npy`` named once."""
    infos = zf.infolist()
    names = [i.filename for i in infos]
    if len(set(names)) < len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise error(f"{where} names the entries {dup[:3]} twice")
    for i in infos:
        if not i.filename.endswith(".npy"):
            raise error(f"{where} holds {i.filename!r}, not an .npy entry")
        if i.compress_type != zipfile.ZIP_STORED or i.flag_bits & 0x1:
            raise error(f"{where}: entry {i.filename!r} is compressed or encrypted; only "
                        "uncompressed .npz files are read (np.savez, not np.savez_compressed)")
    # Stored entries occupy distinct bytes of the file: more declared than the file holds
    # means entries overlap or lie, the trick of zip bombs that need no compression.
    if sum(i.file_size for i in infos) > size:
        raise error(f"{where}: the entries declare more bytes than the file's {size}; the "
                    "file is corrupt")
    return infos


def read_npz(path: str | os.PathLike, *, who: str = "read_npz",
             error: type[Exception] = ValueError,
             expect: Mapping[str, tuple[int, ...]] | None = None) -> dict[str, np.ndarray]:
    """Every array of the uncompressed .npz file at ``path``, read with the checks above.

    A file that is missing raises FileNotFoundError; one that is not a regular file, not
    an .npz, truncated or corrupt raises ``error`` (naming ``who`` and the file); entries
    whose header shape differs from ``expect[name]`` raise ValueError listing them all,
    before any data is read.
    """
    path = Path(path)
    where = f"{who}: {path}"
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"{who}: no such file", str(path))
    if not path.is_file():
        raise error(f"{where} is not a regular file")
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(6)
            fh.seek(0)
            if head == b"\x93NUMPY":
                raise error(f"{where} is a single .npy array, not an .npz file")
            if head[:2] != b"PK":
                raise error(f"{where} is not an .npz file (not a zip file: it starts with "
                            f"{head!r})")
            with zipfile.ZipFile(fh) as zf:
                return _read_entries(zf, _npz_entries(zf, size, where, error), where, error,
                                     expect)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError,
            NotImplementedError, RuntimeError, UnicodeDecodeError, SyntaxError, TypeError,
            OverflowError, MemoryError, ValueError) as e:
        if isinstance(e, (error, _ShapeMismatch, PermissionError, IsADirectoryError)):
            raise
        raise error(f"{where} is truncated, corrupt or not an .npz file ({type(e).__name__}: "
                    f"{e}); nothing was changed") from e


class _ShapeMismatch(ValueError):
    """Entries that do not fit what the caller expects (raised as it is)."""


def _read_entries(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], where: str,
                  error: type[Exception], expect: Mapping[str, tuple[int, ...]] | None
                  ) -> dict[str, np.ndarray]:
    layout = []
    problems: list[str] = []
    for info in infos:  # pass 1: headers only
        key = info.filename[:-4]
        with zf.open(info) as f:
            shape, fortran, dtype = _npy_header(f)
            nbytes = info.file_size - f.tell()
        if dtype.kind not in NPZ_KINDS or dtype.fields is not None or dtype.subdtype:
            raise error(f"{where}: entry {key!r} has dtype {dtype}; only bools, integers, "
                        "floats and text are read")
        if any(n < 0 for n in shape):
            raise error(f"{where}: entry {key!r} claims the shape {shape}; the file is corrupt")
        count = 1
        for n in shape:
            count *= n
        if count * dtype.itemsize != nbytes:
            raise error(f"{where}: entry {key!r} claims shape {shape} of {dtype} "
                        f"({count * dtype.itemsize} bytes), but holds {nbytes}; the file is "
                        "corrupt")
        if expect is not None and key in expect and tuple(expect[key]) != shape:
            problems.append(f"{key}: expected {tuple(expect[key])}, file has {shape}")
        layout.append((info, key, shape, fortran, dtype, nbytes))
    if problems:
        raise _ShapeMismatch(f"{where} does not fit: " + "; ".join(problems)
                             + "; nothing was read or changed")
    out: dict[str, np.ndarray] = {}
    for info, key, shape, fortran, dtype, nbytes in layout:  # pass 2: the data
        buf = bytearray(nbytes)
        with zf.open(info) as f:
            _npy_header(f)  # read again, not skipped, so the CRC-32 covers every byte
            view, got = memoryview(buf), 0
            while got < nbytes:
                n = f.readinto(view[got:])
                if not n:
                    raise EOFError(f"entry {key!r} ends after {got} of {nbytes} bytes")
                got += n
            if f.read(1):  # also reaches the end, where zipfile checks the CRC-32
                raise error(f"{where}: entry {key!r} is longer than its header says")
        flat = np.frombuffer(buf, dtype=dtype)
        out[key] = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    return out

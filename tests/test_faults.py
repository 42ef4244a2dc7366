"""Fault injection: bad inputs and faults of every kind, each answered by a clear error or
the correct result, and never by a half-changed file or model.

``CASES`` is the table: (category, name, expected outcome, check). A check builds its
fault in ``tmp_path``, asserts the outcome itself (the error's type and words, or the
right value) and that nothing was half-changed (the model's state, the file on disk, no
temporary left behind). Faults that need a process of their own (kill -9 during a save,
a full disk, a file-size limit) and the byte-flip sweep over a checkpoint follow the
table. ``python tests/test_faults.py`` prints the table's counts per category.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
import nn
import physics
from safeio import atomic_write

CASES: list[tuple[str, str, str, Callable[[Path], None]]] = []
ERROR, CORRECT = "clear error", "correct result"


def case(category: str, name: str, outcome: str = ERROR):
    def register(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        CASES.append((category, name, outcome, fn))
        return fn

    return register


def refused(fn: Callable[[], object], exc: type | tuple, words: str) -> str:
    with pytest.raises(exc, match=words) as err:
        fn()
    return str(err.value)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------------ checkpoint files
def small_model(seed: int = 0) -> nn.Module:
    return nn.Sequential(nn.Linear(2, 3, rng=seed), nn.BatchNorm1d(3), nn.Tanh(),
                         nn.Linear(3, 1, rng=seed + 1))


def npz(path: Path, entries: dict[str, bytes | np.ndarray], *, marker: bool = True,
        compress: int = zipfile.ZIP_STORED) -> Path:
    """An .npz written entry by entry, so tests can put anything into it."""
    items = dict(entries)
    if marker:
        items = {"__cygrad_nn_state__": np.array(1), **items}
    with zipfile.ZipFile(path, "w", compress) as zf:
        for name, value in items.items():
            if isinstance(value, np.ndarray):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, value, allow_pickle=True)
                value = buf.getvalue()
            zf.writestr(name + ".npy", value)
    return path


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def load_refused(make: Callable[[Path, dict], Path], exc: type | tuple = ValueError,
                 words: str = "") -> Callable[[Path], None]:
    """Write a bad file from a good state; loading it into a model raises ``exc`` and
    leaves the model exactly as it was."""

    def check(tmp: Path) -> None:
        good = small_model(0).state_dict()
        path = make(tmp / "m.npz", good)
        model = small_model(7)
        before = model.state_dict()
        refused(lambda: nn.load_state(model, path), exc, words)
        after = model.state_dict()
        assert all(before[k].tobytes() == after[k].tobytes() for k in before)

    return check


def _truncated(fraction: float):
    def make(path: Path, state: dict) -> Path:
        nn.save_state(state, path)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
        return path

    return make


for frac in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
    case("checkpoint file", f"truncated to {frac:.0%}")(
        load_refused(_truncated(frac), nn.CheckpointError, "truncated|not an .npz|corrupt"))


def _with(key: str, value: object):
    def make(path: Path, state: dict) -> Path:
        return npz(path, {**state, key: value})

    return make


def _replace(key: str, value: object):
    def make(path: Path, state: dict) -> Path:
        return npz(path, {**{k: v for k, v in state.items() if k != key},
                          **({} if value is None else {key: value})})

    return make


W = "0.weight"  # (3, 2)
BAD_ENTRIES = {
    "complex weight": (_replace(W, np.ones((3, 2)) + 1j), nn.CheckpointError, "complex"),
    "datetime weight": (_replace(W, np.zeros((3, 2), "datetime64[s]")), nn.CheckpointError,
                        "datetime64"),
    "string weight": (_replace(W, np.full((3, 2), "x")), ValueError, "not a real numeric"),
    "object weight (pickle)": (_replace(W, np.array([[1, None]] * 3, dtype=object)),
                               nn.CheckpointError, "dtype object"),
    "structured weight": (_replace(W, np.zeros(3, [("a", "<f8"), ("b", "<f8")])),
                          nn.CheckpointError, "dtype"),
    "weight of wrong shape": (_replace(W, np.zeros((2, 3))), ValueError, r"0.weight: expected"),
    "NaN in a weight": (_replace(W, np.full((3, 2), np.nan)), ValueError, "NaN or inf"),
    "inf in a buffer": (_replace("1.running_var", np.full(3, np.inf)), ValueError, "NaN or inf"),
    "missing entry": (_replace("3.bias", None), ValueError, r"missing keys \['3.bias'\]"),
    "unexpected entry": (_with("extra", np.zeros(1)), ValueError, "unexpected keys"),
    "0-d weight": (_replace(W, np.array(1.0)), ValueError, "expected"),
    "complex bias, all else fine": (_replace("3.bias", np.zeros(1, complex)),
                                    nn.CheckpointError, "complex"),
}
for name, (make, exc, words) in BAD_ENTRIES.items():
    case("checkpoint file", name)(load_refused(make, exc, words))


def _raw_entry(name: str, raw: bytes):
    def make(path: Path, state: dict) -> Path:
        return npz(path, {**{k: v for k, v in state.items() if k != name}, name: raw})

    return make


RAW = {
    "header claims 2**40 elements": (npy_header((2 ** 40,)) + b"\0" * 48, "claims shape"),
    "header claims more than the data": (npy_header((3, 2)) + b"\0" * 40, "claims shape"),
    "header claims less than the data": (npy_header((3, 1)) + b"\0" * 48, "claims shape"),
    "negative shape in header": (npy_header((3, 2)).replace(b"(3, 2)", b"(3,-2)")
                                 + b"\0" * 48, "claims the shape"),
    "header not a dict": (b"\x93NUMPY\x01\x00" + (b"[1, 2]" + b" " * 112 + b"\n")[:118],
                          "truncated, corrupt"),
    "npy version 9": (b"\x93NUMPY\x09\x00" + npy_header((3, 2))[8:] + b"\0" * 48,
                      "truncated, corrupt"),
    "not npy at all": (b"hello world", "truncated, corrupt"),
    "empty entry": (b"", "truncated, corrupt"),
}
for name, (raw, words) in RAW.items():
    case("checkpoint file", name)(load_refused(_raw_entry(W, raw), nn.CheckpointError, words))


def _marker(value: object, keep: bool = True):
    def make(path: Path, state: dict) -> Path:
        extra = {} if value is None else {"__cygrad_nn_state__": value}
        return npz(path, {**state, **extra}, marker=False)

    return make


case("checkpoint file", "no format marker (a foreign .npz)")(
    load_refused(_marker(None), nn.CheckpointError, "not a cygrad nn state"))
case("checkpoint file", "format version 2")(
    load_refused(_marker(np.array(2)), nn.CheckpointError, "format"))
case("checkpoint file", "marker of the wrong type")(
    load_refused(_marker(np.array([1.0, 2.0])), nn.CheckpointError, "format"))
case("checkpoint file", "plain .npy under an .npz name")(load_refused(
    lambda p, s: (np.save(open(p, "wb"), np.zeros(3)), p)[1], nn.CheckpointError,
    "single .npy array"))
case("checkpoint file", "text file")(load_refused(
    lambda p, s: (p.write_text("weights = 1"), p)[1], nn.CheckpointError, "not an .npz"))
case("checkpoint file", "empty file")(load_refused(
    lambda p, s: (p.write_bytes(b""), p)[1], nn.CheckpointError, "not an .npz"))
case("checkpoint file", "np.savez_compressed")(load_refused(
    lambda p, s: npz(p, s, compress=zipfile.ZIP_DEFLATED), nn.CheckpointError, "compressed"))
case("checkpoint file", "an entry named twice")(load_refused(
    lambda p, s: _dup(p, s), nn.CheckpointError, "twice"))
case("checkpoint file", "a zip entry that is not .npy")(load_refused(
    lambda p, s: _extra_member(p, s), nn.CheckpointError, "not an .npy entry"))
case("checkpoint file", "a directory")(load_refused(
    lambda p, s: (p.mkdir(), p)[1], nn.CheckpointError, "not a regular file"))
case("checkpoint file", "no such file")(load_refused(
    lambda p, s: p.with_name("absent.npz"), FileNotFoundError, "no such file"))
case("checkpoint file", "a device (/dev/null)")(load_refused(
    lambda p, s: Path("/dev/null"), nn.CheckpointError, "not a regular file"))


def _dup(path: Path, state: dict) -> Path:
    npz(path, state)
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "a") as zf:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.zeros((3, 2)))
        zf.writestr(W + ".npy", buf.getvalue())
    return path


def _extra_member(path: Path, state: dict) -> Path:
    npz(path, state)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("README.txt", "hello")
    return path


@case("checkpoint file", "zip bomb: 64 MiB of zeros deflated to ~64 KiB")
def _zip_bomb(tmp: Path) -> None:
    path = tmp / "bomb.npz"
    n = 8 * 2 ** 20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__cygrad_nn_state__.npy", npy_header(()) + np.array(1.0).tobytes())
        with zf.open(W + ".npy", "w", force_zip64=True) as f:
            f.write(npy_header((n,)))
            zero = bytes(2 ** 20)
            for _ in range(8 * n // len(zero)):
                f.write(zero)
    assert path.stat().st_size < 2 ** 20
    model = small_model(7)
    tracemalloc.start()
    refused(lambda: nn.load_state(model, path), nn.CheckpointError, "compressed")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 2 ** 20, f"refusing the bomb took {peak} bytes"


@case("checkpoint file", "header of 2**40 elements, no big allocation")
def _huge_header(tmp: Path) -> None:
    path = npz(tmp / "h.npz", {W: npy_header((2 ** 40,)) + b"\0" * 48})
    tracemalloc.start()
    refused(lambda: nn.read_state(path), nn.CheckpointError, "claims shape")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 ** 20


@case("checkpoint file", "shapes refused from headers before any data is read")
def _shape_first(tmp: Path) -> None:
    path = npz(tmp / "big.npz", {**small_model().state_dict(), W: np.zeros((1000, 1000))})
    model = small_model()
    tracemalloc.start()
    refused(lambda: nn.load_state(model, path), ValueError, r"0.weight: expected \(3, 2\)")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 ** 20  # the 8 MB entry was never read


class Keywords(nn.Module):
    """Parameters named like np.savez's own arguments."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.file = nn.Parameter(rng.normal(size=2))
        self.allow_pickle = nn.Parameter(rng.normal(size=3))
        self.args = nn.Parameter(rng.normal(size=1))


@case("checkpoint file", "parameters named file, allow_pickle, args", CORRECT)
def _keywords(tmp: Path) -> None:
    a, b = Keywords(0), Keywords(1)
    nn.save_state(a, tmp / "k.npz")
    nn.load_state(b, tmp / "k.npz")
    assert set(nn.load_state(tmp / "k.npz")) == {"file", "allow_pickle", "args"}
    for k, v in a.state_dict().items():
        assert v.tobytes() == b.state_dict()[k].tobytes()


@case("checkpoint file", "Fortran-ordered and big-endian entries", CORRECT)
def _layouts(tmp: Path) -> None:
    state = small_model(0).state_dict()
    odd = {k: (np.asfortranarray(v) if v.ndim == 2 else v.astype(">f8")) for k, v in
           state.items()}
    path = npz(tmp / "f.npz", odd)
    model = nn.load_state(small_model(5), path)
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in state.items())


@case("checkpoint file", "float32 file into a float64 model (cast as PyTorch does)", CORRECT)
def _float32(tmp: Path) -> None:
    state = {k: v.astype(np.float32) for k, v in small_model(0).state_dict().items()}
    model = nn.load_state(small_model(5), npz(tmp / "f.npz", state))
    assert all(model.state_dict()[k].dtype == np.float64 for k in state)
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in state.items())


@case("checkpoint file", "equal states give equal bytes", CORRECT)
def _reproducible(tmp: Path) -> None:
    nn.save_state(small_model(0), tmp / "a.npz")
    time.sleep(0.01)
    nn.save_state(small_model(0), tmp / "b.npz")
    assert (tmp / "a.npz").read_bytes() == (tmp / "b.npz").read_bytes()


# ------------------------------------------------------------------ saving
SAVE_REFUSED = {
    "object array": ({"w": np.array([None])}, TypeError, "pickle"),
    "complex array": ({"w": np.zeros(2, complex)}, TypeError, "complex"),
    "a non-string key": ({1: np.zeros(2)}, TypeError, "strings"),
    "an empty key": ({"": np.zeros(2)}, TypeError, "strings"),
    "the marker as a key": ({"__cygrad_nn_state__": np.zeros(2)}, ValueError, "reserved"),
    "not a mapping": ([np.zeros(2)], TypeError, "mapping"),
}
for name, (state, exc, words) in SAVE_REFUSED.items():
    @case("saving", name)
    def _save_refused(tmp: Path, state=state, exc=exc, words=words) -> None:
        path = tmp / "s.npz"
        nn.save_state({"a": np.ones(1)}, path)
        before = path.read_bytes()
        refused(lambda: nn.save_state(state, path), exc, words)
        assert path.read_bytes() == before and not leftovers(tmp)


def _writer_fault(raise_: BaseException):
    def check(tmp: Path) -> None:
        path = tmp / "m.npz"
        small_model(0).save(path)
        before = path.read_bytes()

        def broken(fh):
            fh.write(b"half a file")
            raise raise_

        with pytest.raises(type(raise_)):
            atomic_write(path, broken)
        assert path.read_bytes() == before and not leftovers(tmp)

    return check


case("atomic writes", "writer raises OSError midway")(_writer_fault(OSError("disk")))
case("atomic writes", "Ctrl-C midway")(_writer_fault(KeyboardInterrupt()))
case("atomic writes", "writer raises MemoryError")(_writer_fault(MemoryError()))


def device(tmp: Path, name: str = "full") -> Path:
    """A character device like /dev/full (1, 7) in tmp: were the refusal ever to break, a
    test would replace this node, never the system's /dev/full."""
    node = tmp / name
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except (PermissionError, OSError) as e:
        pytest.skip(f"cannot make a device node here: {e}")
    return node


@case("atomic writes", "saving onto a device (like /dev/full) is refused, the device kept")
def _dev_full(tmp: Path) -> None:
    node = device(tmp)
    refused(lambda: nn.save_state(small_model(), node), OSError, "character device")
    assert stat.S_ISCHR(os.stat(node).st_mode) and not leftovers(tmp)


@case("atomic writes", "a symlink to a device is refused")
def _link_to_device(tmp: Path) -> None:
    node = device(tmp)
    (tmp / "link.npz").symlink_to(node)
    refused(lambda: nn.save_state(small_model(), tmp / "link.npz"), OSError, "device")
    assert (tmp / "link.npz").is_symlink() and stat.S_ISCHR(os.stat(node).st_mode)


@case("atomic writes", "a FIFO is refused, not replaced")
def _fifo(tmp: Path) -> None:
    os.mkfifo(tmp / "pipe.npz")
    refused(lambda: nn.save_state(small_model(), tmp / "pipe.npz"), OSError, "named pipe")
    assert stat.S_ISFIFO(os.stat(tmp / "pipe.npz").st_mode) and not leftovers(tmp)


@case("atomic writes", "a directory is refused")
def _directory(tmp: Path) -> None:
    (tmp / "d.npz").mkdir()
    refused(lambda: nn.save_state(small_model(), tmp / "d.npz"), IsADirectoryError, "directory")


@case("atomic writes", "a symlink to a file: the link stays, its target is replaced", CORRECT)
def _symlink(tmp: Path) -> None:
    small_model(0).save(tmp / "real.npz")
    (tmp / "link.npz").symlink_to("real.npz")
    small_model(1).save(tmp / "link.npz")
    assert (tmp / "link.npz").is_symlink()
    got = nn.load_state(tmp / "real.npz")
    assert all(np.array_equal(v, got[k]) for k, v in small_model(1).state_dict().items())


def _umask(mask: int, want: int):
    def check(tmp: Path) -> None:
        old = os.umask(mask)
        try:
            small_model().save(tmp / "m.npz")
            atomic_write(tmp / "p.svg", "<svg/>")
        finally:
            os.umask(old)
        assert stat.S_IMODE(os.stat(tmp / "m.npz").st_mode) == want
        assert stat.S_IMODE(os.stat(tmp / "p.svg").st_mode) == want

    return check


case("atomic writes", "umask 022 gives 0644", CORRECT)(_umask(0o022, 0o644))
case("atomic writes", "umask 002 gives 0664", CORRECT)(_umask(0o002, 0o664))
case("atomic writes", "umask 077 gives 0600", CORRECT)(_umask(0o077, 0o600))


@case("atomic writes", "a replaced file keeps its own mode", CORRECT)
def _keep_mode(tmp: Path) -> None:
    small_model().save(tmp / "m.npz")
    os.chmod(tmp / "m.npz", 0o640)
    small_model(1).save(tmp / "m.npz")
    assert stat.S_IMODE(os.stat(tmp / "m.npz").st_mode) == 0o640


@case("atomic writes", "stale temporaries of dead writers are removed, live ones kept", CORRECT)
def _stale(tmp: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp / f".m.npz.{dead.pid}.0badcafe.tmp").write_bytes(b"half")
    (tmp / f".m.npz.{os.getpid()}.0badcafe.tmp").write_bytes(b"live")
    old = tmp / ".m.npz.abc123.tmp"  # mkstemp's name, from before PIDs were in names
    old.write_bytes(b"old")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    (tmp / ".other.npz.1.deadbeef.tmp").write_bytes(b"not ours")
    small_model().save(tmp / "m.npz")
    assert leftovers(tmp) == sorted([f".m.npz.{os.getpid()}.0badcafe.tmp",
                                     ".other.npz.1.deadbeef.tmp"])


# ------------------------------------------------------------------ optimizer states
def trained(opt_name: str = "adam"):
    model = small_model(0)
    make = {"adam": lambda ps: nn.optim.Adam(ps, lr=1e-2),
            "sgd": lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
            "rmsprop": lambda ps: nn.optim.RMSprop(ps, lr=1e-2)}[opt_name]
    opt = make(model.parameters())
    x = np.random.default_rng(0).normal(size=(8, 2))
    y = np.random.default_rng(1).normal(size=(8, 1))
    for _ in range(3):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
    return model, opt


def opt_file_refused(edit: Callable[[dict], None], words: str, target: str = "adam"):
    def check(tmp: Path) -> None:
        _, source = trained("adam")
        state = source.state_dict()
        edit(state)
        path = npz(tmp / "o.npz", state)
        _, opt = trained(target)
        before = opt.state_dict()
        groups = [dict(g) for g in opt.param_groups]
        refused(lambda: nn.load_state(opt, path), ValueError, words)
        after = opt.state_dict()
        assert before.keys() == after.keys()
        assert all(before[k].tobytes() == after[k].tobytes() for k in before)
        assert [dict(g) for g in opt.param_groups] == groups

    return check


OPT_FAULTS = {
    "lr NaN": (lambda s: s.update({"param_groups.0.lr": np.array(np.nan)}), "lr"),
    "lr negative": (lambda s: s.update({"param_groups.0.lr": np.array(-1.0)}), "lr"),
    "eps inf": (lambda s: s.update({"param_groups.0.eps": np.array(np.inf)}), "eps"),
    "betas of one": (lambda s: s.update({"param_groups.0.betas": np.array([0.9, 1.0])}),
                     "betas"),
    "betas of three": (lambda s: s.update({"param_groups.0.betas": np.ones(3) / 2}),
                       "betas"),
    "lr as a bool": (lambda s: s.update({"param_groups.0.lr": np.array(True)}), "lr"),
    "moment with NaN": (lambda s: s["state.0.0.m"].__setitem__((0, 0), np.nan), "NaN"),
    "negative second moment": (lambda s: s.update({"state.0.0.v": -1 - s["state.0.0.v"]}),
                               "negative"),
    "moment of wrong shape": (lambda s: s.update({"state.0.0.m": np.zeros(6)}), "has"),
    "moment in float32": (lambda s: s.update({"state.0.0.m": s["state.0.0.m"].astype(
        np.float32)}), "dtype"),
    "step t = 0": (lambda s: s.update({"state.0.0.t": np.array(0)}), "state.0.0.t"),
    "step t as a float": (lambda s: s.update({"state.0.0.t": np.array(3.0)}), "integer"),
    "state of a missing parameter": (lambda s: s.update({"state.0.99.m": np.zeros(1)}),
                                     "no parameter"),
    "state key 01 for 1": (lambda s: s.update({"state.0.01.m": s["state.0.1.m"]}),
                           "unexpected key"),
    "lacks v": (lambda s: s.pop("state.0.0.v"), "lacks"),
    "step_count missing": (lambda s: s.pop("step_count"), "missing keys"),
    "step_count negative": (lambda s: s.update({"step_count": np.array(-3)}), "step_count"),
    "group of another size": (lambda s: s.update({"param_groups.0.num_params": np.array(9)}),
                              "parameters"),
}
for name, (edit, words) in OPT_FAULTS.items():
    case("optimizer state", name)(opt_file_refused(edit, words))
case("optimizer state", "an Adam state into SGD")(
    opt_file_refused(lambda s: None, "another optimizer class", target="sgd"))
case("optimizer state", "an Adam state into RMSprop")(
    opt_file_refused(lambda s: None, "unexpected key", target="rmsprop"))


@case("optimizer state", "a truncated optimizer file")
def _opt_truncated(tmp: Path) -> None:
    _, opt = trained()
    nn.save_state(opt, tmp / "o.npz")
    data = (tmp / "o.npz").read_bytes()
    (tmp / "o.npz").write_bytes(data[: len(data) * 2 // 3])
    before = opt.state_dict()
    refused(lambda: nn.load_state(opt, tmp / "o.npz"), nn.CheckpointError, "truncated")
    assert all(before[k].tobytes() == v.tobytes() for k, v in opt.state_dict().items())


@case("optimizer state", "a model file into an optimizer")
def _model_into_opt(tmp: Path) -> None:
    model, opt = trained()
    model.save(tmp / "m.npz")
    refused(lambda: nn.load_state(opt, tmp / "m.npz"), ValueError, "missing keys")


@case("optimizer state", "an optimizer file into a model")
def _opt_into_model(tmp: Path) -> None:
    model, opt = trained()
    nn.save_state(opt, tmp / "o.npz")
    refused(lambda: nn.load_state(model, tmp / "o.npz"), ValueError, "unexpected keys")


@case("optimizer state", "a schedule state with factor 2", ERROR)
def _plateau(tmp: Path) -> None:
    _, opt = trained()
    sched = nn.optim.ReduceLROnPlateau(opt)
    nn.save_state({**sched.state_dict(), "factor": np.array(2.0)}, tmp / "s.npz")
    refused(lambda: nn.load_state(sched, tmp / "s.npz"), ValueError, "factor")
    assert sched.factor == 0.1


@case("optimizer state", "a schedule state with mode 'sideways'", ERROR)
def _plateau_mode(tmp: Path) -> None:
    _, opt = trained()
    sched = nn.optim.ReduceLROnPlateau(opt)
    nn.save_state({**sched.state_dict(), "mode": np.array("sideways")}, tmp / "s.npz")
    refused(lambda: nn.load_state(sched, tmp / "s.npz"), ValueError, "mode")
    assert sched.mode == "min"


@case("optimizer state", "save, load, continue: bit-exact", CORRECT)
def _resume(tmp: Path) -> None:
    model, opt = trained("sgd")
    nn.save_state(opt, tmp / "o.npz")
    _, opt2 = trained("sgd")
    opt2.load_state_dict(nn.load_state(tmp / "o.npz"))
    a, b = opt.state_dict(), opt2.state_dict()
    assert a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a)


# ------------------------------------------------------------------ optimizer arguments
def _p():
    return nn.Parameter([1.0, 2.0])


OPT_ARGS = {
    "Adam lr=nan": (lambda: nn.optim.Adam([_p()], lr=float("nan")), ValueError),
    "Adam eps=nan": (lambda: nn.optim.Adam([_p()], eps=float("nan")), ValueError),
    "Adam eps<0": (lambda: nn.optim.Adam([_p()], eps=-1.0), ValueError),
    "AdamW weight_decay=nan": (lambda: nn.optim.AdamW([_p()], weight_decay=float("nan")),
                               ValueError),
    "Adam weight_decay<0": (lambda: nn.optim.Adam([_p()], weight_decay=-0.1), ValueError),
    "Adam betas (1, 0.9)": (lambda: nn.optim.Adam([_p()], betas=(1.0, 0.9)), ValueError),
    "SGD momentum<0": (lambda: nn.optim.SGD([_p()], momentum=-0.1), ValueError),
    "SGD momentum nan": (lambda: nn.optim.SGD([_p()], momentum=float("nan")), ValueError),
    "SGD lr='0.1'": (lambda: nn.optim.SGD([_p()], lr="0.1"), TypeError),
    "SGD lr=None": (lambda: nn.optim.SGD([_p()], lr=None), TypeError),
    "SGD lr=inf": (lambda: nn.optim.SGD([_p()], lr=float("inf")), ValueError),
    "SGD lr=10**400": (lambda: nn.optim.SGD([_p()], lr=10 ** 400), ValueError),
    "SGD(model.parameters)": (lambda: nn.optim.SGD(small_model().parameters, lr=0.1),
                              TypeError),
    "SGD(model)": (lambda: nn.optim.SGD(small_model(), lr=0.1), TypeError),
    "SGD(tensor)": (lambda: nn.optim.SGD(_p(), lr=0.1), TypeError),
    "SGD([])": (lambda: nn.optim.SGD([], lr=0.1), ValueError),
    "the same parameter twice": (lambda: nn.optim.SGD([p := _p(), p], lr=0.1), ValueError),
    "one parameter in two groups": (lambda: nn.optim.SGD(
        [{"params": [p := _p()]}, {"params": [p]}], lr=0.1), ValueError),
    "an integer tensor": (lambda: nn.optim.SGD([ag.tensor([1, 2], requires_grad=False)]),
                          TypeError),
    "RMSprop alpha=1": (lambda: nn.optim.RMSprop([_p()], alpha=1.0), ValueError),
    "StepLR step_size=1.5": (lambda: nn.optim.StepLR(nn.optim.SGD([_p()]), 1.5), TypeError),
    "ReduceLROnPlateau(model)": (lambda: nn.optim.ReduceLROnPlateau(small_model()),
                                 TypeError),
}
for name, (make, exc) in OPT_ARGS.items():
    case("optimizer arguments", name)(
        lambda tmp, make=make, exc=exc: refused(make, exc, r"SGD|Adam|RMSprop|StepLR|ReduceLR"))


# ------------------------------------------------------------------ fit
def _fit(**kw):
    model = small_model()
    x, y = np.random.default_rng(0).normal(size=(16, 2)), np.zeros((16, 1))
    return nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.01), (x, y),
                  progress=False, **kw)


for name, kw, exc in [("epochs=2.5", {"epochs": 2.5}, TypeError),
                      ("epochs='3'", {"epochs": "3"}, TypeError),
                      ("epochs=True", {"epochs": True}, TypeError),
                      ("epochs=-1", {"epochs": -1}, ValueError),
                      ("batch_size=2.5", {"batch_size": 2.5}, TypeError),
                      ("batch_size=0", {"batch_size": 0}, ValueError)]:
    case("fit", name)(lambda tmp, kw=kw, exc=exc: refused(lambda: _fit(**kw), exc,
                                                          r"fit|DataLoader"))


@case("fit", "a callback failing in epoch 3 keeps the History on the error")
def _fit_history(tmp: Path) -> None:
    def cb(epoch, history):
        if epoch == 2:
            raise RuntimeError("pruned")

    with pytest.raises(RuntimeError, match="pruned") as err:
        _fit(epochs=5, callbacks=[cb])
    assert err.value.history.epochs == 3 and len(err.value.history["loss"]) == 3


# ------------------------------------------------------------------ datasets (physics)
BICUBIC = physics.CICY([[2, 3], [2, 3]])


def dataset_refused(make: Callable[[Path], Path], words: str):
    def check(tmp: Path) -> None:
        refused(lambda: physics.load_dataset(make(tmp)), ValueError, words)

    return check


def _good_dataset(tmp: Path) -> Path:
    return physics.make_stability_dataset(BICUBIC, box=(-2, 2)).save(tmp / "d.npz")


def _ds_truncate(tmp: Path) -> Path:
    p = _good_dataset(tmp)
    p.write_bytes(p.read_bytes()[:300])
    return p


case("dataset file", "truncated")(dataset_refused(_ds_truncate, "truncated"))
case("dataset file", "header of 2**40 elements")(dataset_refused(
    lambda t: npz(t / "d.npz", {"X": npy_header((2 ** 40,), "<i8") + b"\0" * 8},
                  marker=False), "claims shape"))
case("dataset file", "compressed")(dataset_refused(
    lambda t: (np.savez_compressed(t / "d.npz", X=np.zeros((2, 2), int)), t / "d.npz")[1],
    "compressed"))
case("dataset file", "missing arrays")(dataset_refused(
    lambda t: (np.savez(t / "d.npz", X=np.zeros((2, 2), int)), t / "d.npz")[1], "missing"))
case("dataset file", "meta not JSON")(dataset_refused(
    lambda t: (np.savez(t / "d.npz", X=np.zeros((1, 2), int), y=np.zeros(1, int),
                        config=np.array([[2, 3], [2, 3]]), meta=np.array("{no")),
               t / "d.npz")[1], "not JSON"))


@case("dataset file", "save and load round trip, umask modes", CORRECT)
def _ds_round_trip(tmp: Path) -> None:
    ds = physics.make_stability_dataset(BICUBIC, box=(-2, 2))
    old = os.umask(0o022)
    try:
        ds.save(tmp / "d.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp / "d.npz").st_mode) == 0o644
    back = physics.load_dataset(tmp / "d.npz")
    assert np.array_equal(back.X, ds.X) and np.array_equal(back.y, ds.y)


# ------------------------------------------------------------------ loaders
TABLE = " m0 m1 h0 h1 h2 h3\n0 -1.0 2.0 0.0 3 0.0 0\n1 0 0 1.0 0 0 1\n2 1 1 3 0 0 0\n"


def table_case(text: str, words: str, *, gz: bool = False):
    def check(tmp: Path) -> None:
        path = tmp / ("t.csv.gz" if gz else "t.csv")
        path.write_bytes(gzip.compress(text.encode())[:-8] if gz else text.encode())
        refused(lambda: physics.load_line_bundle_cohomology(path), ValueError, words)

    return check


TABLE_FAULTS = {
    "last row lacks a value": (TABLE.rstrip("\n")[:-2] + "\n", "line 4: expected 7 values"),
    "middle row lacks a value": (TABLE.replace("1 0 0 1.0 0 0 1", "1 0 0 1.0 0 1"),
                                 "line 3: expected 7"),
    "a row with one value more": (TABLE.replace("2 1 1 3 0 0 0", "2 1 1 3 0 0 0 5"),
                                  "line 4: expected 7"),
    "first row without index, later with": (" m0 m1 h0 h1 h2 h3\n-1 2 0 3 0 0\n"
                                             "1 0 0 1 0 0 1\n", "line 3: expected 6"),
    "a fraction": (TABLE.replace("-1.0", "-1.5"), "'-1.5' is not an integer"),
    "scientific notation": (TABLE.replace("-1.0", "-1e0"), "not an integer"),
    "nan": (TABLE.replace("-1.0", "nan"), "not an integer"),
    "a word": (TABLE.replace("-1.0", "minus"), "not an integer"),
    "beyond int64": (TABLE.replace("-1.0", str(2 ** 63)), "int64"),
    "negative dimension": (TABLE.replace("0 0 1.0 0 0 1", "0 0 1.0 0 0 -1"), ">= 0"),
    "empty file": ("", "empty file"),
    "header only": (" m0 m1 h0 h1 h2 h3\n", "no data rows"),
    "wrong header": (" m0 m1 h0 h1 h2\n0 1 2 3 4 5\n", "line 1: header"),
}
for name, (text, words) in TABLE_FAULTS.items():
    case("line-bundle table", name)(table_case(text, words))
case("line-bundle table", "truncated gzip")(table_case(TABLE, "truncated", gz=True))


@case("line-bundle table", "2**53 + 1 read exactly", CORRECT)
def _exact(tmp: Path) -> None:
    (tmp / "t.csv").write_text(f" m0 h0 h1 h2 h3\n{2 ** 53 + 1}.0 0 0 0 0\n-7 1 0 0 0\n")
    table = physics.load_line_bundle_cohomology(tmp / "t.csv")
    assert table.charges[:, 0].tolist() == [2 ** 53 + 1, -7]


CICY_TEXT = """Num : 7806
NumPs : 2
NumPol : 2
Eta : -108
H11 : 2
H21 : 56
C2 : {24,48}
Redun : {}
 1  0  2
 4  3  2
"""


def text_case(text: str, words: str):
    return lambda tmp: refused(lambda: physics.parse_cicy_text(text, "list.txt"), ValueError,
                               words)


TEXT_FAULTS = {
    "last row truncated": (CICY_TEXT.replace(" 4  3  2", " 4  3"), "line 10: expected 3"),
    "last row cut to the degree count": (CICY_TEXT.replace(" 1  0  2\n 4  3  2",
                                                           " 1  0  2\n 4  3"), "line 10"),
    "a one-row configuration cut short": ("Num : 1\nNumPs : 1\nNumPol : 1\nEta : -200\n"
                                          "H11 : 1\nH21 : 101\nC2 : {50}\nRedun : {}\n{4}\n",
                                          "not a threefold"),
    "empty input": ("", "no configuration"),
    "comments only": ("# nothing\n\n", "no configuration"),
    "header cut off": ("\n".join(CICY_TEXT.splitlines()[:5]), "unexpected end"),
    "rows missing": ("\n".join(CICY_TEXT.splitlines()[:9]), "ends after 1 of 2"),
    "Unicode digits": (CICY_TEXT.replace("Num : 7806", "Num : ٧٨٠٦"), "Num must be an int"),
    "underscore in a number": (CICY_TEXT.replace("H21 : 56", "H21 : 5_6"), "H21"),
    "'1-2' in a row": (CICY_TEXT.replace(" 4  3  2", " 4  3-2"), "must be integers"),
    "unbalanced braces": (CICY_TEXT.replace(" 4  3  2", "{4  3  2"), "unbalanced"),
    "a configuration twice": (CICY_TEXT + "\n" + CICY_TEXT, "appear twice"),
    "not Calabi-Yau": (CICY_TEXT.replace(" 4  3  2", " 4  3  1"), "line 10: dimension"),
}
for name, (text, words) in TEXT_FAULTS.items():
    case("CICY text list", name)(text_case(text, words))

RECORD = {"matrix": [[3], [3]], "h11": 2, "h21": 83, "c2": [36, 36], "euler": -162,
          "redun": []}


def json_case(text: str, words: str):
    def check(tmp: Path) -> None:
        (tmp / "l.json").write_text(text)
        refused(lambda: physics.load_cicy_json(tmp / "l.json"), ValueError, words)

    return check


def with_field(**kw):
    return json.dumps({"1": {**RECORD, **kw}})


JSON_FAULTS = {
    "h11 = 1.7": (with_field(h11=1.7), "h11 must be an integer, got float"),
    "h11 = 2.0": (with_field(h11=2.0), "h11 must be an integer, got float"),
    "h11 = true": (with_field(h11=True), "h11 must be an integer, got bool"),
    "h21 = '83'": (with_field(h21="83"), "h21 must be an integer, got str"),
    "euler = '-162'": (with_field(euler="-162"), "euler"),
    "c2 with a float": (with_field(c2=[36, 36.5]), r"c2\[1\]"),
    "matrix with a bool": (with_field(matrix=[[True], [3]]), "matrix row 0"),
    "ragged matrix": (with_field(matrix=[[3, 0], [3]]), "rectangular"),
    "empty matrix": (with_field(matrix=[]), "non-empty"),
    "matrix entry 10**30": (with_field(matrix=[[10 ** 30], [3]]), "out of range"),
    "not Calabi-Yau": (with_field(matrix=[[2], [3]]), "not a threefold|Calabi-Yau"),
    "redun of strings": (with_field(redun=["1"]), "redun"),
    "one id twice": ('{"1": ' + json.dumps(RECORD) + ', "1": ' + json.dumps(RECORD) + "}",
                     "twice"),
    "one field twice": ('{"1": {"h11": 2, ' + json.dumps(RECORD)[1:] + "}", "twice"),
    "id 01": (json.dumps({"01": RECORD}), "decimal integer"),
    "id -1": (json.dumps({"-1": RECORD}), "decimal integer"),
    "empty object": ("{}", "no records"),
    "truncated": (with_field()[:-5], "not valid JSON"),
}
for name, (text, words) in JSON_FAULTS.items():
    case("CICY JSON list", name)(json_case(text, words))


# ------------------------------------------------------------------ CICY and stability
CONFIGS = {
    "a row summing to 2**64 + 3": ([[2, 2 ** 63, 2 ** 63, 3]], "not Calabi-Yau"),
    "a dimension of 10**30": ([[10 ** 30, 3]], "not Calabi-Yau"),
    "a degree of -2**64": ([[2, 2 ** 64 + 3, -2 ** 64]], "negative degree"),
    "int64 wrap: dims 2**63 - 1": ([[2 ** 63 - 1, 2 ** 63]], "not a threefold"),
    "a fraction": ([[2, 1.5, 1.5], [2, 3, 0]], "integers"),
    "a bool": ([[True, 2], [2, 3]], "bool"),
    "a string": ([["2", 3], [2, 3]], "str"),
    "ragged": ([[2, 3], [2]], "ragged"),
}
for name, (config, words) in CONFIGS.items():
    case("CICY configuration", name)(
        lambda tmp, c=config, w=words: refused(lambda: physics.CICY(c), (ValueError, TypeError),
                                               w))
case("CICY configuration", "from_degrees with a row summing to 2**64 + 4")(
    lambda tmp: refused(lambda: physics.CICY.from_degrees([[2 ** 63, 2 ** 63 + 4]]),
                        ValueError, "not a threefold"))


@case("CICY configuration", "charges beyond int64 keep exact slopes and labels", CORRECT)
def _big_charges(tmp: Path) -> None:
    q = np.array([[2 ** 63, -(2 ** 63) - 5], [3, -1]], dtype=object)
    labels = BICUBIC.is_stable(q)
    assert labels.tolist() == BICUBIC.is_stable([[1, -1], [3, -1]]).tolist()
    mu = BICUBIC.slope([2 ** 63, 0], [1, 1])
    assert int(mu) == 9 * 2 ** 63


@case("CICY configuration", "numeric poly-stability unchanged by charges * 10**155", CORRECT)
def _scaled(tmp: Path) -> None:
    four = physics.CICY([[1, 2], [1, 2], [1, 2], [1, 2]])
    rng = np.random.default_rng(0)
    X = rng.integers(-3, 4, size=(40, 2, 4))
    X = np.concatenate([X, -X.sum(axis=1, keepdims=True)], axis=1)
    small = four.is_polystable_sum(X, method="numeric")
    big = four.is_polystable_sum(X.astype(object) * 10 ** 155, method="numeric")
    assert 0 < small.sum() < len(X) and np.array_equal(small, big)


# ------------------------------------------------------------------ ops
OPS = {
    "logsumexp over an empty axis": (lambda: ag.logsumexp(ag.tensor(np.zeros((2, 0))), 1),
                                     "logsumexp"),
    "softmax over an empty axis": (lambda: ag.softmax(ag.tensor(np.zeros((2, 0))), 1),
                                   "softmax"),
    "sum(axis=1.0)": (lambda: ag.tensor(np.zeros((2, 2))).sum(axis=1.0), "sum: axis"),
    "mean(axis='0')": (lambda: ag.tensor(np.zeros((2, 2))).mean(axis="0"), "mean: axis"),
    "cross_entropy with float labels": (lambda: ag.cross_entropy(
        ag.tensor(np.zeros((2, 3))), np.array([1.0, 2.0])), "cross_entropy"),
    "cross_entropy with no classes": (lambda: ag.cross_entropy(
        ag.tensor(np.zeros((2, 0))), np.array([0, 0])), "cross_entropy"),
    "stack(axis=0.5)": (lambda: ag.stack([ag.tensor([1.0])], axis=0.5), "stack: axis"),
}
for name, (make, words) in OPS.items():
    case("ops", name)(lambda tmp, make=make, words=words: refused(make, (TypeError,
                                                                        ValueError), words))


@case("ops", "pow: d/db at base 0, b >= 0, is 0 (PyTorch)", CORRECT)
def _pow(tmp: Path) -> None:
    a = ag.tensor([0.0, 0.0, 3.0], requires_grad=True)
    b = ag.tensor([0.0, 2.0, 2.0], requires_grad=True)
    (gb,) = ag.grad((a ** b).sum(), b)
    np.testing.assert_allclose(gb.data, [0.0, 0.0, 9 * np.log(3.0)], rtol=1e-15)


@case("ops", "concatenate of 3,000 tensors: exact gradients", CORRECT)
def _wide_cat(tmp: Path) -> None:
    xs = [ag.tensor(np.full(2, float(i)), requires_grad=True) for i in range(3000)]
    (ag.concatenate(xs) ** 2).sum().backward()
    assert all(np.array_equal(x.grad.data, 2 * x.data) for x in xs)


# ------------------------------------------------------------------ the table
@pytest.mark.parametrize("category, name, outcome, check", CASES,
                         ids=[f"{c}: {n}" for c, n, _, _ in CASES])
def test_fault(category, name, outcome, check, tmp_path):
    check(tmp_path)


def test_the_table_covers_every_kind():
    kinds = {c for c, *_ in CASES}
    assert len(CASES) >= 100 and len(kinds) >= 12


# ------------------------------------------------------------------ byte flips
def test_every_byte_flip_of_a_checkpoint_is_refused_or_harmless(tmp_path):
    """XOR each byte of a small checkpoint with 0xFF, then with 0x01: the load is refused
    (and the model unchanged) or gives exactly the saved values."""
    model = nn.Linear(2, 1, rng=0)
    saved = model.state_dict()
    path = tmp_path / "m.npz"
    nn.save_state(model, path)
    good = path.read_bytes()
    target = nn.Linear(2, 1, rng=9)
    untouched = target.state_dict()
    outcomes = {"refused": 0, "original values": 0}
    fh = open(path, "r+b")  # rewritten in place: truncating costs ms per file here
    for mask in (0xFF, 0x01):
        for i in range(len(good)):
            bad = bytearray(good)
            bad[i] ^= mask
            fh.seek(0)
            fh.write(bad)
            fh.flush()
            try:
                nn.load_state(target, path)
            except (ValueError, OSError):
                assert all(v.tobytes() == untouched[k].tobytes()
                           for k, v in target.state_dict().items()), (mask, i)
                outcomes["refused"] += 1
                continue
            got = target.state_dict()
            assert all(got[k].tobytes() == saved[k].tobytes() for k in saved), (mask, i)
            outcomes["original values"] += 1
            target.load_state_dict(untouched)
    fh.close()
    assert sum(outcomes.values()) == 2 * len(good) and outcomes["refused"] > len(good)


# ------------------------------------------------------------------ processes and disks
CHILD = """
import sys, numpy as np, nn
path = sys.argv[1]
a = {"w": np.full(400_000, 1.0)}
b = {"w": np.full(400_000, 2.0)}
nn.save_state(a, path)
print("ready", flush=True)
while True:
    nn.save_state(b, path)
    nn.save_state(a, path)
"""


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.051])
def test_kill_9_during_saves_never_tears_the_checkpoint(tmp_path, delay):
    path = tmp_path / "m.npz"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    w = nn.load_state(path)["w"]
    assert w.shape == (400_000,) and (np.all(w == 1.0) or np.all(w == 2.0))
    nn.save_state({"w": np.zeros(1)}, path)  # the next save sweeps the dead child's temps
    assert leftovers(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (needs root and mount); skipped where mounting is not allowed."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_full_disk_keeps_the_old_file_and_no_temporary(small_disk):
    path = small_disk / "m.npz"
    nn.save_state({"w": np.ones(1000)}, path)
    before = path.read_bytes()
    with pytest.raises(OSError) as err:
        nn.save_state({"w": np.ones(100_000)}, path)  # 800 KB onto 256 KiB
    assert err.value.errno == errno.ENOSPC
    assert path.read_bytes() == before and leftovers(small_disk) == []


def test_fit_on_a_full_disk_keeps_the_history_and_the_last_checkpoint(small_disk):
    ckpt = small_disk / "best.npz"
    filler = small_disk / "filler"

    kept = {}

    def fill_disk(epoch, history):
        if epoch == 1:  # after two checkpoints, leave no room for a third
            kept["bytes"] = ckpt.read_bytes()
            with open(filler, "wb", buffering=0) as fh, pytest.raises(OSError):
                while True:
                    fh.write(bytes(4096))

    model = nn.MLP([2, 64, 1], rng=0)
    x = np.random.default_rng(0).normal(size=(64, 2))
    y = x[:, :1] * 2
    with pytest.raises(OSError) as err:
        nn.fit(model, nn.MSELoss(), nn.optim.SGD(model.parameters(), lr=0.05), (x, y),
               epochs=10, progress=False, checkpoint=ckpt, callbacks=[fill_disk])
    history = err.value.history  # every epoch recorded, the failing one included
    assert history.epochs == len(history["loss"]) >= 3
    assert history.best_epoch == history.epochs - 1  # it failed saving a better state
    assert ckpt.read_bytes() == kept["bytes"]  # the last checkpoint written, whole
    assert set(nn.load_state(ckpt)) == set(model.state_dict())
    assert leftovers(small_disk) == []


FSIZE_CHILD = """
import resource, signal, sys, numpy as np, nn
path = sys.argv[1]
nn.save_state({"w": np.ones(100)}, path)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    nn.save_state({"w": np.ones(1_000_000)}, path)
except OSError as e:
    print(e.errno)
"""


def test_a_file_size_limit_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "m.npz"
    done = subprocess.run([sys.executable, "-c", FSIZE_CHILD, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == str(errno.EFBIG), done.stderr
    assert np.array_equal(nn.load_state(path)["w"], np.ones(100))
    assert leftovers(tmp_path) == []

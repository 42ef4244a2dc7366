"""Readers for the CICY lists and line-bundle cohomology tables, and matrix encodings for learning.

Nothing here downloads anything: every reader takes a path (or text) that the caller owns.
The shared data of the course lives in ``../shared/data`` relative to the repository root.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .cicy import CICY, validate_degrees

__all__ = [
    "CICYRecord",
    "LineBundleTable",
    "load_cicy_json",
    "parse_cicy_text",
    "load_cicy_text",
    "load_line_bundle_cohomology",
    "pad_configuration",
    "permute_configuration",
    "configuration_tensor",
]

PAD_SHAPE = (12, 15)  # largest CICY degree matrix: 12 factors, 15 polynomials


@dataclass(frozen=True)
class CICYRecord:
    """One entry of a CICY list.  `matrix` is the degree matrix without the dimension column
    (rows = factors); c2 is ordered like the rows of `matrix` (c2_r = integral of c2 J_r)."""

    id: int
    matrix: np.ndarray
    h11: int
    h21: int
    c2: np.ndarray
    euler: int | None = None
    redun: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def cicy(self) -> CICY:
        return CICY.from_degrees(self.matrix)


# ---------------------------------------------------------------------- JSON lists
def _open_text(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            return fh.read()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(
            f"{path}: cannot read (truncated, or not "
            f"{'gzip' if opener is gzip.open else 'UTF-8 text'}): {exc}"
        ) from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) < len(pairs):
        keys = [k for k, _ in pairs]
        raise _DuplicateKey(sorted({k for k in keys if keys.count(k) > 1}))
    return out


class _DuplicateKey(ValueError):
    def __init__(self, keys: list[str]) -> None:
        super().__init__(keys)
        self.keys = keys


def _json_int(value: Any, where: str, field_name: str) -> int:
    """A JSON integer, exactly: no bools, floats or strings slip in as numbers."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: {field_name} must be an integer, got "
                         f"{type(value).__name__} {value!r}")
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{where}: {field_name} = {value} is out of range")
    return value


def _json_ints(value: Any, where: str, field_name: str) -> list[int]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: {field_name} must be a list of integers, got "
                         f"{type(value).__name__}")
    if all(type(v) is int and -(2**63) <= v < 2**63 for v in value):  # the common case
        return value
    return [_json_int(v, where, f"{field_name}[{i}]") for i, v in enumerate(value)]


def load_cicy_json(path: str | os.PathLike) -> list[CICYRecord]:
    """Read a CICY list in the JSON(.gz) form of ``../shared/data/cicy`` (cicy3o, cicy3f).

    The file maps ids to records with at least ``matrix``, ``h11``, ``h21`` and ``c2``; the
    original list also has ``euler`` and ``redun``, the favourable one ``favour``,
    ``kahlerpos``, ``isprod`` (kept in ``extra``).  Records are returned sorted by id.

    Strict: ids are decimal integers, each once (a repeated key anywhere is an error, as
    JSON parsers would otherwise keep the last); ``h11``, ``h21``, ``euler``, ``c2``,
    ``redun`` and the matrix hold JSON integers (no ``true``, ``1.7`` or ``"3"``); each
    matrix is a Calabi-Yau threefold configuration (checked exactly).
    """
    path = Path(path)
    text = _open_text(path)
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    except _DuplicateKey as exc:
        raise ValueError(f"{path}: the key(s) {exc.keys[:3]} appear twice in one object "
                         "(duplicate ids or fields); remove the duplicates") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: expected a JSON object mapping ids to records, got {type(data).__name__}"
        )
    if not data:
        raise ValueError(f"{path}: the list holds no records")
    records = []
    for key, rec in data.items():
        where = f"{path}: record {key!r}"
        if not re.fullmatch(r"0|[1-9][0-9]*", key):
            raise ValueError(f"{where}: an id must be a decimal integer without sign or "
                             "leading zeros")
        if not isinstance(rec, dict):
            raise ValueError(f"{where}: expected an object, got {type(rec).__name__}")
        missing = {"matrix", "h11", "h21", "c2"} - rec.keys()
        if missing:
            raise ValueError(f"{where}: missing fields {sorted(missing)}")
        rows = rec["matrix"]
        if not isinstance(rows, list) or not rows:
            raise ValueError(f"{where}: matrix must be a non-empty list of rows")
        matrix_rows = [_json_ints(row, where, f"matrix row {r}") for r, row in enumerate(rows)]
        if len({len(row) for row in matrix_rows}) != 1:
            raise ValueError(
                f"{where}: matrix must be a rectangular list of rows, got row lengths "
                f"{[len(row) for row in matrix_rows]}"
            )
        c2 = _json_ints(rec["c2"], where, "c2")
        if len(c2) != len(matrix_rows):
            raise ValueError(
                f"{where}: c2 must have one entry per matrix row ({len(matrix_rows)}), "
                f"got {len(c2)}"
            )
        try:
            validate_degrees([sum(row) - 1 for row in matrix_rows], matrix_rows)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        extra = {
            k: v
            for k, v in rec.items()
            if k not in {"matrix", "h11", "h21", "c2", "euler", "redun"}
        }
        euler = rec.get("euler")
        records.append(
            CICYRecord(
                id=int(key),
                matrix=np.array(matrix_rows, dtype=np.int64),
                h11=_json_int(rec["h11"], where, "h11"),
                h21=_json_int(rec["h21"], where, "h21"),
                c2=np.array(c2, dtype=np.int64),
                euler=None if euler is None else _json_int(euler, where, "euler"),
                redun=tuple(_json_ints(rec.get("redun", []), where, "redun")),
                extra=extra,
            )
        )
    return sorted(records, key=lambda r: r.id)


# ---------------------------------------------------------------------- Oxford text list
_HEADER = ("Num", "NumPs", "NumPol", "Eta", "H11", "H21", "C2", "Redun")
_FIELD_RE = re.compile(r"^\s*([A-Za-z0-9]+)\s*:\s*(.*?)\s*$")
_INT_TOKEN = re.compile(r"-?[0-9]+")  # ASCII digits: int() alone would take "1_0" or "١"


def _int_tokens(text: str, where: str, what: str) -> list[int]:
    """The integers of ``{a, b, ...}`` or ``a b ...`` (braces optional, balanced; commas
    or blanks between), each token a whole ``-?[0-9]+``: "1-2" is an error, not 1 and -2."""
    body = text.strip()
    if body.startswith("{") != body.endswith("}") or body.count("{") > 1 or \
            body.count("}") > 1:
        raise ValueError(f"{where}: unbalanced braces in {what}: {text.strip()!r}")
    tokens = [t for t in re.split(r"[\s,]+", body.strip("{}").strip()) if t]
    bad = [t for t in tokens if not _INT_TOKEN.fullmatch(t)]
    if bad:
        raise ValueError(f"{where}: {what} must be integers like {{24,36}} or '1 0 2', got "
                         f"{text.strip()!r}")
    return [int(t) for t in tokens]


def _header_int(value: str, where: str, key: str) -> int:
    if not _INT_TOKEN.fullmatch(value):
        raise ValueError(f"{where}: {key} must be an integer, got {value!r}")
    return int(value)


def parse_cicy_text(text: str, source: str = "<text>") -> list[CICYRecord]:
    """Parse the original CICY list text format (Candelas et al., Oxford ``cicylist.txt``).

    Each configuration is a block of header lines ``Key : value`` in the order
    Num, NumPs, NumPol, Eta (Euler number), H11, H21, C2 (``{..}``, one entry per factor),
    Redun (``{..}``, possibly empty), followed by NumPs matrix rows.  A matrix row holds the
    integers of one projective factor, optionally wrapped in braces and separated by blanks
    or commas: either NumPol + 1 of them (the dimension n_r first, as in the paper's
    notation) or NumPol (degrees only); the first row of a configuration decides which,
    and every other row of it must agree.  A leading dimension is checked against the row
    sum, and each configuration must be a Calabi-Yau threefold (checked exactly), so a
    row cut short by truncation is an error, not a shorter row.  Blank lines and lines
    starting with ``#`` are ignored.  Errors name the line; input without any
    configuration is an error.
    """
    lines = text.splitlines()
    records: list[CICYRecord] = []
    i = 0

    def next_line() -> tuple[int, str] | None:
        nonlocal i
        while i < len(lines):
            raw = lines[i]
            i += 1
            if raw.strip() and not raw.lstrip().startswith("#"):
                return i, raw
        return None

    while True:
        got = next_line()
        if got is None:
            break
        header: dict[str, str] = {}
        key_line: dict[str, int] = {}
        for key in _HEADER:
            if got is None:
                raise ValueError(f"{source}: unexpected end of input after line {len(lines)}, "
                                 f"expected '{key} : ...'")
            lineno, raw = got
            match = _FIELD_RE.match(raw)
            if not match or match.group(1) != key:
                raise ValueError(
                    f"{source}: line {lineno}: expected '{key} : <value>', got {raw.strip()!r}"
                )
            header[key] = match.group(2)
            key_line[key] = lineno
            if key != "Redun":
                got = next_line()
        num, nps, npol, eta, h11, h21 = (
            _header_int(header[k], f"{source}: line {key_line[k]}", k)
            for k in ("Num", "NumPs", "NumPol", "Eta", "H11", "H21")
        )
        c2 = _int_tokens(header["C2"], f"{source}: line {key_line['C2']}", "C2")
        redun = _int_tokens(header["Redun"], f"{source}: line {key_line['Redun']}", "Redun")
        if nps < 1 or npol < 1:
            raise ValueError(f"{source}: configuration {num}: NumPs and NumPol must be >= 1")
        if len(c2) != nps:
            raise ValueError(
                f"{source}: configuration {num}: C2 has {len(c2)} entries, NumPs = {nps}"
            )
        rows, dims, width = [], [], None
        for r in range(nps):
            got = next_line()
            if got is None:
                raise ValueError(
                    f"{source}: configuration {num}: input ends after {r} of {nps} matrix rows"
                )
            lineno, raw = got
            where = f"{source}: line {lineno}"
            if _FIELD_RE.match(raw):
                raise ValueError(
                    f"{where}: configuration {num} expects {nps} matrix rows, found a "
                    f"header line after {r}"
                )
            vals = _int_tokens(raw, where, "a matrix row")
            if width is None and len(vals) in (npol, npol + 1):
                width = len(vals)
            if len(vals) != width:
                raise ValueError(
                    f"{where}: expected {width or npol} integers like the configuration's "
                    f"first row ({npol} degrees, or {npol + 1} with the dimension first), "
                    f"got {len(vals)}"
                )
            if width == npol + 1:
                if vals[0] != sum(vals[1:]) - 1:
                    raise ValueError(
                        f"{where}: dimension {vals[0]} does not match the degree sum "
                        f"{sum(vals[1:])} - 1 (not Calabi-Yau)"
                    )
                dims.append(vals[0])
                vals = vals[1:]
            else:
                dims.append(sum(vals) - 1)
            rows.append(vals)
        try:
            validate_degrees(dims, rows)
        except ValueError as exc:
            raise ValueError(f"{source}: configuration {num} (lines {key_line['Num']}-"
                             f"{lineno}): {exc}") from None
        records.append(
            CICYRecord(
                id=num,
                matrix=np.array(rows, dtype=np.int64),
                h11=h11,
                h21=h21,
                c2=np.array(c2, dtype=np.int64),
                euler=eta,
                redun=tuple(redun),
            )
        )
    if not records:
        raise ValueError(f"{source}: no configuration found ({len(lines)} lines, none of "
                         "them a 'Num : ...' block); an empty or truncated file?")
    ids = [r.id for r in records]
    if len(set(ids)) < len(ids):
        dup = sorted({n for n in ids if ids.count(n) > 1})
        raise ValueError(f"{source}: configuration number(s) {dup[:3]} appear twice")
    return records


def load_cicy_text(path: str | os.PathLike) -> list[CICYRecord]:
    """Read a CICY list in the original text format from a file (optionally .gz)."""
    path = Path(path)
    return parse_cicy_text(_open_text(path), source=str(path))


# ---------------------------------------------------------------------- line-bundle tables
@dataclass(frozen=True)
class LineBundleTable:
    """charges (N, m) and cohomology dimensions h = (h0, h1, h2, h3), shape (N, 4)."""

    charges: np.ndarray
    h: np.ndarray

    @property
    def index(self) -> np.ndarray:
        """h0 - h1 + h2 - h3 per row."""
        return self.h[:, 0] - self.h[:, 1] + self.h[:, 2] - self.h[:, 3]


_INTEGRAL = re.compile(r"([+-]?[0-9]+)(?:\.0*)?")


def _integral(token: str, path: Path, lineno: int) -> int:
    """``-10``, ``-10.0`` or ``+3.`` as an exact int, parsed as text: a float detour
    would turn 9007199254740993 into ...992."""
    match = _INTEGRAL.fullmatch(token)
    if match is None:
        raise ValueError(f"{path}: line {lineno}: {token!r} is not an integer")
    value = int(match.group(1))
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{path}: line {lineno}: {token} is out of the int64 range")
    return value


def load_line_bundle_cohomology(path: str | os.PathLike) -> LineBundleTable:
    """Read a whitespace table with header ``m0 .. m{k-1} h0 h1 h2 h3``.

    Data rows may carry a leading row index (pandas style, one column more than the
    header): the first data row decides, and every row must then have exactly as many
    values (a row missing one is an error naming its line, never a shifted row).
    Integers may be written as floats with a zero fraction (``-10.0``) and are parsed
    exactly. A table without data rows is an error.
    """
    path = Path(path)
    text = _open_text(path)
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if not lines:
        raise ValueError(f"{path}: empty file, expected a header 'm0 m1 ... h0 h1 h2 h3'")
    head_no, head = lines[0]
    cols = head.split()
    k = len(cols) - 4
    if k < 1 or cols[:k] != [f"m{i}" for i in range(k)] or cols[k:] != ["h0", "h1", "h2", "h3"]:
        raise ValueError(
            f"{path}: line {head_no}: header must be 'm0 ... m{{k-1}} h0 h1 h2 h3', "
            f"got {head.strip()!r}"
        )
    if len(lines) == 1:
        raise ValueError(f"{path}: line {head_no}: a header and no data rows (truncated?)")
    width = len(lines[1][1].split())
    if width not in (len(cols), len(cols) + 1):
        width = len(cols)  # the first row itself is wrong: report it below
    rows = []
    for lineno, line in lines[1:]:
        tokens = line.split()
        if len(tokens) != width:
            raise ValueError(
                f"{path}: line {lineno}: expected {width} values like the first data row "
                f"({len(cols)} columns{' plus an index' if width > len(cols) else ''}), "
                f"got {len(tokens)}"
            )
        rows.append([_integral(t, path, lineno) for t in tokens[width - len(cols):]])
    arr = np.array(rows, dtype=np.int64).reshape(-1, len(cols))
    if np.any(arr[:, k:] < 0):
        bad = lines[1 + int(np.argmax(np.any(arr[:, k:] < 0, axis=1)))][0]
        raise ValueError(f"{path}: line {bad}: cohomology dimensions must be >= 0")
    return LineBundleTable(charges=arr[:, :k], h=arr[:, k:])


# ---------------------------------------------------------------------- encodings
def pad_configuration(
    matrix: Sequence | np.ndarray, shape: tuple[int, int] = PAD_SHAPE
) -> np.ndarray:
    """Zero-pad a degree matrix (no dimension column) to `shape` (default 12 x 15)."""
    mat = np.asarray(matrix)
    if mat.ndim != 2:
        raise ValueError(f"a configuration matrix must be 2-d, got shape {mat.shape}")
    if mat.shape[0] > shape[0] or mat.shape[1] > shape[1]:
        raise ValueError(
            f"matrix of shape {mat.shape} does not fit in {shape}; pass a larger shape"
        )
    out = np.zeros(shape, dtype=np.int64)
    out[: mat.shape[0], : mat.shape[1]] = mat
    return out


def permute_configuration(matrix: Sequence | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random row and column permutation: another description of the same manifold."""
    mat = np.asarray(matrix)
    return mat[rng.permutation(mat.shape[0])][:, rng.permutation(mat.shape[1])]


def configuration_tensor(
    matrices: Iterable[Sequence | np.ndarray],
    shape: tuple[int, int] = PAD_SHAPE,
    *,
    transpose: bool = False,
    permute: bool = False,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Stack degree matrices into an (N, 12, 15) array for learning.

    transpose=True returns the padded transposes, (N, 15, 12) (polynomials as rows);
    permute=True applies :func:`permute_configuration` first (needs `rng`) as augmentation.
    """
    if permute and rng is None:
        raise ValueError(
            "permute=True needs a numpy Generator: pass rng=np.random.default_rng(seed)"
        )
    out = []
    for mat in matrices:
        mat = np.asarray(mat)
        if permute:
            mat = permute_configuration(mat, rng)
        padded = pad_configuration(mat, shape)
        out.append(padded.T if transpose else padded)
    if not out:
        return np.zeros((0,) + (shape[::-1] if transpose else shape), dtype=np.int64)
    return np.stack(out)

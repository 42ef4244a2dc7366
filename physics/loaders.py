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

from .cicy import CICY

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


def load_cicy_json(path: str | os.PathLike) -> list[CICYRecord]:
    """Read a CICY list in the JSON(.gz) form of ``../shared/data/cicy`` (cicy3o, cicy3f).

    The file maps ids to records with at least ``matrix``, ``h11``, ``h21`` and ``c2``; the
    original list also has ``euler`` and ``redun``, the favourable one ``favour``,
    ``kahlerpos``, ``isprod`` (kept in ``extra``).  Records are returned sorted by id.
    """
    path = Path(path)
    text = _open_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: expected a JSON object mapping ids to records, got {type(data).__name__}"
        )
    records = []
    for key, rec in data.items():
        where = f"{path}: record {key!r}"
        if not isinstance(rec, dict):
            raise ValueError(f"{where}: expected an object, got {type(rec).__name__}")
        missing = {"matrix", "h11", "h21", "c2"} - rec.keys()
        if missing:
            raise ValueError(f"{where}: missing fields {sorted(missing)}")
        try:
            ident = int(key)
            matrix = np.array(rec["matrix"], dtype=np.int64)
            c2 = np.array(rec["c2"], dtype=np.int64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: id, matrix and c2 must be integers ({exc})") from None
        if matrix.ndim != 2:
            raise ValueError(
                f"{where}: matrix must be a rectangular list of rows, got shape {matrix.shape}"
            )
        if c2.shape != (matrix.shape[0],):
            raise ValueError(
                f"{where}: c2 must have one entry per matrix row ({matrix.shape[0]}), "
                f"got {c2.shape}"
            )
        extra = {
            k: v
            for k, v in rec.items()
            if k not in {"matrix", "h11", "h21", "c2", "euler", "redun"}
        }
        records.append(
            CICYRecord(
                id=ident,
                matrix=matrix,
                h11=int(rec["h11"]),
                h21=int(rec["h21"]),
                c2=c2,
                euler=None if rec.get("euler") is None else int(rec["euler"]),
                redun=tuple(int(r) for r in rec.get("redun", ())),
                extra=extra,
            )
        )
    return sorted(records, key=lambda r: r.id)


# ---------------------------------------------------------------------- Oxford text list
_HEADER = ("Num", "NumPs", "NumPol", "Eta", "H11", "H21", "C2", "Redun")
_FIELD_RE = re.compile(r"^\s*([A-Za-z0-9]+)\s*:\s*(.*?)\s*$")
_INT_RE = re.compile(r"-?\d+")


def _int_list(text: str, lineno: int, key: str) -> list[int]:
    body = text.strip()
    if body.startswith("{") != body.endswith("}"):
        raise ValueError(f"line {lineno}: unbalanced braces in {key}: {text!r}")
    body = body.strip("{}")
    if re.search(r"[^\d\s,\-]", body):
        raise ValueError(
            f"line {lineno}: {key} must be a list of integers like {{24,36}}, got {text!r}"
        )
    return [int(v) for v in _INT_RE.findall(body)]


def parse_cicy_text(text: str, source: str = "<text>") -> list[CICYRecord]:
    """Parse the original CICY list text format (Candelas et al., Oxford ``cicylist.txt``).

    Each configuration is a block of header lines ``Key : value`` in the order
    Num, NumPs, NumPol, Eta (Euler number), H11, H21, C2 (``{..}``, one entry per factor),
    Redun (``{..}``, possibly empty), followed by NumPs matrix rows.  A matrix row holds the
    integers of one projective factor, optionally wrapped in braces and separated by blanks
    or commas: either NumPol + 1 of them (the dimension n_r first, as in the paper's
    notation) or NumPol (degrees only).  A leading dimension is checked against the row sum.
    Blank lines and lines starting with ``#`` are ignored.  Errors name the line.
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
                raise ValueError(f"{source}: unexpected end of input, expected '{key} : ...'")
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
        try:
            num, nps, npol, eta, h11, h21 = (
                int(header[k]) for k in ("Num", "NumPs", "NumPol", "Eta", "H11", "H21")
            )
        except ValueError:
            raise ValueError(
                f"{source}: block starting at line {key_line['Num']}: "
                "Num, NumPs, NumPol, Eta, H11, H21 "
                "must be integers"
            ) from None
        c2 = _int_list(header["C2"], key_line["C2"], "C2")
        redun = _int_list(header["Redun"], key_line["Redun"], "Redun")
        if nps < 1 or npol < 1:
            raise ValueError(f"{source}: configuration {num}: NumPs and NumPol must be >= 1")
        if len(c2) != nps:
            raise ValueError(
                f"{source}: configuration {num}: C2 has {len(c2)} entries, NumPs = {nps}"
            )
        rows = []
        for r in range(nps):
            got = next_line()
            if got is None:
                raise ValueError(
                    f"{source}: configuration {num}: input ends after {r} of {nps} matrix rows"
                )
            lineno, raw = got
            if _FIELD_RE.match(raw):
                raise ValueError(
                    f"{source}: line {lineno}: configuration {num} expects {nps} matrix rows, "
                    "found a "
                    f"header line after {r}"
                )
            if re.search(r"[^\d\s,\-{}]", raw):
                raise ValueError(
                    f"{source}: line {lineno}: a matrix row holds integers only, "
                    f"got {raw.strip()!r}"
                )
            vals = [int(v) for v in _INT_RE.findall(raw)]
            if len(vals) == npol + 1:
                if vals[0] != sum(vals[1:]) - 1:
                    raise ValueError(
                        f"{source}: line {lineno}: dimension {vals[0]} does not match the "
                        "degree sum "
                        f"{sum(vals[1:])} - 1 (not Calabi-Yau)"
                    )
                vals = vals[1:]
            elif len(vals) != npol:
                raise ValueError(
                    f"{source}: line {lineno}: expected {npol} degrees (or {npol + 1} with the "
                    f"dimension first), got {len(vals)}"
                )
            rows.append(vals)
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


def _integral(token: str, path: Path, lineno: int) -> int:
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"{path}: line {lineno}: {token!r} is not a number") from None
    if not np.isfinite(value) or value != round(value):
        raise ValueError(f"{path}: line {lineno}: {token!r} is not an integer")
    return int(round(value))


def load_line_bundle_cohomology(path: str | os.PathLike) -> LineBundleTable:
    """Read a whitespace table with header ``m0 .. m{k-1} h0 h1 h2 h3``.

    Data rows may carry a leading row index (pandas style, one column more than the
    header), and integers may be written as floats (``-10.0``).
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
    rows = []
    for lineno, line in lines[1:]:
        tokens = line.split()
        if len(tokens) == len(cols) + 1:
            tokens = tokens[1:]
        elif len(tokens) != len(cols):
            raise ValueError(
                f"{path}: line {lineno}: expected {len(cols)} values "
                f"(or an index plus {len(cols)}), "
                f"got {len(tokens)}"
            )
        rows.append([_integral(t, path, lineno) for t in tokens])
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

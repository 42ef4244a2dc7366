"""Matrix products: matmul (1-d, 2-d, batched, broadcasting) and einsum."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import defop
from ..tensor import Tensor, apply
from ._common import as_tensor, const, constants_as


def _swap_last(F: Any, x: Any) -> Any:
    axes = list(range(len(x.shape)))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return F.transpose(x, tuple(axes))


def _matmul_grad(F: Any, g: Any, a: Any, b: Any, wrt_a: bool) -> Any:
    if len(a.shape) == 2 and len(b.shape) == 2:  # the common case, without reshaping
        return F.matmul(g, b.T) if wrt_a else F.matmul(a.T, g)
    # Promote 1-d operands to matrices as numpy does, differentiate, then undo it.
    a_vec, b_vec = len(a.shape) == 1, len(b.shape) == 1
    if a_vec and b_vec:
        g2 = F.reshape(g, (1, 1))
    elif a_vec:
        g2 = F.reshape(g, g.shape[:-1] + (1,) + g.shape[-1:])
    elif b_vec:
        g2 = F.reshape(g, g.shape + (1,))
    else:
        g2 = g
    # Batch axes that broadcasting added (and a promoted vector's unit axis) are summed
    # away by the engine, which undoes broadcasting for every op in one place.
    # Each rule reads only the other operand's values (a node may keep just that one).
    if wrt_a:
        b2 = F.reshape(b, b.shape + (1,)) if b_vec else b
        return F.matmul(g2, _swap_last(F, b2))
    a2 = F.reshape(a, (1,) + a.shape) if a_vec else a
    gb = F.matmul(_swap_last(F, a2), g2)
    return F.reshape(gb, gb.shape[:-1]) if b_vec else gb


@defop(lambda F, g, y, a, b: _matmul_grad(F, g, a, b, True),
       lambda F, g, y, a, b: _matmul_grad(F, g, a, b, False),
       sample=lambda d: _matmul_sample(d), label="@", saves_out=False, method="matmul",
       reads=((1,), (0,)))
def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with numpy's rules: 1-d vectors, 2-d matrices, batched stacks.

    For C = A B the gradients are dA = dC B^T and dB = A^T dC (summed over broadcast
    batch axes).
    """
    if not isinstance(a, Tensor):
        a = const(a, b.dtype) if isinstance(b, Tensor) else as_tensor(a)
    if not isinstance(b, Tensor):
        b = const(b, a.dtype)
    ad = a._data if isinstance(a, Tensor) else a
    bd = b._data if isinstance(b, Tensor) else b
    try:
        data = np.matmul(ad, bd)
    except ValueError as e:
        if ad.ndim == 0 or bd.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-d, got shapes {ad.shape} "
                             f"and {bd.shape}; use mul for scalars") from e
        raise ValueError(
            f"matmul: shapes {ad.shape} and {bd.shape} are not aligned: the last axis "
            f"of the first ({ad.shape[-1]}) must equal the "
            f"{'only' if bd.ndim == 1 else 'second-to-last'} axis of the second"
        ) from e
    return apply(matmul.op, (a, b), data)


def _matmul_sample(d: Any) -> tuple[tuple, dict]:
    m, n, k, batch = d.integers(1, 3), d.integers(1, 3), d.integers(1, 3), d.integers(1, 3)
    pairs = [((n,), (n,)), ((m, n), (n,)), ((n,), (n, k)), ((m, n), (n, k)),
             ((batch, m, n), (n, k)), ((batch, m, n), (batch, n, k)),
             ((1, m, n), (batch, n, k)), ((n,), (batch, n, k))]
    sa, sb = d.choice(pairs)
    return (d.array(sa), d.array(sb)), {}


def _parse(subscripts: str, n: int) -> tuple[list[str], str]:
    if "..." in subscripts:
        raise ValueError("einsum: '...' is not supported; name every axis with a letter")
    if "->" not in subscripts:
        raise ValueError(f"einsum: give the output explicitly, e.g. 'ij,jk->ik' "
                         f"(got {subscripts!r})")
    lhs, out = subscripts.replace(" ", "").split("->")
    ins = lhs.split(",")
    if len(ins) != n:
        raise ValueError(f"einsum: {subscripts!r} names {len(ins)} operands, {n} given")
    for s in ins + [out]:
        if len(set(s)) != len(s):
            raise ValueError(f"einsum: repeated index in {s!r} (diagonals) is not supported")
    return ins, out


def _einsum_rule(i: int) -> Any:
    def rule(F: Any, g: Any, y: Any, *xs: Any, subscripts: str) -> Any:
        ins, out = _parse(subscripts, len(xs))
        others = [s for j, s in enumerate(ins) if j != i]
        available = set(out).union(*others) if others else set(out)
        target = "".join(c for c in ins[i] if c in available)
        spec = ",".join([out] + others) + "->" + target
        gi = F.einsum(spec, g, *[x for j, x in enumerate(xs) if j != i])
        if target != ins[i]:
            # Indices only this operand carries were summed alone: broadcast back over them.
            kept = tuple(xs[i].shape[k] if c in available else 1 for k, c in enumerate(ins[i]))
            gi = F.broadcast_to(F.reshape(gi, kept), xs[i].shape)
        return gi

    return rule


class _EinsumRules:
    def __getitem__(self, i: int) -> Any:
        return _einsum_rule(i)


@defop(sample=lambda d: _einsum_sample(d), tags=("variadic",), saves_out=False)
def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation with explicit output, e.g. ``einsum('bij,bjk->bik', a, b)``.

    The gradient for operand i is the einsum of the output gradient with the other
    operands, written to operand i's indices.
    """
    ts = constants_as(operands)  # array operands take the tensors' float dtype
    ins, _ = _parse(subscripts, len(ts))
    for s, t in zip(ins, ts):
        if len(s) != t.ndim:
            raise ValueError(f"einsum: {s!r} names {len(s)} axes but the operand has shape "
                             f"{t.shape}")
    try:
        data = np.einsum(subscripts, *[t._data for t in ts], optimize=len(ts) > 2)
    except ValueError as e:
        raise ValueError(f"einsum: {e} (shapes {[t.shape for t in ts]}, {subscripts!r})") \
            from e
    return apply(einsum.op, ts, np.asarray(data), {"subscripts": subscripts})


einsum.op.vjps = _EinsumRules()  # type: ignore[attr-defined]

_EINSUM_CASES = ["ij,jk->ik", "bij,bjk->bik", "i,i->", "ij->ji", "ij->i", "i,j->ij",
                 "nchw,ochw->no", "ncl,ocl->nol", "ij,j->i", "bi,oi->bo", "ijk->"]


def _einsum_sample(d: Any) -> tuple[tuple, dict]:
    spec = d.choice(_EINSUM_CASES)
    sizes = {c: d.integers(1, 3) for c in sorted(set(spec) - set(",->"))}
    ins = spec.split("->")[0].split(",")
    return (spec,) + tuple(d.array(tuple(sizes[c] for c in s)) for s in ins), {}


def _linear_weight_grad(F: Any, g: Any, x: Any) -> Any:
    if len(x.shape) == 2:
        return F.matmul(g.T, x)
    # Any leading batch axes: every row of x met every row of g.
    rows_g = F.reshape(g, (-1, g.shape[-1]))
    return F.matmul(rows_g.T, F.reshape(x, (-1, x.shape[-1])))


@defop(lambda F, g, y, x, w, b=None: F.matmul(g, w),
       lambda F, g, y, x, w, b=None: _linear_weight_grad(F, g, x),
       lambda F, g, y, x, w, b=None: g,  # summed over the batch axes by the engine
       sample=lambda d: _linear_sample(d), saves=(0, 1), saves_out=False,
       reads=((1,), (0,), ()))
def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:  # noqa: A002
    """x W^T + b in one op (PyTorch's ``F.linear``): lecture eq. 6 z = W x + b for a
    batch of row vectors. ``weight`` is (out_features, in_features), ``bias`` (out,).

    One node instead of matmul, transpose and add, so a layer keeps no intermediate array
    for backward: dx = g W, dW = g^T x, db = g summed over the batch.
    """
    if isinstance(input, Tensor) and isinstance(weight, Tensor):
        x, w = input, weight
    else:  # an array weight (or input) takes the tensor's float dtype, as in matmul
        x, w = constants_as((input, weight))
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape "
                         f"{w.shape}: the input's last axis must equal in_features "
                         f"(weight.shape[1])")
    data = x._data @ w._data.T
    if bias is None:
        return apply(linear.op, (x, w), data)
    b = bias if isinstance(bias, Tensor) else Tensor(const(np.asarray(bias), data.dtype))
    if b.shape != (w.shape[0],):
        raise ValueError(f"linear: bias of shape {b.shape} must have shape ({w.shape[0]},) "
                         "(out_features)")
    data += b._data  # data is a fresh array: adding in place saves an allocation
    return apply(linear.op, (x, w, b), data)


def _linear_sample(d: Any) -> tuple[tuple, dict]:
    n_in, n_out = d.integers(1, 3), d.integers(1, 3)
    lead = d.choice([(), (d.integers(1, 3),), (d.integers(1, 2), d.integers(1, 3))])
    args = (d.array(lead + (n_in,)), d.array((n_out, n_in)))
    return (args + (d.array((n_out,)),) if d.boolean() else args), {}

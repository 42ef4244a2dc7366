"""2-d convolution as three ops that are each other's derivatives.

``conv2d(x, w, b)`` is PyTorch's cross-correlation in (N, C, H, W) layout. Its input
gradient is ``conv2d_input(g, w)`` (the transposed convolution) and its weight gradient
``conv2d_weight(x, g)`` (PyTorch's ``torch.nn.grad.conv2d_input/conv2d_weight``). All
three are bilinear, so each one's derivatives are again one of the three: the rules are
closed under differentiation and every order of derivative runs on the same GEMM kernels
(``_conv_gemm``), with no per-sample products and no window tensors in the graph.

Geometry: ``stride`` (int or pair), ``padding`` (int, a pair (ph, pw), or per-axis
(before, after) pairs ((top, bottom), (left, right)), which is how "same" padding of an
even kernel is spelled), ``dilation`` (int or pair).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..mode import is_grad_enabled
from ..registry import defop
from ..tensor import Tensor, apply
from . import _conv_gemm as K
from ._common import as_tensor, const


def _pair(op: str, name: str, v: Any) -> tuple[int, int]:
    pair = (v, v) if np.ndim(v) == 0 else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) for p in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


def geometry(op: str, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> K.Geometry:
    """Validated (stride, per-axis (before, after) padding, dilation)."""
    st, dil = _pair(op, "stride", stride), _pair(op, "dilation", dilation)
    if np.ndim(padding) == 0:
        pads = ((int(padding),) * 2,) * 2
    else:
        p = tuple(padding)
        if len(p) == 2 and all(np.ndim(q) == 0 for q in p):
            pads = ((int(p[0]),) * 2, (int(p[1]),) * 2)
        elif len(p) == 2 and all(np.ndim(q) == 1 and len(q) == 2 for q in p):
            pads = tuple((int(q[0]), int(q[1])) for q in p)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair (ph, pw) or "
                             f"((top, bottom), (left, right)), got {padding!r}")
    if min(st + dil) < 1 or min(pads[0] + pads[1]) < 0:
        raise ValueError(f"{op}: stride {st} and dilation {dil} must be >= 1 and padding "
                         f"{pads} >= 0")
    return K.Geometry(st, pads, dil)  # type: ignore[arg-type]


def _check(op: str, xshape: tuple, wshape: tuple, geo: K.Geometry) -> tuple:
    if len(xshape) != 4 or len(wshape) != 4 or xshape[1] != wshape[1]:
        raise ValueError(f"{op}: input of shape {xshape} does not fit a weight of shape "
                         f"{wshape}: expected input (N, C, H, W) and weight (O, C, kh, kw) "
                         "with the same C")
    out = K.out_shape(xshape, wshape, geo)
    if out[2] < 1 or out[3] < 1:
        raise ValueError(f"{op}: the kernel {wshape[2:]} with dilation {geo.dilation} is "
                         f"larger than the input {xshape[2:]} padded by {geo.padding}; pad "
                         "more or use a smaller kernel")
    return out


def _params(geo: K.Geometry) -> dict:
    return {"stride": geo.stride, "padding": geo.padding, "dilation": geo.dilation}


def _geo(params: dict) -> K.Geometry:
    return K.Geometry(params["stride"], params["padding"], params["dilation"])


def _geo_kw(p: dict) -> dict:
    return {k: p[k] for k in ("stride", "padding", "dilation")}


# ------------------------------------------------------------------ derivative rules
def _conv_x(F: Any, g: Any, y: Any, x: Any, w: Any, b: Any = None, **p: Any) -> Any:
    if F.recording:
        return conv2d_input(g, w, x.shape, **_geo_kw(p))
    return K.input_grad(g, w, x.shape, _geo(p), share=True)


def _conv_w(F: Any, g: Any, y: Any, x: Any, w: Any, b: Any = None, **p: Any) -> Any:
    if F.recording:
        return conv2d_weight(x, g, w.shape, **_geo_kw(p))
    return K.weight_grad(x, g, w.shape, _geo(p), p.get("_rows"))


def _conv_b(F: Any, g: Any, y: Any, x: Any, w: Any, b: Any = None, **p: Any) -> Any:
    return F.sum(g, (0, 2, 3), False)


@defop(_conv_x, _conv_w, _conv_b, sample=lambda d: _conv_sample(d), saves=(0, 1),
       saves_out=False)
def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1,  # noqa: A002
           padding: Any = 0, dilation: Any = 1) -> Tensor:
    """2-d cross-correlation (deep learning's convolution), PyTorch's layout and names.

    input (N, C, H, W), weight (O, C, kh, kw), bias (O,) -> (N, O, H', W') with
    H' = (H + top + bottom - dh (kh - 1) - 1) // sh + 1:
    y[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] x_pad[n, c, i sh + p dh, j sw + q dw].
    One GEMM over the whole batch; dx = conv2d_input(g, w), dw = conv2d_weight(x, g),
    db = g summed over (N, H', W').
    """
    x, w = _pair_tensors(input, weight)
    geo = geometry("conv2d", stride, padding, dilation)
    _check("conv2d", x.shape, w.shape, geo)
    # a weight that will need its gradient keeps forward's relaid-out input (rows layout)
    cache: dict | None = {} if w.requires_grad and is_grad_enabled() else None
    params = _params(geo)
    if bias is None:
        y = K.forward(x.data, w.data, None, geo, cache)
        inputs: tuple = (x, w)
    else:
        b = bias if isinstance(bias, Tensor) else Tensor(const(np.asarray(bias), x.dtype))
        if b.shape != (w.shape[0],):
            raise ValueError(f"conv2d: bias of shape {b.shape} must have shape "
                             f"({w.shape[0]},) (out_channels)")
        y = K.forward(x.data, w.data, b.data, geo, cache)
        inputs = (x, w, b)
    if cache:
        params["_rows"] = cache["rows"]
    return apply(conv2d.op, inputs, y, params)


def _input_g(F: Any, gy: Any, y: Any, g: Any, w: Any, **p: Any) -> Any:
    # conv2d_input is linear in g with adjoint conv2d
    if F.recording:
        return conv2d(gy, w, None, p["stride"], p["padding"], p["dilation"])
    return K.forward(gy, w, None, _geo(p))


def _input_w(F: Any, gy: Any, y: Any, g: Any, w: Any, **p: Any) -> Any:
    # <gy, conv2d_input(g, w)> = <conv2d(gy, w), g>, which is linear in w: its w-gradient
    # is the weight gradient of a convolution of gy
    if F.recording:
        return conv2d_weight(gy, g, w.shape, **_geo_kw(p))
    return K.weight_grad(gy, g, w.shape, _geo(p))


@defop(_input_g, _input_w, sample=lambda d: _derived_sample(d, "input"), saves=(0, 1),
       saves_out=False)
def conv2d_input(grad_output: Any, weight: Any, input_shape: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1) -> Tensor:
    """The gradient of ``conv2d`` with respect to its input, given the output's gradient:
    the transposed convolution, (N, O, H', W') -> ``input_shape`` (N, C, H, W)."""
    g, w = _pair_tensors(grad_output, weight)
    shape = tuple(int(s) for s in input_shape)
    geo = geometry("conv2d_input", stride, padding, dilation)
    if len(shape) != 4 or _check("conv2d_input", shape, w.shape, geo) != g.shape:
        raise ValueError(f"conv2d_input: grad_output of shape {g.shape} is not the output "
                         f"of an input of shape {shape} and a weight of shape {w.shape} "
                         f"with {_params(geo)}")
    return apply(conv2d_input.op, (g, w), K.input_grad(g.data, w.data, shape, geo),
                 {**_params(geo), "shape": shape})


def _weight_x(F: Any, gy: Any, y: Any, x: Any, g: Any, **p: Any) -> Any:
    if F.recording:
        return conv2d_input(g, gy, x.shape, **_geo_kw(p))
    return K.input_grad(g, gy, x.shape, _geo(p))


def _weight_g(F: Any, gy: Any, y: Any, x: Any, g: Any, **p: Any) -> Any:
    if F.recording:
        return conv2d(x, gy, None, p["stride"], p["padding"], p["dilation"])
    return K.forward(x, gy, None, _geo(p))


@defop(_weight_x, _weight_g, sample=lambda d: _derived_sample(d, "weight"), saves=(0, 1),
       saves_out=False)
def conv2d_weight(input: Any, grad_output: Any, weight_shape: Any,  # noqa: A002
                  stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Tensor:
    """The gradient of ``conv2d`` with respect to its weight, given the input and the
    output's gradient: sum over the batch and positions of g x (a weight_shape array)."""
    x, g = _pair_tensors(input, grad_output)
    shape = tuple(int(s) for s in weight_shape)
    geo = geometry("conv2d_weight", stride, padding, dilation)
    if len(shape) != 4 or _check("conv2d_weight", x.shape, shape, geo) != g.shape:
        raise ValueError(f"conv2d_weight: grad_output of shape {g.shape} is not the output "
                         f"of an input of shape {x.shape} and a weight of shape {shape} "
                         f"with {_params(geo)}")
    return apply(conv2d_weight.op, (x, g), K.weight_grad(x.data, g.data, shape, geo),
                 {**_params(geo), "shape": shape})


def _pair_tensors(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a, b
    if isinstance(a, Tensor):
        return a, Tensor(const(b, a.dtype))
    if isinstance(b, Tensor):
        return Tensor(const(a, b.dtype)), b
    return as_tensor(a), as_tensor(b)


# ------------------------------------------------------------------ test inputs
def _conv_case(d: Any) -> tuple[tuple, tuple, dict]:
    """Shapes and geometry: a general kernel, or a one-axis kernel (the rows layout)."""
    n, c, o = d.integers(1, 2), d.integers(1, 2), d.integers(1, 2)
    h, w = d.integers(1, 4), d.integers(1, 4)  # small: second derivatives cost size^2
    stride = (d.integers(1, 2), d.integers(1, 2))
    dilation = (d.integers(1, 2), d.integers(1, 2))
    pads = ((d.integers(0, 2), d.integers(0, 2)), (d.integers(0, 2), d.integers(0, 2)))
    if d.boolean():  # a one-axis kernel at stride 1 (the rows layout), often "same"
        along = d.integers(0, 1)
        size = (h, w)[along]
        k = d.integers(1, size)
        pad = ((k - 1) // 2, k // 2) if d.boolean() else (d.integers(0, 2), d.integers(0, 2))
        stride = (1, 1)
        if along == 0:
            kh, kw, pads, dilation = k, 1, (pad, (0, 0)), (1, dilation[1])
        else:
            kh, kw, pads, dilation = 1, k, ((0, 0), pad), (dilation[0], 1)
    else:
        def fits(k: int, size: int, pad: tuple, dil: int) -> int:
            return max(1, min(k, (size + pad[0] + pad[1] - 1) // dil + 1))
        kh = fits(d.integers(1, 3), h, pads[0], dilation[0])
        kw = fits(d.integers(1, 3), w, pads[1], dilation[1])
    geo = {"stride": stride, "padding": pads, "dilation": dilation}
    return (n, c, h, w), (o, c, kh, kw), geo


def _conv_sample(d: Any) -> tuple[tuple, dict]:
    xs, ws, geo = _conv_case(d)
    args = (d.array(xs), d.array(ws))
    if d.boolean():
        args = args + (d.array((ws[0],)),)
    return args, geo


def _derived_sample(d: Any, which: str) -> tuple[tuple, dict]:
    xs, ws, geo = _conv_case(d)
    ys = K.out_shape(xs, ws, K.Geometry(**geo))
    if which == "input":
        return (d.array(ys), d.array(ws), xs), geo
    return (d.array(xs), d.array(ys), ws), geo

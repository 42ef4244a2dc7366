"""Pictures of autograd graphs for learning backprop.

``draw(t)`` returns a ``graphviz.Digraph`` of the graph that produced ``t``: every tensor
as a box ``name | shape dtype | value | grad`` coloured by kind (parameter, leaf, input,
output, intermediate), every op as a small ellipse numbered with its backward step, the
local derivative on each edge of a scalar graph, nn layers as clusters, and a legend.
It works before backward (values, planned order) and after it (gradients, the order
that ran), without ``retain_graph``.

``backprop_frames(loss)`` steps through the backward pass: one picture per step,
gradients filling in node by node, saved as numbered SVG/PNG files plus one
self-contained HTML page with a slider.

    >>> import autograd as ag
    >>> from autograd import viz
    >>> w = ag.tensor(-3.0, requires_grad=True, name="w")
    >>> y = (w * 2.0).tanh()
    >>> y.backward()
    >>> viz.draw(y, params={"w": w}).save("neuron.svg")     # doctest: +SKIP
    >>> viz.backprop_frames(y).save("frames/")              # doctest: +SKIP

Importing ``autograd.viz`` subscribes it to the engine (``autograd.graph``): from then on
it keeps what pictures show after backward released the graph (small values and
gradients, layer scopes, the skeleton). Import it before building the graph you want to
draw. graphviz is imported only when a picture is made: ``import autograd`` does not
need it.
Without the ``dot`` program the DOT source is still returned (``.source``); saving
raises ``GraphvizNotFoundError`` saying how to install it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..tensor import Tensor
from . import _record  # noqa: F401 - subscribes to the engine: what pictures keep
from ._files import INSTALL_HINT, GraphvizNotFoundError

if TYPE_CHECKING:
    from ._dot import GraphPicture
    from ._frames import Frames

__all__ = ["GraphvizNotFoundError", "INSTALL_HINT", "backprop_frames", "draw"]

MAX_NODES = 150
MAX_VALUES = 16


def _import_graphviz() -> None:
    try:
        import graphviz  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "autograd.viz needs the graphviz Python package: pip install graphviz (and "
            "Graphviz's dot program: apt/brew/conda install graphviz)"
        ) from e


def _roots(tensor: Tensor | Sequence[Tensor], who: str) -> list[Tensor]:
    roots = [tensor] if isinstance(tensor, Tensor) else list(tensor)
    bad = [type(r).__name__ for r in roots if not isinstance(r, Tensor)]
    if bad or not roots:
        raise TypeError(
            f"{who}: expected an autograd Tensor (or a list of them), got "
            f"{bad or 'an empty list'}; pass the tensor whose graph you want to see"
        )
    return roots


def draw(tensor: Tensor | Sequence[Tensor], *, params: Mapping[str, Tensor] | None = None,
         module: Any = None, tensors: Mapping[str, Tensor] | Iterable[Tensor] | None = None,
         collapse: bool | str | Iterable[str] = False, max_nodes: int = MAX_NODES,
         max_values: int = MAX_VALUES, derivatives: bool | None = None,
         show_shape: bool | None = None, legend: bool = True,
         title: str | None = None, style: str = "screen",
         layout: str = "horizontal") -> GraphPicture:
    """The graph that produced ``tensor`` as a ``graphviz.Digraph`` (a ``GraphPicture``).

    Names come from ``params`` (name -> tensor), ``module`` (anything with
    ``named_parameters()``, e.g. an ``nn.Module``: ``layers.0.weight``), ``tensors``
    (intermediate results to name; their values stay visible after backward freed the
    graph) and ``Tensor.name``. Ops recorded inside ``autograd.name_scope`` (nn layers
    enter their attribute names) are drawn as clusters; ``collapse=True`` draws each
    innermost scope (each layer) as one box, ``collapse="layers.*"`` the matching ones.
    Past ``max_nodes`` boxes, scopes are collapsed automatically, then the nodes farthest
    from the output are merged into one box; the title says what was collapsed.

    Values are shown in full up to ``max_values`` elements (else min/mean/max). Gradients
    appear after backward: leaves' ``.grad``, and for intermediate results what the
    pictures kept while watching the engine (arrays of <= 64 values; import ``autograd.viz``
    before building the graph). Op ellipses carry the backward step
    (1 = first). ``derivatives`` (default: on for graphs of scalars while the forward values
    are alive) writes the local derivative on each edge, the factor the chain rule multiplies
    in (lecture eqs. 17-18). ``show_shape`` defaults to hiding shape/dtype when every tensor is
    a float64 scalar. ``style="slide"`` dresses it for a projector (fonts 1.5x, a compact
    legend, PNGs at 200 dpi); ``layout="vertical"`` runs it top to bottom.
    """
    from ._graph import add_local_derivatives, build, named_tensors

    roots = _roots(tensor, "draw()")
    if max_nodes < 2:
        raise ValueError(f"draw(max_nodes={max_nodes}): need room for at least 2 boxes")
    _import_graphviz()
    from . import _collapse
    from ._dot import make_style, render

    dress = make_style(style, layout, "draw()")

    names, param_ids, by_node = named_tensors(params, module, tensors)
    graph = build(roots, names, param_ids, by_node)
    _collapse.collapse_scopes(graph, _collapse.select(graph, collapse))
    _collapse.limit(graph, max_nodes)
    add_local_derivatives(graph, derivatives)
    return render(graph, title=title or _title(graph), max_values=max_values,
                  show_shape=show_shape, legend=legend, style=dress)


def _title(graph: Any) -> str:
    n_ops = sum(v.role == "op" for v in graph.vertices)
    n_ops += sum(m.role == "op" for v in graph.vertices for m in v.members)
    when = {"actual": "after backward", "planned": "before backward"}.get(
        graph.order_kind or "", "")
    return f"cygrad graph: {n_ops} op{'s' * (n_ops != 1)}" + (f", {when}" if when else "")


def backprop_frames(loss: Tensor, gradient: Any = None, **draw_kwargs: Any) -> Frames:
    """The backward pass of ``loss`` as pictures, one per step (one per op).

    Runs the engine's own backward walk on the live graph, watching each step: it neither
    frees the graph nor touches any ``.grad``. Frame k highlights the op processed in step
    k, the edges that carried gradient, and shows every gradient accumulated so far (final
    in red, partial in orange, not yet computed as a grey bar). ``gradient`` seeds a
    non-scalar ``loss`` as in ``backward``. Other keyword arguments go to ``draw``. Returns
    ``Frames``: save with ``.save(directory)`` (numbered SVG or PNG + an HTML page with a
    slider).
    """
    from ._frames import make_frames

    if not isinstance(loss, Tensor):
        _roots(loss, "backprop_frames()")
    _import_graphviz()
    return make_frames(loss, gradient, draw_kwargs)

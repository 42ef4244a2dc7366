"""autograd.viz: pictures rendered with the real `dot`, then read back from the SVG."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import viz
from autograd.viz._record import record_of

graphviz = pytest.importorskip("graphviz")
needs_dot = pytest.mark.skipif(
    subprocess.run(["which", "dot"], capture_output=True).returncode != 0,
    reason="Graphviz's dot is not installed")
SVG = "{http://www.w3.org/2000/svg}"


# -- reading pictures back -------------------------------------------------------------

def parse(svg: str) -> tuple[dict[str, str], dict[tuple[str, str], str], ET.Element]:
    """(node key -> its text, (src, dst) -> edge label text, root) of a graphviz SVG."""
    root = ET.fromstring(svg)
    nodes, edges = {}, {}
    for g in root.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        text = " ".join((t.text or "").replace("\xa0", " ").strip()
                        for t in g.iter(f"{SVG}text"))
        if g.get("class") == "node":
            nodes[title.text] = text
        elif g.get("class") == "edge":
            src, dst = title.text.split("->")
            edges[(src, dst)] = text
    return nodes, edges, root


def steps(nodes: dict[str, str]) -> dict[str, int]:
    return {k: int(m.group(1)) for k, t in nodes.items() if (m := re.search(r"step (\d+)", t))}


def assert_reverse_topological(nodes: dict[str, str], edges: dict) -> None:
    """Every op runs in backward after every op that consumes its output."""
    step = steps(nodes)
    made_by = {dst: src for src, dst in edges if src in step}
    pairs = [(made_by[s], d) for s, d in edges if s in made_by and d in step]
    assert pairs, "graph has no op -> tensor -> op chain to check"
    for producer, consumer in pairs:
        assert step[consumer] < step[producer], (producer, consumer, step)
    assert sorted(step.values()) == list(range(1, len(step) + 1))


def key_of(nodes: dict[str, str], name: str) -> str:
    found = [k for k, t in nodes.items() if t.split(" ")[0] == name]
    assert len(found) == 1, (name, nodes)
    return found[0]


def node_fill(root: ET.Element, key: str) -> set[str]:
    for g in root.iter(f"{SVG}g"):
        t = g.find(f"{SVG}title")
        if g.get("class") == "node" and t is not None and t.text == key:
            return {e.get("fill") for e in g.iter() if e.get("fill") not in (None, "none")}
    raise KeyError(key)


def neuron():
    """o = tanh(x1 w1 + x2 w2 + b), the values of micrograd's walkthrough (o = 1/sqrt 2)."""
    x1, x2 = ag.tensor(2.0, name="x1"), ag.tensor(0.0, name="x2")
    w1 = ag.tensor(-3.0, requires_grad=True, name="w1")
    w2 = ag.tensor(1.0, requires_grad=True, name="w2")
    b = ag.tensor(6.8813735870195432, requires_grad=True, name="b")
    n = x1 * w1 + x2 * w2 + b
    n.name = "n"
    o = n.tanh()
    o.name = "o"
    return o, n, {"w1": w1, "w2": w2, "b": b}


def scoped_mlp(batch: int = 3, hidden: int = 4):
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.normal(size=(batch, 2)), name="x")
    p = {"layers.0.weight": ag.tensor(rng.normal(size=(hidden, 2)), requires_grad=True),
         "layers.0.bias": ag.tensor(np.zeros(hidden), requires_grad=True),
         "layers.2.weight": ag.tensor(rng.normal(size=(2, hidden)), requires_grad=True)}
    with ag.name_scope("layers.0"):
        h = x @ p["layers.0.weight"].T + p["layers.0.bias"]
    with ag.name_scope("layers.1"):
        h = h.relu()
    with ag.name_scope("layers.2"):
        z = h @ p["layers.2.weight"].T
    return ag.cross_entropy(z, np.array([0, 1, 1][:batch])), p


# -- the engine stays light ------------------------------------------------------------

def test_import_autograd_does_not_import_graphviz():
    code = ("import sys, autograd, autograd.viz; "
            "assert 'graphviz' not in sys.modules, 'graphviz imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.getcwd())


# -- a scalar neuron -------------------------------------------------------------------

@needs_dot
def test_neuron_before_backward_values_planned_steps_and_local_derivatives():
    o, n, params = neuron()
    pic = viz.draw(o, params=params)
    assert isinstance(pic, graphviz.Digraph)
    svg = pic.svg()
    nodes, edges, root = parse(svg)
    for name, value in [("x1", "2"), ("w1", "-3"), ("b", "6.881"), ("n", "0.8814"),
                        ("o", "0.7071")]:
        assert f"value {value}" in nodes[key_of(nodes, name)]
    ops = sorted(t.split(" ")[0] for t in nodes.values() if "step" in t)
    assert ops == ["*", "*", "+", "+", "tanh"]
    assert_reverse_topological(nodes, edges)
    assert steps(nodes)[next(k for k, t in nodes.items() if t.startswith("tanh"))] == 1
    # eq. 20: d tanh(n)/dn = 1 - tanh(n)^2 = 1/2 here; d(x1 w1)/dx1 = w1 = -3
    tanh = next(k for k, t in nodes.items() if t.startswith("tanh"))
    assert edges[(key_of(nodes, "n"), tanh)] == "×0.5"
    assert edges[(key_of(nodes, "x1"), next(d for s, d in edges if s == key_of(
        nodes, "x1")))] == "×(-3)"
    assert "5 ops, before backward" in svg and "the order backward() will use" in svg
    assert "— (run backward)" in nodes[key_of(nodes, "w1")]


@needs_dot
def test_neuron_after_backward_shows_gradients_without_retain_graph():
    o, n, params = neuron()
    o.backward()
    assert o.grad_fn.inputs is None  # the graph really was freed
    nodes, edges, _ = parse(viz.draw(o, params=params, tensors=[n]).svg())
    expected = {"w1": 1.0, "w2": 0.0, "b": 0.5, "n": 0.5, "o": 1.0}  # 1 - o^2 = 1/2
    for name, g in expected.items():
        assert re.search(rf"grad {g:g}\b", nodes[key_of(nodes, name)]), (name, nodes)
    assert float(params["w1"].grad) == pytest.approx(1.0)
    assert_reverse_topological(nodes, edges)
    assert "value 0.8814" in nodes[key_of(nodes, "n")]  # kept alive through tensors=
    # x1*w1, x2*w2 and their sum were freed by backward, but the engine keeps small values
    assert not [t for t in nodes.values() if "freed by backward" in t]
    products = [t for t in nodes.values() if re.match(r"value -6\b", t)]
    assert len(products) == 2 and any(re.match(r"value 0\b", t) for t in nodes.values())


@needs_dot
def test_parameters_leaves_inputs_and_output_are_told_apart_by_colour():
    o, n, params = neuron()
    nodes, _, root = parse(viz.draw(o, params={"w1": params["w1"]}).svg())
    fills = {name: node_fill(root, key_of(nodes, name)) for name in ("w1", "w2", "x1", "o")}
    assert len({frozenset(f) for f in fills.values()}) == 4, fills


@needs_dot
@pytest.mark.parametrize("fn, x, slope", [
    (ag.tanh, 0.3, 1 - np.tanh(0.3) ** 2),                                   # eq. 20
    (ag.sigmoid, 0.3, 1 / (1 + np.exp(-0.3)) * (1 - 1 / (1 + np.exp(-0.3)))),  # eq. 21
    (ag.relu, 0.3, 1.0), (ag.relu, -0.3, 0.0),                               # eq. 19
])
def test_edge_shows_the_seeds_activation_derivative(fn, x, slope):
    t = ag.tensor(x, requires_grad=True, name="x")
    nodes, edges, _ = parse(viz.draw(fn(t)).svg())
    (label,) = [lab for (s, _), lab in edges.items() if s == key_of(nodes, "x")]
    assert float(label.lstrip("×").strip("()")) == pytest.approx(slope, rel=1e-3)


# -- arrays, clusters, collapse, limits -----------------------------------------------

@needs_dot
def test_small_arrays_in_full_large_ones_summarised_with_shape_and_dtype():
    a = ag.tensor([[1.5, -2.0], [0.25, 4.0]], requires_grad=True, name="small")
    big = ag.tensor(np.arange(100.0).reshape(10, 10), dtype=np.float32, requires_grad=True,
                    name="big")
    y = (a.sum() + big.mean())
    y.backward()
    nodes, _, _ = parse(viz.draw(y).svg())
    small, large = nodes[key_of(nodes, "small")], nodes[key_of(nodes, "big")]
    assert "(2, 2) float64" in small
    assert re.search(r"value \[\[ 1\.5 +-2\] \[0\.25 +4\]\]", small), small
    assert "grad [[1 1] [1 1]]" in small
    assert "(10, 10) float32" in large and "(100 values)" in large
    assert "min 0" in large and "max 99" in large and "mean 49.5" in large


@needs_dot
def test_layers_are_clusters_and_collapse_to_one_box_each():
    loss, p = scoped_mlp()
    loss.backward()
    pic = viz.draw(loss, params=p)
    nodes, edges, root = parse(pic.svg())
    clusters = {g.findtext(f"{SVG}title") for g in root.iter(f"{SVG}g")
                if g.get("class") == "cluster"}
    assert {"cluster_layers", "cluster_layers.0", "cluster_layers.1",
            "cluster_layers.2"} <= clusters
    assert_reverse_topological(nodes, edges)
    assert "grad" in nodes[key_of(nodes, "layers.0.weight")]

    boxed = viz.draw(loss, params=p, collapse=True)
    nodes, edges, _ = parse(boxed.svg())
    boxes = {t.split(" ")[0]: t for t in nodes.values() if " op" in t and ": " in t}
    assert set(boxes) == {"layers.0", "layers.1", "layers.2"}
    assert "weight (4, 2)" in boxes["layers.0"] and "bias (4,)" in boxes["layers.0"]
    assert "1 op: relu" in boxes["layers.1"]
    assert "layers.0 (3 ops)" in boxed.summary and "layers.1 (1 op)" in boxed.summary
    assert not any("layers.0.weight" in t for t in nodes.values())  # absorbed in its box
    assert key_of(nodes, "x")  # the data input stays outside


def test_collapse_pattern_that_matches_nothing_names_the_scopes():
    loss, p = scoped_mlp()
    with pytest.raises(ValueError, match=r"layers\.0.*layers\.1"):
        viz.draw(loss, collapse="encoder.*")
    assert "cluster_layers.2" not in viz.draw(loss, collapse="layers.2").source


def test_node_limit_keeps_the_output_side_and_says_what_was_left_out():
    x = ag.tensor(0.5, requires_grad=True, name="x")
    y = x
    for _ in range(3000):  # deep enough that recursion over the graph would fail
        y = y * 1.0001
    pic = viz.draw(y, max_nodes=40)
    drawn_ops = pic.source.count("shape=ellipse")
    drawn = len(re.findall(r"shape=(?:plain|plaintext|ellipse)\b", pic.source))
    assert drawn == 39  # and one box for the rest
    dropped, dropped_ops = map(int, re.search(
        r"(\d+) more nodes \((\d+) ops\) not drawn", pic.source).groups())
    assert dropped + drawn == 1 + 3 * 3000  # x, and per op: ellipse, result, constant
    assert dropped_ops + drawn_ops == 3000
    assert "max_nodes=40" in pic.summary
    assert 'label=<<B>*</B><BR/><FONT POINT-SIZE="9" COLOR="#c1121f">step 1</FONT>>' \
        in pic.source  # the op nearest the output is kept, numbered first


def test_scopes_are_collapsed_before_nodes_are_dropped():
    loss, p = scoped_mlp()
    pic = viz.draw(loss, params=p, max_nodes=12)
    assert "automatically" in pic.summary and "not drawn" not in pic.source


# -- frames ----------------------------------------------------------------------------

@needs_dot
def test_frames_one_per_backward_step_filling_in_with_a_stable_layout(tmp_path):
    o, n, params = neuron()
    frames = viz.backprop_frames(o, params=params)
    assert len(frames) == len(ag.topological_order([o])) + 1 == 6  # and step 0
    parsed = [parse(svg) for svg in frames.svgs()]
    pending_cells = []
    for k, (nodes, edges, root) in enumerate(parsed):
        now = [key for key in nodes if viz_colour("OP_NOW") in node_fill(root, key)]
        assert now == [key for key, s in steps(nodes).items() if s == k]  # none in step 0
        pending_cells.append(sum(viz_colour("PENDING") in node_fill(root, key)
                                 for key in nodes if key.startswith(("t", "leaf"))))
        assert_reverse_topological(nodes, edges)
    assert pending_cells == sorted(pending_cells, reverse=True) and pending_cells[-1] == 0
    assert pending_cells[0] == 8  # step 0: every grad cell of the 8 tensors that get one
    positions = [node_positions(root) for _, _, root in parsed]
    assert all(p == positions[0] for p in positions)
    last = parsed[-1][0]
    for name, g in {"w1": 1.0, "w2": 0.0, "b": 0.5}.items():
        assert re.search(rf"grad {g:g}\b", last[key_of(last, name)])


@needs_dot
def test_frame_captions_show_step_0_and_each_steps_arithmetic():
    o, n, params = neuron()
    captions = viz.backprop_frames(o, params=params).captions
    assert captions[0].startswith("step 0 of 5: nothing computed yet. backward() starts at "
                                  "the output o with the gradient 1 (do/do)")
    assert captions[1] == "step 1 of 5: 'tanh' receives o.grad = 1; n.grad += 1 × 0.5 = 0.5"
    assert captions[5].endswith("w1.grad += 0.5 × 2 = 1")
    a = ag.tensor(3.0, requires_grad=True, name="a")
    shares = viz.backprop_frames(a * a + a).captions[2]
    assert shares.endswith("a.grad += 1 × 3 = 3, now 4; a.grad += 1 × 3 = 3, now 7")
    loss, p = scoped_mlp()
    big = viz.backprop_frames(loss, params=p).captions
    assert "layers.0.weight.grad += grad × local derivative (shape (4, 2))" in big[-1]


def viz_colour(name: str) -> str:
    from autograd.viz import _dot
    return getattr(_dot, name).lower()


def node_positions(root: ET.Element) -> dict[str, str]:
    out = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node":
            shape = next(e for e in g.iter() if e.tag in (f"{SVG}polygon", f"{SVG}ellipse"))
            geometry = {k: v for k, v in shape.attrib.items() if k not in ("fill", "stroke")}
            out[g.findtext(f"{SVG}title")] = str(sorted(geometry.items()))
    return out


@needs_dot
def test_frames_saved_as_numbered_svgs_and_one_offline_html_page(tmp_path):
    o, n, params = neuron()
    paths = viz.backprop_frames(o).save(tmp_path / "f")
    names = {p.name for p in (tmp_path / "f").iterdir()}
    assert names == {f"step_00{i}.svg" for i in range(6)} | {"backprop.html"}
    assert paths[-1].name == "backprop.html"
    page = paths[-1].read_text()
    assert page.count("<svg") == 6 and 'type="range"' in page and 'max="5"' in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<?xml" not in page
    png = viz.backprop_frames(o).save(tmp_path / "p", format="png", html_page=False)
    assert len(png) == 6 and png[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_frames_leave_the_graph_and_grads_untouched():
    o, n, params = neuron()
    viz.backprop_frames(o)
    assert all(p.grad is None for p in params.values())
    assert o.grad_fn.inputs is not None and record_of(o.grad_fn).step is None
    o.backward()  # still possible: nothing was freed
    assert float(params["b"].grad) == pytest.approx(0.5)
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        viz.backprop_frames(o)


@st.composite
def scalar_programs(draw):
    """A random DAG of scalar ops over three leaves, each op reading earlier results."""
    unary = [ag.tanh, ag.sigmoid, ag.exp, lambda t: t * t, lambda t: 2.0 * t]
    binary = [ag.add, ag.mul, ag.sub]
    program = []
    for i in range(draw(st.integers(1, 7))):
        if draw(st.booleans()):
            program.append((draw(st.sampled_from(unary)), draw(st.integers(0, 2 + i))))
        else:
            program.append((draw(st.sampled_from(binary)), draw(st.integers(0, 2 + i)),
                            draw(st.integers(0, 2 + i))))
    values = draw(st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3))
    return program, values


def run_program(program, values):
    leaves = [ag.tensor(v, requires_grad=True, name=f"p{i}") for i, v in enumerate(values)]
    results = list(leaves)
    for fn, *args in program:
        results.append(fn(*(results[a] for a in args)))
    out = results[-1]
    return (out if out.grad_fn is not None else out * 1.0), leaves


@settings(max_examples=15)
@given(scalar_programs())
def test_frames_end_with_the_gradients_backward_computes(prog):
    out, leaves = run_program(*prog)
    frames = viz.backprop_frames(out)
    assert len(frames) == len(ag.topological_order([out])) + 1
    from autograd.viz import _format
    used = [p for p in leaves if f'<B>{p.name}</B>' in frames[-1].source]
    expected = ag.grad(out, used, retain_graph=True) if used else ()
    last = frames[-1].source
    for p, g in zip(used, expected):
        cell = re.search(rf"<B>{p.name}</B>.*?grad</FONT><BR/><FONT[^>]*>([^<]*)<", last)
        assert cell.group(1).replace("\xa0", " ").strip() == _format.number(g.data)
    # every caption's arithmetic is right: grad × local derivative = what the input gets
    number = r"(-?[\d.]+(?:e[-+]?\d+)?|-?inf|nan)"
    shares = [m for c in frames.captions[1:]
              for m in re.findall(rf"{number} × \(?{number}\)? = {number}", c)]
    assert len(shares) == sum(len(re.findall(r"\.grad \+=", c)) for c in frames.captions)
    for g, d, gi in shares:
        assert float(gi) == pytest.approx(float(g) * float(d), rel=2e-3, abs=1e-12)
    out.backward()
    nodes_after = viz.draw(out)
    # the engine's order after backward is a valid reverse topological order
    assert nodes_after.order_kind == "actual"


def edge_labels(pic) -> dict[tuple[str, str], str]:
    return dict(((m.group(1), m.group(2)), m.group(3)) for m in re.finditer(
        r'^\s*(\S+) -> (\S+) \[[^\]]*label="(×[^"]*)"', pic.source, re.M))


@settings(max_examples=15)
@given(scalar_programs())
def test_local_derivatives_survive_a_plain_backward(prog):
    out, leaves = run_program(*prog)
    before = edge_labels(viz.draw(out))
    out.backward()  # frees the graph; the pictures' record keeps what each input got
    after = viz.draw(out)
    kept = edge_labels(after)
    assert kept.items() <= before.items()
    lost = before.keys() - kept.keys()
    if lost:  # said why: a zero gradient arrived, or the input needed none
        assert "show no ×d" in after.source


def test_after_backward_the_picture_says_which_derivatives_it_cannot_show():
    o, n, params = neuron()
    before = edge_labels(viz.draw(o, params=params))
    o.backward()
    after = viz.draw(o, params=params)
    kept = edge_labels(after)
    assert kept.items() <= before.items() and len(before) - len(kept) == 2  # x1, x2 edges
    assert "inputs that need no gradient (data, constants) show no ×d" in after.source
    w = ag.tensor(-1.0, requires_grad=True, name="w")
    h = (w * 3.0).relu()
    h.backward()  # relu sends 0 back: the '*' op's factor 3 cannot be read off
    assert "got gradient 0 show no ×d" in viz.draw(h).source


# -- without dot, in Jupyter, and bad input --------------------------------------------

def test_without_dot_the_source_is_returned_and_saving_says_how_to_install(
        tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    o, n, params = neuron()
    pic = viz.draw(o, params=params)
    assert "tanh" in pic.source and "w1" in pic.source
    for path in (tmp_path / "a.svg", tmp_path / "a.png"):
        with pytest.raises(viz.GraphvizNotFoundError) as e:
            pic.save(path)
        msg = str(e.value)
        assert "\n" not in msg and all(w in msg for w in ("apt", "brew", "conda"))
        assert not path.exists()
    assert pic.save(tmp_path / "a.dot").read_text() == pic.source
    bundle = pic._repr_mimebundle_()
    assert set(bundle) == {"text/plain"} and "brew" in bundle["text/plain"]
    with pytest.raises(viz.GraphvizNotFoundError):
        viz.backprop_frames(o).save(tmp_path / "frames")


@needs_dot
def test_jupyter_reprs_are_svg():
    o, _, _ = neuron()
    pic = viz.draw(o)
    assert "<svg" in pic._repr_mimebundle_()["image/svg+xml"]
    assert "<svg" in pic._repr_svg_()
    assert 'type="range"' in viz.backprop_frames(o)._repr_html_()


def test_bad_input_errors_say_what_to_do():
    with pytest.raises(TypeError, match="expected an autograd Tensor"):
        viz.draw(np.ones(3))
    o, _, _ = neuron()
    with pytest.raises(TypeError, match="named_parameters"):
        viz.draw(o, module=object())
    with pytest.raises(TypeError, match="not an autograd Tensor"):
        viz.draw(o, params={"w": np.ones(2)})
    with pytest.raises(ValueError, match="leaf tensor"):
        viz.backprop_frames(ag.tensor(1.0, requires_grad=True))
    v = ag.tensor([1.0, 2.0], requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"shape \(2,\).*gradient="):
        viz.backprop_frames(v)
    assert len(viz.backprop_frames(v, gradient=np.ones(2))) == 2
    with pytest.raises(TypeError, match="unknown keyword"):
        viz.backprop_frames(o, colour=True)


def test_a_leaf_alone_draws_as_one_box():
    t = ag.tensor([1.0, 2.0], name="lonely")
    pic = viz.draw(t)
    assert pic.source.count("shape=plain") == 1 and "lonely" in pic.source


# -- dress: slide style, vertical layout, legend text ----------------------------------

@needs_dot
def test_no_text_of_a_picture_starts_or_ends_with_a_space_browsers_would_drop():
    # "grad in red" is two font runs, two SVG <text> elements; a browser drops a plain
    # space at either edge of one ("gradin red"); a no-break space survives.
    loss, p = scoped_mlp()
    loss.backward()
    for pic in (viz.draw(loss, params=p, collapse=True), viz.backprop_frames(neuron()[0])[0]):
        root = ET.fromstring(pic.svg())
        texts = [t.text for t in root.iter(f"{SVG}text") if t.text]
        assert any(t.startswith("\xa0in red") for t in texts)
        assert not [t for t in texts if t != t.strip(" ")]


@needs_dot
def test_legend_says_a_collapsed_layers_grad_is_a_norm():
    loss, p = scoped_mlp()
    loss.backward()
    text = " ".join(parse(viz.draw(loss, params=p, collapse=True).svg())[2].itertext())
    assert "|grad|" in text and "norm" in text.replace("\xa0", " ")
    assert "norm" not in viz.draw(loss, params=p).source  # nothing collapsed, no note


def _sizes(source: str) -> list[float]:
    return [float(x) for x in re.findall(r'(?:fontsize|POINT-SIZE)="?([\d.]+)', source)]


def test_slide_style_has_larger_fonts_a_compact_legend_and_high_dpi():
    o, _, params = neuron()
    screen = viz.draw(o, params=params)
    slide = viz.draw(o, params=params, style="slide")
    assert min(_sizes(slide.source)) == 1.5 * min(_sizes(screen.source))
    assert "dpi=200" in slide.source and "dpi" not in screen.source
    assert "legend" in screen.source and "legend" not in slide.source  # no header row
    assert len(slide.source) < len(screen.source)
    assert "rankdir=LR" in slide.source
    tall = viz.draw(o, style="slide", layout="vertical")
    assert "rankdir=TB" in tall.source
    frames = viz.backprop_frames(o, style="slide", layout="vertical")
    assert all("rankdir=TB" in f.source and "dpi=200" in f.source for f in frames)
    with pytest.raises(ValueError, match=r"style='poster'.*'screen', 'slide'"):
        viz.draw(o, style="poster")
    with pytest.raises(ValueError, match="layout='up'.*'vertical'"):
        viz.backprop_frames(o, layout="up")


@needs_dot
def test_slide_png_is_rendered_at_high_dpi(tmp_path):
    import struct
    o, _, _ = neuron()

    def width(path) -> int:
        return struct.unpack(">I", path.read_bytes()[16:20])[0]

    ratio = width(viz.draw(o, style="slide").save(tmp_path / "slide.png")) / width(
        viz.draw(o).save(tmp_path / "screen.png"))
    assert ratio > 2.5  # 200/72 dpi at 1.5x fonts, against 72 dpi


@needs_dot
def test_pictures_keep_copies_and_survive_an_in_place_change():
    x = ag.tensor(0.5, requires_grad=True, name="x")
    y = x * 3.0
    z = (y * y).sum()
    z.backward(retain_graph=True)
    recorded = record_of(y.grad_fn).grad.copy()
    x.grad.zero_()  # the gradient the engine sent is not the one the picture keeps
    np.testing.assert_array_equal(record_of(y.grad_fn).grad, recorded)
    with ag.no_grad():
        y += 1.0  # a value mul saved changed: the picture still draws, without factors
    svg = viz.draw(z).svg()
    assert "svg" in svg

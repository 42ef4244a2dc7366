"""The stepper that shows ``backprop_frames``: one frame at a time, a slider, buttons, keys.

Each widget is self-contained, so two in one notebook never touch each other: its script
finds its own root by an id made fresh for every rendering and looks only inside it; its
key listener sits on that root (click a widget, then the arrow keys step it), and a key
it handles goes no further (not to the slider's own arrow-key step, which would make two
steps, nor to Jupyter's shortcuts).

Without scripts (an untrusted notebook, a notebook viewer) the page must still make
sense: what shows then is the first frame as an image and a note saying how to step.
Every frame's SVG waits in a ``<script type="text/x-cygrad-svg">`` element, which
browsers neither run nor render, and which notebook sanitizers (JupyterLab's drops
scripts with their content; it keeps images, not inline SVG) remove whole, so no frame's
text leaks onto the page; the widget's script turns them into inline SVG figures (inline
for the tooltips that show a node's full value).
"""

from __future__ import annotations

import base64
import html
import re
import uuid
from collections.abc import Sequence

_ID = re.compile(r'\b(id|href|xlink:href)="(#?)([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")


def inline_svg(svg: str, prefix: str) -> str:
    """SVG file text -> an element to embed in HTML: no XML prolog, doctype or comments,
    and every id (graphviz writes ``node1``, ``edge2`` ... in each picture) prefixed so
    the ids of many pictures in one page stay unique."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S).strip()

    def ref(m: re.Match) -> str:
        attr, hash_, value = m.groups()
        if attr == "id" or hash_:
            return f'{attr}="{hash_}{prefix}{value}"'
        return m.group(0)  # a link to elsewhere

    svg = _ID.sub(ref, svg)
    return _URL.sub(lambda m: f"url(#{prefix}{m.group(1)})", svg)


def _script_data(svg: str) -> str:
    # Only "</script" could end the element early; in SVG text it can only be characters
    # of a label, which XML lets us write as an entity.
    return re.sub(r"</(script)", r"&lt;/\1", svg, flags=re.I)


def fragment(svgs: Sequence[str], captions: Sequence[str], title: str) -> str:
    """The widget as an HTML fragment (for a notebook's output or inside a page); frame
    ``k`` is backward step ``k``, frame 0 the state before the first."""
    uid = "cygrad-frames-" + uuid.uuid4().hex[:12]
    n = len(svgs)
    still = base64.b64encode(svgs[0].encode("utf-8")).decode("ascii")
    parts = [
        f'<div class="cygrad-frames" id="{uid}" tabindex="0" data-steps="{n}" '
        f'aria-label="{html.escape(title, quote=True)}: backward pass, step by step">',
        _STYLE.replace("#ROOT", f"#{uid}"),
        '<div class="cg-controls">',
        '<button type="button" class="cg-prev" title="previous step (left arrow)" '
        'disabled>&#9664;</button>',
        f'<input class="cg-slider" type="range" min="0" max="{n - 1}" value="0" '
        'aria-label="backward step" disabled>',
        '<button type="button" class="cg-next" title="next step (right arrow)" '
        'disabled>&#9654;</button>',
        f'<span class="cg-counter">step 0 of {n - 1}</span>',
        f'<div class="cg-caption">{html.escape(captions[0])}</div>',
        "</div>",
        f'<p class="cg-note">Showing step 0 of {n - 1}: scripts are off here (an untrusted '
        "notebook or a notebook viewer). Trust the notebook (Jupyter: File &gt; Trust "
        "Notebook) and run the cell again, or save the frames with "
        "<code>frames.save(folder)</code> and open <code>backprop.html</code>, to step "
        "through all of them.</p>" if n > 1 else "",
        '<div class="cg-stage">',
        f'<img class="cg-frame cg-still" alt="{html.escape(captions[0], quote=True)}" '
        f'src="data:image/svg+xml;base64,{still}">',
        "</div>",
    ]
    parts += [f'<script type="text/x-cygrad-svg" data-caption="{html.escape(c, quote=True)}">'
              f"{_script_data(inline_svg(svg, f'{uid}-{k}-'))}</script>"
              for k, (svg, c) in enumerate(zip(svgs, captions))]
    parts += [f"<script>{_SCRIPT.replace('ROOT_ID', uid)}</script>", "</div>"]
    return "\n".join(p for p in parts if p)


def page(svgs: Sequence[str], captions: Sequence[str], title: str) -> str:
    """One self-contained HTML page around the widget: no network, no external files."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title>\n"
            "<style>body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; }"
            "</style></head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n{fragment(svgs, captions, title)}\n"
            "</body></html>\n")


# Scoped to this widget's id (#ROOT is replaced), so nothing leaks into the notebook.
_STYLE = """<style>
#ROOT { font-family: Helvetica, Arial, sans-serif; outline: none; }
#ROOT:focus-visible, #ROOT:focus-within { box-shadow: 0 0 0 2px #9ecbff; }
#ROOT .cg-controls { position: sticky; top: 0; background: #fff; padding: .4em 0;
  z-index: 1; }
#ROOT .cg-slider { width: 32em; max-width: 70%; vertical-align: middle; }
#ROOT .cg-counter { margin-left: .5em; color: #333; }
#ROOT .cg-caption { margin: .3em 0; color: #c1121f; }
#ROOT .cg-note { color: #555; font-style: italic; }
#ROOT .cg-frame { margin: 0; }
#ROOT .cg-frame svg, #ROOT img.cg-still { max-width: 100%; height: auto; }
</style>"""

# ES5 without document-wide lookups: everything is found inside the root.
_SCRIPT = """
(function () {
  var root = document.getElementById("ROOT_ID");
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var stage = root.querySelector(".cg-stage");
  var frames = [];
  var stored = root.querySelectorAll('script[type="text/x-cygrad-svg"]');
  for (var k = 0; k < stored.length; k++) {
    var fig = document.createElement("figure");
    fig.className = "cg-frame";
    fig.setAttribute("data-caption", stored[k].getAttribute("data-caption"));
    fig.innerHTML = stored[k].textContent;
    fig.style.display = "none";
    stage.appendChild(fig);
    frames.push(fig);
  }
  var still = stage.querySelector("img.cg-still");
  if (still) stage.removeChild(still);
  var slider = root.querySelector(".cg-slider");
  var prev = root.querySelector(".cg-prev"), next = root.querySelector(".cg-next");
  var counter = root.querySelector(".cg-counter");
  var caption = root.querySelector(".cg-caption");
  var note = root.querySelector(".cg-note");
  if (note) note.parentNode.removeChild(note);
  var now = 0;
  function show(i) {
    i = Math.max(0, Math.min(frames.length - 1, i));
    frames[now].style.display = "none";
    frames[i].style.display = "";
    now = i;
    slider.value = i;
    counter.textContent = "step " + i + " of " + (frames.length - 1);
    caption.textContent = frames[i].getAttribute("data-caption");
    root.setAttribute("data-frame", i);
  }
  slider.disabled = prev.disabled = next.disabled = false;
  slider.addEventListener("input", function () { show(+slider.value); });
  prev.addEventListener("click", function () { show(now - 1); });
  next.addEventListener("click", function () { show(now + 1); });
  root.addEventListener("keydown", function (e) {
    var to = {ArrowLeft: now - 1, ArrowRight: now + 1, ArrowUp: now - 1,
              ArrowDown: now + 1, Home: 0, End: frames.length - 1}[e.key];
    if (to === undefined) return;
    e.preventDefault();  // the slider would step by itself as well
    e.stopPropagation();  // and Jupyter would move to another cell
    show(to);
  });
  root.addEventListener("mousedown", function (e) {
    var t = e.target;
    if (!(t.closest && t.closest("button, input"))) root.focus();
  });
  show(0);
})();
"""

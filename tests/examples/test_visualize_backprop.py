"""examples/visualize_backprop.py: a tiny run writes every picture, readable as SVG."""

from __future__ import annotations

import runpy
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("graphviz")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "visualize_backprop.py"
HAS_DOT = subprocess.run(["which", "dot"], capture_output=True).returncode == 0
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def ex():
    return runpy.run_path(str(EXAMPLE))  # examples/ is not a package


def texts(path: Path) -> str:
    return " ".join((t.text or "").replace("\xa0", " ")
                    for t in ET.parse(path).getroot().iter(f"{SVG}text"))


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_tiny_run_writes_the_neuron_the_classifier_and_the_frames(ex, tmp_path, capsys):
    assert ex["main"](["--out", str(tmp_path), "--no-png", "--batch", "2"]) == 0
    printed = capsys.readouterr().out
    assert str(tmp_path.resolve()) in printed
    for name in ("neuron_forward.svg", "neuron_backward.svg", "classifier.svg",
                 "classifier_clusters.svg", "frames/backprop.html"):
        assert (tmp_path / name).is_file() and name in printed
    assert not list(tmp_path.glob("*.png"))
    after = texts(tmp_path / "neuron_backward.svg")
    assert "w1" in after and "grad 1" in after and "grad 0.5" in after  # d o/d w1 = x1 (1-o^2)
    assert "step 5" in texts(tmp_path / "neuron_forward.svg")
    layers = texts(tmp_path / "classifier.svg")
    for box in ("layers.0", "layers.1", "layers.2", "weight (64, 2)", "weight (2, 64)"):
        assert box in layers
    assert "cross_entropy" in layers
    frames = sorted((tmp_path / "frames").glob("step_*.svg"))
    assert len(frames) == 6  # step 0, then the neuron's five ops, one backward step each
    assert (tmp_path / "frames/backprop.html").read_text().count("<svg") == 6


def test_without_dot_it_writes_dot_sources_and_says_how_to_install(ex, tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert ex["main"](["--out", str(tmp_path / "o"), "--batch", "2"]) == 0
    written = {p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*")
               if p.is_file()}
    assert {"neuron_forward.dot", "classifier.dot", "frames/step_000.dot",
            "frames/step_005.dot"} <= written
    assert not any(w.endswith((".svg", ".png")) for w in written)
    assert "apt install graphviz" in capsys.readouterr().err


def test_help_describes_the_options():
    out = subprocess.run([sys.executable, str(EXAMPLE), "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--out" in out and "2-64-2" in out and "--no-png" in out


def test_bad_batch_is_refused_with_the_reason(ex, tmp_path):
    with pytest.raises(SystemExit) as e:
        ex["main"](["--out", str(tmp_path), "--batch", "0"])
    assert e.value.code == 2

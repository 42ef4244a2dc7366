"""physics imports numpy alone, so it carries a copy of autograd/io.py; the copy must not
drift from the original."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_physics_io_is_a_verbatim_copy_of_autograd_io():
    original = (ROOT / "autograd" / "io.py").read_text()
    assert (ROOT / "physics" / "_io.py").read_text() == original, (
        "physics/_io.py differs from autograd/io.py: copy the file over after editing it")

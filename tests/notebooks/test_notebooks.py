"""The course notebooks (examples/notebooks): stored clean, run top to bottom in a real
Jupyter kernel (nbclient + ipykernel), and their widgets work in a browser.

Each notebook's hidden solution cells call their check with ``solution=True``, which
raises on a wrong answer, so a run that finishes proves every solution right.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "examples" / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"course\.(check_\w+)\(")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def test_the_course_has_its_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{k:02d}" for k in range(1, len(NOTEBOOKS) + 1)]
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_valid_without_outputs_with_a_solution_for_every_exercise(path):
    nb = read(path)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for c in code:
        assert c.outputs == [] and c.execution_count is None, "clear outputs before committing"
    solutions = [c for c in code if "solution" in c.metadata.get("tags", [])]
    exercises = [c for c in code if c not in solutions and CHECK_CALL.search(c.source)]
    assert exercises, "every notebook has exercises"
    checked = {m for c in exercises for m in CHECK_CALL.findall(c.source)}
    solved = {m for c in solutions for m in CHECK_CALL.findall(c.source)}
    assert checked == solved, "each exercise's check runs again in a hidden solution cell"
    for c in solutions:
        assert c.metadata.get("jupyter", {}).get("source_hidden") is True
        assert c.source.count("solution=True") == len(CHECK_CALL.findall(c.source))
    assert nb.metadata["kernelspec"]["name"] == "python3"


def execute(path: Path):
    """Run a notebook in a fresh kernel with the notebook's folder as working directory;
    returns it with its outputs, and the seconds it took."""
    pytest.importorskip("ipykernel")
    nbclient = pytest.importorskip("nbclient")
    nb = read(path)
    started = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    return nb, time.perf_counter() - started


@pytest.fixture(scope="session")
def executed() -> dict:
    """Notebooks run once per session, shared by the run test and the browser test."""
    return {}


def run_once(executed: dict, path: Path):
    if path not in executed:
        executed[path] = execute(path)
    return executed[path]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_with_every_solution_right(path, executed):
    nb, seconds = run_once(executed, path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    verdicts = [o.data["text/plain"] for o in outputs
                if o.output_type == "execute_result" and "text/plain" in o.data
                and o.data["text/plain"].startswith(("✔", "✘", "…"))]
    verdicts += [line for o in outputs if o.output_type == "stream"
                 for line in o.text.splitlines() if line.startswith(("✔", "✘"))]
    assert verdicts and not [v for v in verdicts if v.startswith("✘")]
    assert seconds < 60, f"{path.name} took {seconds:.0f} s; a notebook must run in a minute"


def test_neuron_notebook_widgets_work_in_a_browser(executed, browser, tmp_path):
    """Notebook 1 rendered to HTML (nbconvert) holds two steppers; each shows one frame,
    and a click or an arrow key moves exactly that one by exactly one step."""
    nbconvert = pytest.importorskip("nbconvert")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    nb, _ = run_once(executed, NOTEBOOK_DIR / "01_neuron.ipynb")
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    page = tmp_path / "01_neuron.html"
    page.write_text(body, encoding="utf-8")
    browser.get(page.as_uri())
    state = """return Array.prototype.map.call(document.querySelectorAll('.cygrad-frames'),
      function (r) { return [+r.getAttribute('data-frame'),
        Array.prototype.filter.call(r.querySelectorAll('figure.cg-frame'),
          function (f) { return f.getClientRects().length > 0; }).length]; });"""
    assert browser.execute_script(state) == [[0, 1], [0, 1]]
    first, second = browser.find_elements(By.CSS_SELECTOR, ".cygrad-frames")
    browser.execute_script("arguments[0].scrollIntoView();", second)
    second.find_element(By.CSS_SELECTOR, ".cg-next").click()
    assert browser.execute_script(state) == [[0, 1], [1, 1]]
    browser.execute_script("arguments[0].scrollIntoView();", first)
    first.find_element(By.CSS_SELECTOR, ".cg-next").click()
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    assert browser.execute_script(state) == [[2, 1], [1, 1]]
    shot = tmp_path / "notebook.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

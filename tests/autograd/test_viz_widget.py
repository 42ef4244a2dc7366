"""The backprop stepper (``Frames.html()``, ``Frames._repr_html_``): its markup, and its
behaviour in a real browser (headless Chromium; skipped cleanly when there is none)."""

from __future__ import annotations

import html
import re
import shutil

import pytest

import autograd as ag
from autograd import viz

pytest.importorskip("graphviz")
pytestmark = pytest.mark.skipif(shutil.which("dot") is None,
                                reason="Graphviz's dot is not installed")

# Each widget on the page: [frame shown (data-frame), frames displayed, counter text].
STATE_JS = """
return Array.prototype.map.call(document.querySelectorAll('.cygrad-frames'), function (r) {
  var shown = Array.prototype.filter.call(r.querySelectorAll('figure.cg-frame'),
      function (f) { return f.getClientRects().length > 0; });
  return [r.getAttribute('data-frame'), shown.length,
          r.querySelector('.cg-counter').textContent];
});"""


def neuron_frames():
    x1, x2 = ag.tensor(2.0, name="x1"), ag.tensor(0.0, name="x2")
    w1 = ag.tensor(-3.0, requires_grad=True, name="w1")
    w2 = ag.tensor(1.0, requires_grad=True, name="w2")
    b = ag.tensor(6.8813735870195432, requires_grad=True, name="b")
    return viz.backprop_frames((x1 * w1 + x2 * w2 + b).tanh())


def reuse_frames():
    a = ag.tensor(3.0, requires_grad=True, name="a")
    return viz.backprop_frames(a * a + a)


def test_each_rendering_is_self_contained():
    frames = neuron_frames()
    one, two = frames._repr_html_(), frames._repr_html_()
    ids = re.findall(r'\bid="([^"]+)"', one + two)
    assert len(ids) == len(set(ids)) > 2 * len(frames)  # svg ids too: never shared
    for part in (one, two):
        script = part[part.index("<script>"):]
        for page_wide in ("document.querySelector", "document.addEventListener",
                          "window.addEventListener", "document.onkeydown"):
            assert page_wide not in script
        outside = re.sub(r"<script.*?</script>", "", part, flags=re.S)
        # what shows without scripts: the first frame as an image, and a note
        assert outside.count("<img") == 1 and "data:image/svg+xml;base64," in outside
        assert "<svg" not in outside and "scripts are off" in outside
        assert part.count('<script type="text/x-cygrad-svg"') == len(frames)
    assert "<html" not in one and "<body" not in one  # a fragment for the notebook
    page = frames.html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == len(frames)


@pytest.fixture
def open_page(browser, tmp_path):
    def go(name: str, body: str) -> None:
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        browser.get(path.as_uri())
    return go


def test_standalone_page_shows_one_frame_and_steps_one_at_a_time(browser, open_page,
                                                                  tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    frames = neuron_frames()
    open_page("backprop.html", frames.html())
    state = lambda: browser.execute_script(STATE_JS)[0]  # noqa: E731
    assert state() == ["0", 1, f"step 0 of {len(frames) - 1}"]
    assert not browser.find_elements(By.CSS_SELECTOR, ".cg-note")  # scripts ran
    browser.find_element(By.CSS_SELECTOR, ".cg-next").click()
    assert state()[:2] == ["1", 1]
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)  # after the click
    assert state()[:2] == ["2", 1]
    slider = browser.find_element(By.CSS_SELECTOR, ".cg-slider")
    slider.click()  # jumps to where it was clicked: the middle
    at = int(state()[0])
    slider.send_keys(Keys.ARROW_RIGHT)  # one step, not the slider's own step as well
    assert state()[:2] == [str(at + 1), 1]
    slider.send_keys(Keys.ARROW_LEFT)
    assert state()[:2] == [str(at), 1]
    slider.send_keys(Keys.END)
    last = len(frames) - 1
    assert state() == [str(last), 1, f"step {last} of {last}"]
    shot = tmp_path / "standalone.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_two_widgets_on_one_page_step_independently(browser, open_page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    a, b = neuron_frames(), reuse_frames()
    open_page("two.html", "<!DOCTYPE html><html><body>" + a._repr_html_()
              + "<p>between the widgets</p>" + b._repr_html_() + "</body></html>")
    assert browser.execute_script(STATE_JS) == [["0", 1, f"step 0 of {len(a) - 1}"],
                                                ["0", 1, f"step 0 of {len(b) - 1}"]]
    first, second = browser.find_elements(By.CSS_SELECTOR, ".cygrad-frames")
    second.find_element(By.CSS_SELECTOR, ".cg-next").click()
    assert browser.execute_script(STATE_JS) == [["0", 1, f"step 0 of {len(a) - 1}"],
                                                ["1", 1, f"step 1 of {len(b) - 1}"]]
    first.find_element(By.CSS_SELECTOR, "svg").click()  # click the picture, then a key
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    assert [s[:2] for s in browser.execute_script(STATE_JS)] == [["1", 1], ["1", 1]]
    assert browser.save_screenshot(str(tmp_path / "two_widgets.png"))


def test_without_scripts_one_frame_and_a_note(browser, open_page):
    from selenium.webdriver.common.by import By

    frames = neuron_frames()
    # A sandboxed iframe runs no scripts, as an untrusted notebook's output does not.
    open_page("untrusted.html", '<!DOCTYPE html><html><body><iframe sandbox width="1200" '
              f'height="800" srcdoc="{html.escape(frames._repr_html_(), quote=True)}">'
              "</iframe></body></html>")
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    try:
        shown = [f for f in browser.find_elements(By.CSS_SELECTOR, ".cg-frame")
                 if f.is_displayed()]
        assert len(shown) == 1 and shown[0].tag_name == "img"
        assert browser.execute_script("return arguments[0].naturalWidth", shown[0]) > 100
        assert not browser.find_elements(By.TAG_NAME, "svg")
        note = browser.find_element(By.CSS_SELECTOR, ".cg-note")
        assert note.is_displayed() and "Trust" in note.text
    finally:
        browser.switch_to.default_content()

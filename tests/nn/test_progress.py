"""nn.progress: a bar on a terminal and in a notebook, none in logs."""

from __future__ import annotations

import io
import types

import pytest

from nn import progress

tqdm = pytest.importorskip("tqdm")


class FakeKernelShell:
    config = {"IPKernelApp": {"connection_file": "kernel.json"}}


def fake_ipython(monkeypatch, shell) -> None:
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell
    monkeypatch.setitem(__import__("sys").modules, "IPython", module)


def test_off_in_a_log_on_when_asked(monkeypatch):
    monkeypatch.delitem(__import__("sys").modules, "IPython", raising=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal
    assert not progress.in_notebook()
    assert progress.progress_bar(total=3) is None
    assert progress.progress_bar(total=3, show=False) is None
    bar = progress.progress_bar(total=3, show=True)
    assert isinstance(bar, tqdm.std.tqdm)
    bar.close()


def test_on_by_default_in_a_jupyter_kernel(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    fake_ipython(monkeypatch, FakeKernelShell())
    assert progress.in_notebook()
    monkeypatch.setattr(progress, "_widgets", lambda: False)  # text bar, not tqdm's warning
    bar = progress.progress_bar(range(3))
    assert type(bar) is tqdm.std.tqdm and list(bar) == [0, 1, 2]
    fake_ipython(monkeypatch, types.SimpleNamespace(config={}))  # IPython in a terminal
    assert not progress.in_notebook() and progress.progress_bar(total=3) is None

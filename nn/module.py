"""Module: the base class of layers and models, and Sequential.

A Module finds its parameters by looking at its attributes: a ``Parameter``, a child
``Module``, or a list/tuple/dict of them. Names follow the attribute path
(``layers.0.weight``), as in PyTorch. Each module also learns its own name when it is
assigned to a parent, and runs ``forward`` inside ``autograd.name_scope(name)`` so that
graph pictures can draw every layer as a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

import autograd as ag

from ._state import Problems, as_mapping, key_diff, like
from ._util import LayerInputError
from .parameter import Parameter

_name_scope = ag.name_scope  # bound once: Module.__call__ is on every forward's hot path


class Module:
    """Base class: subclasses set attributes in ``__init__`` and define ``forward``.

    Calling the module runs ``forward``. ``training`` (toggled by ``train()``/``eval()``)
    tells layers such as Dropout and BatchNorm which behaviour to use.
    """

    training: bool = True
    _name: str | None = None
    _buffer_names: tuple[str, ...] = ()

    def __setattr__(self, key: str, value: Any) -> None:
        object.__setattr__(self, key, value)
        if not key.startswith("_"):
            for name, child in _walk(key, value):
                if isinstance(child, Module):
                    object.__setattr__(child, "_name", name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self._name
        try:
            if name is None:
                return self.forward(*args, **kwargs)
            with _name_scope(name):
                return self.forward(*args, **kwargs)
        except LayerInputError as e:
            if name:
                e.path.insert(0, name)
            raise

    # -- discovery ------------------------------------------------------------------
    def _members(self) -> Iterator[tuple[str, Any]]:
        """(local name, Module or Parameter) owned directly by this module."""
        for key, value in vars(self).items():
            if not key.startswith("_"):
                yield from _walk(key, value)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every descendant, each once.

        Also (re)names each child after the attribute that holds it, so modules appended
        to a list after assignment get their names too.
        """
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield name, mod
            children = [(local, m) for local, m in mod._members() if isinstance(m, Module)]
            for local, child in reversed(children):
                object.__setattr__(child, "_name", local)
                stack.append((f"{name}.{local}" if name else local, child))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator[Module]:
        for _, m in self._members():
            if isinstance(m, Module):
                yield m

    def apply(self, fn: Any) -> Module:
        """Call ``fn(module)`` on every descendant, children before parents, then on this
        module (PyTorch's order, for initialisers such as ``nn.init.xavier_uniform_``)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, each parameter once even if shared."""
        seen: set[int] = set()
        for mname, mod in self.named_modules(prefix):
            for local, p in mod._members():
                if isinstance(p, Parameter) and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{local}" if mname else local), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def register_buffer(self, name: str, value: Any) -> None:
        """Keep a non-trainable array (running statistics) in the state dict."""
        object.__setattr__(self, name, ag.Tensor(value))
        if name not in self._buffer_names:
            object.__setattr__(self, "_buffer_names", self._buffer_names + (name,))

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, ag.Tensor]]:
        for mname, mod in self.named_modules(prefix):
            for b in mod._buffer_names:
                yield (f"{mname}.{b}" if mname else b), getattr(mod, b)

    def _named_tensors(self) -> dict[str, ag.Tensor]:
        out: dict[str, ag.Tensor] = dict(self.named_parameters())
        out.update(self.named_buffers())
        return out

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # -- modes and gradients -------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, dtype: Any) -> Module:
        """Convert every parameter and buffer to ``dtype`` in place (before building the
        optimizer, whose state keeps the old arrays)."""
        dtype = np.dtype(dtype)
        for t in self._named_tensors().values():
            t.data = t.data.astype(dtype)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name."""
        return {k: t.data.copy() for k, t in self._named_tensors().items()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy ``state`` into the parameters and buffers, in place, all or nothing.

        Everything is checked first and every problem is listed in one error: missing and
        unexpected keys (when ``strict``), shapes, dtypes that are not real numbers or do
        not cast within their kind (complex, dates, strings), NaN or inf. Only then is
        anything assigned, so on an error the module is untouched.
        """
        who = f"load_state_dict into {type(self).__name__}"
        state = as_mapping(who, state)
        own = self._named_tensors()
        problems = Problems()
        if strict:
            key_diff(problems, set(own), set(state))
        new = {}
        for k, t in own.items():
            if k in state:
                value = like(problems, k, state[k], t.data, owner="model")
                if value is not None:
                    new[k] = value
        problems.raise_if_any(who, "the model was not changed (was the state saved from a "
                                   "different architecture?)")
        for k, value in new.items():
            own[k].data[...] = value

    def save(self, path: str | Path) -> None:
        """Write the state dict to a .npz file atomically (see ``nn.save_state``)."""
        from .serialization import save_state

        save_state(self, path)

    def load(self, path: str | Path) -> Module:
        """Load a state written by ``save`` (see ``nn.load_state``)."""
        from .serialization import load_state

        load_state(self, path)
        return self

    # -- display -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = [(n, m) for n, m in self._members() if isinstance(m, Module)]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for n, m in children:
            lines.append(f"  ({n}): " + repr(m).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


def _walk(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    """The Modules and Parameters in an attribute value, containers included."""
    if isinstance(value, (Module, Parameter)):
        yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            if isinstance(v, (Module, Parameter, list, tuple, dict)):
                yield from _walk(f"{prefix}.{i}", v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (Module, Parameter, list, tuple, dict)):
                yield from _walk(f"{prefix}.{k}", v)


class ModuleList(Module):
    """A list of modules whose parameters the parent finds, named "0", "1", ... as in
    PyTorch. It has no ``forward``: iterate over it (``Sequential`` chains them)."""

    def __init__(self, modules: Any = ()) -> None:
        self._layers: list[Module] = []
        self.extend(modules)

    def _members(self) -> Iterator[tuple[str, Any]]:
        for i, m in enumerate(self._layers):
            yield str(i), m
        yield from super()._members()

    def __getitem__(self, i: int) -> Module:
        return self._layers[i]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: item {len(self._layers)} is a "
                            f"{type(module).__name__}, not a Module")
        object.__setattr__(module, "_name", str(len(self._layers)))
        self._layers.append(module)
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(): iterate over it "
                                  "and call each module, or use Sequential")

    def extend(self, modules: Any) -> ModuleList:
        for m in modules:
            self.append(m)
        return self


class Sequential(ModuleList):
    """Modules applied one after another; children are named "0", "1", ... as in PyTorch."""

    def __init__(self, *modules: Module) -> None:
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        super().__init__(modules)

    def forward(self, x: Any) -> Any:
        for layer in self._layers:
            x = layer(x)
        return x

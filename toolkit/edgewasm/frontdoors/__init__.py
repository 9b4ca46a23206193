"""Front doors: a PyTorch module, a JAX function (or a Flax module with its parameters) or a Keras 3
model goes into `edgewasm.compile` directly; the framework's own exporter turns it into ONNX.

The model's kind is read from its type (its classes' modules) and from `sys.modules`, so no
framework is imported unless the model already comes from it. Each door lives in its own module
(torch.py, jax.py, keras.py) and imports its framework only when used; without the framework the
error names the pip command that installs it (`pip install 'edgewasm[torch]'`).
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import EdgewasmError, UnsupportedModelError

KINDS = ("torch", "jax", "keras")


class FrameworkMissingError(EdgewasmError):
    """A front door's framework (or its exporter) is not installed: the message names the pip command."""


class ExportError(UnsupportedModelError):
    """The framework's exporter could not turn the model into ONNX."""


@dataclass
class Exported:
    """What a door hands the compiler: the ONNX model, the input shapes the examples fixed, the
    exporter used (for the log and the compile report) and a default bundle name."""

    model: Any  # onnx.ModelProto
    shapes: dict[str, tuple[int, ...]]
    exporter: str
    name: str
    notes: list[str] = field(default_factory=list)


def _class_modules(model) -> list[str]:
    return [getattr(cls, "__module__", "") or "" for cls in type(model).__mro__]


def _from(modules: list[str], *roots: str) -> bool:
    return any(m == r or m.startswith(r + ".") for m in modules for r in roots)


def kind_of(model) -> str | None:
    """'torch', 'jax', 'keras' or None (not a framework model). Imports no framework."""
    modules = _class_modules(model)
    if _from(modules, "torch") and "torch" in sys.modules:
        import torch

        if isinstance(model, torch.nn.Module):
            return "torch"
    if _from(modules, "keras", "tf_keras"):
        return "keras"
    if _from(modules, "flax", "jax", "jaxlib"):
        return "jax"
    if callable(model) and not isinstance(model, type):
        return "jax"  # a plain Python function: JAX traces it
    return None


def missing(extra: str, module: str, exc: BaseException | None = None) -> FrameworkMissingError:
    detail = f" ({exc})" if exc is not None and str(exc) else ""
    return FrameworkMissingError(
        f"compiling a {extra} model needs {module}, which is not installed{detail}: pip install 'edgewasm[{extra}]'")


def as_examples(example_inputs) -> tuple[tuple, dict]:
    """example_inputs -> (positional, keyword): a tuple/list is positional, a dict is by name, a
    single array is the one positional input."""
    if example_inputs is None:
        raise ExportError("a framework model needs example_inputs=(...) to fix its input shapes and dtypes")
    if isinstance(example_inputs, dict):
        return (), dict(example_inputs)
    if isinstance(example_inputs, (tuple, list)):
        return tuple(example_inputs), {}
    return (example_inputs,), {}


def bind_names(function: Callable, args: tuple, kwargs: dict, skip_self: bool = False) -> list[tuple[str, Any]]:
    """Order example inputs as the function's parameters and name them after the parameters.

    `*args` extras are named `<param>_<i>`; a parameter without a name to bind gets `input_<i>`."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        signature = None
    if signature is None:
        if kwargs:
            raise ExportError("example_inputs given by name, but the function's parameters cannot be read")
        return [(f"input_{i}", a) for i, a in enumerate(args)]
    parameters = list(signature.parameters.values())
    if skip_self and parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    try:
        bound = inspect.Signature(parameters).bind(*args, **kwargs)
    except TypeError as exc:
        raise ExportError(f"example_inputs do not fit the function's parameters {signature}: {exc}") from None
    named = []
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            named += [(f"{name}_{i}", v) for i, v in enumerate(value)]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            named += list(value.items())
        else:
            named.append((name, value))
    return named


def export(model, example_inputs=None, log: Callable[[str], None] = lambda m: None, **options) -> Exported:
    """Turn a framework model into ONNX with its own exporter.

    options: door-specific, e.g. params=... (a Flax module's variables), exporter="dynamo" |
    "torchscript" | "auto" (PyTorch), opset=N."""
    kind = kind_of(model)
    if kind is None:
        raise UnsupportedModelError(
            f"cannot compile a {type(model).__module__}.{type(model).__qualname__}: pass an ONNX path, "
            "bytes, an onnx.ModelProto, a torch.nn.Module, a JAX function or a Keras model")
    if kind == "torch":
        from . import torch as door
    elif kind == "jax":
        from . import jax as door
    else:
        from . import keras as door
    return door.export(model, example_inputs, log=log, **options)


__all__ = ["kind_of", "export", "Exported", "FrameworkMissingError", "ExportError", "KINDS"]

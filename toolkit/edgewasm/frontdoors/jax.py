"""JAX door: jax2onnx 0.17's `to_onnx(f, [ShapeDtypeStruct, ...])`.

Takes a JAX function (plain, `jax.jit`-wrapped or a `functools.partial`), a Flax NNX module, or a
Flax Linen module with `params=` (its variables: the door exports `module.apply(params, *x)`).
Input names follow the function's (or `__call__`'s) parameters; the example inputs fix each
input's shape and dtype.
"""

from __future__ import annotations

import sys

from . import ExportError, Exported, as_examples, bind_names, missing

OPSET = 21


def _is_linen(model) -> bool:
    return any((getattr(c, "__module__", "") or "").startswith("flax.linen") for c in type(model).__mro__)


def export(function, example_inputs, log=lambda m: None, params=None, opset: int = OPSET, **unused) -> Exported:
    if unused:
        raise ExportError(f"the JAX door takes params= and opset=, not {', '.join(sorted(unused))}")
    try:
        import jax
        import numpy as np
    except ImportError as exc:
        raise missing("jax", "jax", exc) from None
    try:
        from jax2onnx import to_onnx
    except ImportError as exc:
        raise missing("jax", "jax2onnx", exc) from None

    args, kwargs = as_examples(example_inputs)
    if _is_linen(function):
        if params is None:
            raise ExportError(f"a Flax Linen module ({type(function).__name__}) needs params=: its variables "
                              "(what module.init returned)")
        module, variables = function, params
        named = bind_names(type(module).__call__, args, kwargs, skip_self=True)

        def apply(*xs):
            return module.apply(variables, *xs)

        target, name = apply, type(module).__name__
    else:
        if params is not None:
            raise ExportError("params= is for a Flax Linen module; a function closes over its own parameters")
        call = function.__call__ if not hasattr(function, "__code__") and hasattr(type(function), "__call__") \
            and "flax" in (type(function).__module__ or "") else function
        named = bind_names(call, args, kwargs)
        if kwargs:  # by-name examples: call the function with keywords, export it positionally
            order = [n for n, _ in named]

            def target(*xs, _f=function, _order=order):
                return _f(**dict(zip(_order, xs)))
        else:
            target = function
        name = getattr(function, "__name__", type(function).__name__)
    arrays = {n: np.asarray(v) for n, v in named}
    specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in arrays.values()]
    double = any(a.dtype in (np.float64, np.int64) for a in arrays.values()) and bool(jax.config.jax_enable_x64)
    log(f"exporting {name} with jax2onnx.to_onnx ...")
    try:
        proto = to_onnx(target, specs, model_name=str(name), opset=opset, input_names=list(arrays),
                        enable_double_precision=double)
    except Exception as exc:  # noqa: BLE001  (jax2onnx's own errors name the primitive)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"jax2onnx could not export {name}: {type(exc).__name__}: {first}") from None
    log("exported with jax2onnx.to_onnx")
    return Exported(proto, {n: tuple(a.shape) for n, a in arrays.items()}, "jax2onnx.to_onnx", str(name).lower())


del sys

"""edgewasm: one sandboxed SIMD128 WebAssembly module per model, run bit-identically in the
browser (Python in Pyodide) and on a server (Python + wasmtime).

`import edgewasm` must work inside Pyodide, where numpy, onnx and wasmtime do not exist, so
the compiler and the wasmtime host are imported only when used.
"""

from __future__ import annotations

import sys

__version__ = "0.1.0"

IN_BROWSER = sys.platform == "emscripten"


def load(source, variant: str | None = None, **options):
    """Load a bundle (directory, manifest path or URL) or a bring-your-own `.wat`/`.wasm`.

    On a server this returns a `Model` at once; inside Pyodide it returns a coroutine
    (`model = await edgewasm.load(url)`), since the browser can only fetch asynchronously.
    """
    if IN_BROWSER:
        from .runtime.browser_host import load_async

        return load_async(source, variant, **options)
    from .runtime.wasmtime_host import load as load_wasmtime

    return load_wasmtime(source, variant, **options)


def compile(model, out, batch: int = 1, name: str | None = None, shapes=None, **options):
    """Compile an ONNX model (path, bytes, ModelProto), a torch.nn.Module, a JAX function / Flax module
    or a Keras 3 model (with example_inputs=(...); see edgewasm.frontdoors) into a bundle directory
    (see `edgewasm.compiler.compile_model`).

    shapes: {input name: shape} fixes symbolic dimensions, e.g. {"x": (1, 3, 48, 320)}."""
    from .compiler import compile_model

    return compile_model(model, out, batch=batch, name=name, shapes=shapes, **options)


__all__ = ["load", "compile", "__version__"]

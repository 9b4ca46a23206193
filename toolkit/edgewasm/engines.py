"""The three engines a bundle can be run on, behind one signature, so `check` can compare them.

wasmtime and the browser run the module itself; onnxruntime runs the variant's
`reference.onnx`, the same graph in standard ONNX ops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .bundle import parse_manifest, verify_bytes
from .errors import BundleError, EdgewasmError
from .runtime.core import encode_inputs

ENGINES = ("wasmtime", "browser", "onnxruntime")


def run_wasmtime(bundle: Path, inputs: dict[str, np.ndarray], variant: str | None = None,
                 memory_limit: int | None = None, threads: int | None = None) -> dict[str, np.ndarray]:
    """threads: how many threads a --threads build runs on (None: its default)."""
    from .runtime.config import RuntimeConfig
    from .runtime.wasmtime_host import load

    config = RuntimeConfig(memory_limit=memory_limit) if memory_limit else None
    return load(bundle, variant, config, threads=threads).run(inputs)


def run_onnxruntime(bundle: Path, inputs: dict[str, np.ndarray], variant: str | None = None,
                    memory_limit: int | None = None, optimize: bool = True) -> dict[str, np.ndarray]:
    """The variant's reference.onnx on onnxruntime's CPU provider (one thread); optimize=False turns its
    graph optimizations off (the same maths in another order: see onnxruntime_noise)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise EdgewasmError("the onnxruntime engine needs the onnxruntime package (pip install onnxruntime)") from None
    root = Path(bundle)
    spec = parse_manifest((root / "manifest.json").read_bytes()).variant(variant)
    if spec.reference is None:
        raise BundleError(f"variant {spec.name} has no reference.onnx")
    encode_inputs(spec, inputs)  # the same input checks as the module hosts
    model = verify_bytes(spec.reference, (root / spec.reference.file).read_bytes())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    feed = {name: _ort_value(ort, name, np.asarray(value)) for name, value in inputs.items()}
    return dict(zip(names, session.run(names, feed)))


def _ort_value(ort, name: str, value: np.ndarray):
    """onnxruntime takes numpy's own dtypes; ml_dtypes' go in as their bytes with the ONNX type."""
    if value.dtype.type.__module__ != "ml_dtypes":
        return value
    from .dtypes import ONNX_TYPES
    from .ops.cast import SUB_BYTE_MASKS

    if value.dtype.name in SUB_BYTE_MASKS:  # onnxruntime packs these (2 or 4 per byte); the module does not
        raise EdgewasmError(f"input {name!r}: the onnxruntime engine cannot take {value.dtype.name} inputs; "
                            "compare wasmtime and the browser instead")
    raw = np.ascontiguousarray(value).view(f"<u{value.dtype.itemsize}")
    return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(raw, ONNX_TYPES[value.dtype.name])


def run_browser(bundle: Path, inputs: dict[str, np.ndarray], variant: str | None = None,
                memory_limit: int | None = None) -> dict[str, np.ndarray]:
    from .browser import run_in_browser

    return run_in_browser(Path(bundle), inputs, variant, memory_limit=memory_limit)


def run_node_arm64(bundle: Path, inputs: dict[str, np.ndarray], variant: str | None = None,
                   memory_limit: int | None = None) -> dict[str, np.ndarray]:
    """arm64 V8 under qemu user-mode emulation (installed by .ci/arm64-setup): see arm64.py."""
    from .arm64 import run_node_arm64 as run

    return run(bundle, inputs, variant, memory_limit)


def run_wasmtime_arm64(bundle: Path, inputs: dict[str, np.ndarray], variant: str | None = None,
                       memory_limit: int | None = None) -> dict[str, np.ndarray]:
    """wasmtime's aarch64 build in an arm64 CPython under qemu (installed by .ci/arm64-setup): see arm64.py."""
    from .arm64 import run_wasmtime_arm64 as run

    return run(bundle, inputs, variant, memory_limit)


def run_engine(engine: str, bundle: Path, inputs: dict[str, np.ndarray], variant: str | None = None,
               memory_limit: int | None = None, threads: int | None = None):
    """memory_limit: bytes of linear memory the module hosts allow (None: RuntimeConfig's default);
    threads: threads of a --threads build (wasmtime; None: the host's default)."""
    if threads is not None and engine == "wasmtime":
        return run_wasmtime(bundle, inputs, variant, memory_limit, threads)
    runners = {"wasmtime": run_wasmtime, "browser": run_browser, "onnxruntime": run_onnxruntime,
               "node-arm64": run_node_arm64, "wasmtime-arm64": run_wasmtime_arm64}
    return runners[engine](bundle, inputs, variant, memory_limit)


def bit_identical(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape and same bits, except that any NaN equals any NaN (payloads may differ by engine)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f" or "float" in a.dtype.name:  # numpy's floats and ml_dtypes' (bfloat16, float8)
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if not np.array_equal(nan_a, nan_b):
            return False
        view = np.dtype(f"u{a.dtype.itemsize}")
        return bool(np.array_equal(a[~nan_a].view(view), b[~nan_b].view(view)))
    return bool(np.array_equal(a, b))


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| over elements where neither is NaN; inf if NaNs disagree."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf")
    mask = ~np.isnan(a)
    if not mask.any():
        return 0.0
    same_inf = np.isinf(a) & (a == b)
    diff = np.where(same_inf, 0.0, np.abs(a - b))[mask]
    return float(diff.max())


def onnxruntime_noise(bundle: Path, inputs: dict[str, np.ndarray], optimized: dict[str, np.ndarray],
                      variant: str | None = None) -> dict[str, float]:
    """Per output, max |optimized - unoptimized| of onnxruntime on the reference graph: how far float32
    rounding alone moves this model's outputs when the same maths runs in another order (fusions,
    other GEMM blockings). Deep networks exceed the fixed contract by this much without being wrong."""
    plain = run_onnxruntime(bundle, inputs, variant, optimize=False)
    return {name: max_abs_diff(optimized[name], plain[name]) if np.asarray(value).dtype.kind == "f" else 0.0
            for name, value in optimized.items()}


NOISE_FACTOR = 2.0  # a difference within twice onnxruntime's own is float32 rounding, not a wrong result


def within_contract(actual: np.ndarray, expected: np.ndarray, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """The fp32 numerics contract against onnxruntime: |a - e| <= atol + rtol * |e|, NaN == NaN."""
    return bool(np.allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True))

"""Turn suite entries and `--model FILE.onnx` into what every engine needs: the .onnx file (for
onnxruntime and onnxruntime-web), the compiled bundle (for edgewasm) and one set of inputs.

A model edgewasm cannot compile yet is not an error: its edgewasm engines are reported as
"skipped: <the compiler's message>" and the onnxruntime engines still run it (they are the
baseline to beat as ops land). A compiler crash is reported as an error of the edgewasm engines
for that model only, so one half-landed op cannot stop the whole suite.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from ..errors import EdgewasmError
from .suite import SuiteModel

INPUT_SEED = 0
DISTILL_SEED, DISTILL_SAMPLES = 1, 512
CALIBRATION_SAMPLES = 16  # rows of seeded random inputs that calibrate a static int8 variant (--calibrate)
ONNX_FILE, BUNDLE_DIR, INPUTS_FILE = "model.onnx", "bundle", "inputs.json"
ONNX_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT64: "int64", onnx.TensorProto.INT32: "int32",
               onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.INT8: "int8"}


@dataclass
class BenchModel:
    name: str
    description: str
    source: str  # "suite" or the ONNX file's path
    batch: int
    directory: Path  # holds model.onnx, bundle/ and inputs.json (served to the browser as is)
    inputs: dict[str, np.ndarray]
    variant: str | None = None  # the compression recipe (edgewasm.variants); None: the compiler's default
    edgewasm_refusal: dict | None = None  # {"status": "skipped" | "error", "reason"} if it did not compile
    twin: object | None = None  # bench.twins.Twin for LiteRT.js, or the NoTwin reason (str); None: not asked for
    compile_report: dict = field(default_factory=dict)
    options: object | None = None  # the variants.Options it was compiled with (calibration, distillation)

    @property
    def onnx_path(self) -> Path:
        return self.directory / ONNX_FILE

    @property
    def bundle(self) -> Path:
        return self.directory / BUNDLE_DIR

    @property
    def flops(self) -> int | None:
        """From the compiler's report (edgewasm.ops.flops); None when edgewasm did not compile it."""
        return self.compile_report.get("flops")

    @property
    def original_flops(self) -> int | None:
        """The uncompressed model's FLOPs: what the onnxruntime engines compute on every row."""
        return self.compile_report.get("compression", {}).get("fp32_flops", self.flops)

    def input_specs(self) -> list[dict]:
        return [{"name": name, "dtype": str(value.dtype), "shape": list(value.shape)}
                for name, value in self.inputs.items()]


def prepare_suite_model(entry: SuiteModel, workdir: Path, variants: list[str] | None = None,
                        calibrate: bool = False) -> list[BenchModel]:
    inputs = entry.inputs() if entry.inputs else None
    return _prepare_variants(entry.build(), entry.name, entry.description, "suite", workdir, variants, inputs,
                             calibrate)


def prepare_file_model(path: Path, workdir: Path, taken: set[str],
                       variants: list[str] | None = None, calibrate: bool = False) -> list[BenchModel]:
    """A user's model: named after its file (made unique), symbolic dimensions fixed to 1."""
    from ..frontend.onnx import load_onnx, read_model_bytes

    proto = load_onnx(read_model_bytes(path), base_dir=Path(path).parent)
    name = _unique(re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(path).stem) or "model", taken)
    return _prepare_variants(proto, name, f"{Path(path).name} (--model)", str(path), workdir, variants,
                             calibrate=calibrate)


def _prepare_variants(proto: onnx.ModelProto, name: str, description: str, source: str, workdir: Path,
                      variants: list[str] | None, inputs: dict[str, np.ndarray] | None = None,
                      calibrate: bool = False) -> list[BenchModel]:
    """One row per variant; with `calibrate`, int8 variants are static (calibrated on
    CALIBRATION_SAMPLES rows of seeded random inputs) and their rows say so."""
    if not variants:
        return [_prepare(proto, name, description, source, workdir, inputs=inputs)]
    return [_prepare(proto, f"{name}[{variant}{' static' if calibrate and variant.startswith('int8') else ''}]",
                     description, source, workdir, variant, inputs, calibrate)
            for variant in variants]


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _prepare(proto: onnx.ModelProto, name: str, description: str, source: str, workdir: Path,
             variant: str | None = None, inputs: dict[str, np.ndarray] | None = None,
             calibrate: bool = False) -> BenchModel:
    from ..compiler import compile_model
    from ..variants import Options

    directory = Path(workdir) / re.sub(r"[^A-Za-z0-9_.+-]+", "_", name)
    directory.mkdir(parents=True, exist_ok=True)
    data = proto.SerializeToString()
    (directory / ONNX_FILE).write_bytes(data)
    inputs = random_inputs(proto) if inputs is None else inputs
    batch = next((int(v.shape[0]) for v in inputs.values() if v.ndim), 1)
    model = BenchModel(name, description, source, batch, directory, inputs, variant)
    options = Options(distill=teacher_inputs(proto) if variant and "distill" in variant else None,
                      calibrate=teacher_inputs(proto, CALIBRATION_SAMPLES)
                      if calibrate and variant and variant.startswith("int8") else None)
    model.options = options
    try:
        manifest = compile_model(data, model.bundle, batch=1, name=name, variants=variant, options=options)
        manifest = json.loads(Path(manifest).read_text())
        variant = manifest["variants"][manifest["default_variant"]]
        model.compile_report = dict(variant.get("report") or {})
        model.compile_report["kernels"] = variant.get("kernels", [])
    except EdgewasmError as exc:
        model.edgewasm_refusal = {"status": "skipped", "reason": f"skipped: {exc}"}
    except Exception as exc:  # noqa: BLE001 - a compiler bug: reported per model, visible in the exit code
        model.edgewasm_refusal = {"status": "error", "reason": f"the compiler failed: {type(exc).__name__}: {exc}"}
    (directory / INPUTS_FILE).write_text(json.dumps(model.input_specs()))
    return model


def teacher_inputs(proto: onnx.ModelProto, samples: int = DISTILL_SAMPLES) -> dict[str, np.ndarray]:
    """About `samples` rows of seeded random inputs: batches stacked along the first axis."""
    batches, rows = [], 0
    for seed in range(DISTILL_SEED, DISTILL_SEED + samples):
        batch = random_inputs(proto, seed)
        first = next(iter(batch.values()), None)
        if first is None or first.ndim == 0:
            return batch  # nothing to stack along
        batches.append(batch)
        rows += first.shape[0]
        if rows >= samples:
            break
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}


def random_inputs(proto: onnx.ModelProto, seed: int = INPUT_SEED) -> dict[str, np.ndarray]:
    """Seeded inputs for the graph inputs that are not initializers (symbolic dims -> 1):
    standard normal floats, zeros for integer inputs (indices must stay in range)."""
    rng = np.random.default_rng(seed)
    constants = {t.name for t in proto.graph.initializer}
    inputs = {}
    for value in proto.graph.input:
        if value.name in constants:
            continue
        kind = value.type.tensor_type
        dtype = ONNX_DTYPES.get(kind.elem_type)
        if dtype is None:
            raise EdgewasmError(f"input {value.name!r} has an element type the bench cannot generate "
                                f"({onnx.TensorProto.DataType.Name(kind.elem_type)})")
        shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in kind.shape.dim]
        inputs[value.name] = (rng.standard_normal(shape).astype(np.float32) if dtype == "float32"
                              else np.zeros(shape, dtype))
    return inputs

"""ONNX backend conformance: run onnx's own node test cases through edgewasm, and through onnxruntime
as the anchor, and report per op and dtype.

onnx stopped shipping the node test data after 1.22.0, so the cases are read straight out of that
release's wheel (fetched once with pip into the cache).

Scope. `--all` takes every node case whose op is a default-domain op with static output shapes.
Out of scope, counted apart with their reason (see `scope`): other domains (ai.onnx.ml, the
preview and training domains), strings, sequences and optionals, random generators (and Dropout in
training mode with a nonzero ratio, whose mask is random), training losses, ops whose output shape
depends on the data (NonZero, Unique, Compress, NonMaxSuppression), and ImageDecoder. `--ops`
takes the cases of the named ops (an `_expanded` case belongs to the op whose function body it
is); the default is the CNN/MLP/transformer ops of TARGET_OPS.

Binding. A case's inputs are bound the way a deployed model would have them, keeping as much as
possible at run time: every input at run time first; if edgewasm refuses (typically because an
operand must be a constant: a Conv's W, a Reshape's shape, a TopK's k), again with the non-float
inputs (shapes, axes, indices) compiled in as initializers, and then with only the first input at
run time. If edgewasm still refuses because an output's shape is the value of some inputs
(ConstantOfShape's shape, Range's start/limit/delta: static shapes need them at compile time),
exactly those inputs are compiled in, the others stay at run time. The first binding edgewasm
accepts is the one run, and the outcome records which inputs were compiled in. Shapes are the
case's own input shapes.

Check. Every output must have the expected dtype and shape; floats (every float dtype, compared in
float64) agree within rtol 1e-3 + atol 1e-5 with NaN equal to NaN; integers and booleans exactly.
onnxruntime (CPU, one thread) runs the same case, on the original model with all inputs fed, in the
same run under the same check: its pass or fail per case is the anchor column. On the browser
engine the outputs must also be bit-identical to wasmtime's. A case edgewasm refuses with a typed
UnsupportedModelError is *skipped* with that message as its reason and never counts as passed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import numpy_helper

from .errors import EdgewasmError, UnsupportedModelError

ONNX_RELEASE = "1.22.0"  # the last onnx release whose wheel ships onnx/backend/test/data/node
NODE_DATA = "onnx/backend/test/data/node/"
RTOL, ATOL = 1e-3, 1e-5  # the check; onnx's own runner uses rtol 1e-3, atol 1e-7

# The ops of the first conformance issue: CNN, MLP and transformer building blocks (the default run).
TARGET_OPS = (
    "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
    "LayerNormalization", "Softmax", "LogSoftmax", "MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Pow",
    "Sqrt", "Exp", "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Gelu",
    "Erf", "Flatten", "Reshape", "Transpose", "Concat", "Squeeze", "Unsqueeze", "Slice", "Gather",
    "Shape", "Cast", "Pad", "Identity", "Dropout", "ReduceMean", "Resize",
)

# -- scope: what --all leaves out, and why ------------------------------------------------------------

# The out-of-scope reasons, in the order they are tested and reported.
OUT_OF_SCOPE = {
    "domain": "not a default-domain op",
    "strings": "strings",
    "sequences": "sequences and optionals",
    "random": "random generators",
    "loss": "training losses",
    "data-dependent": "output shape depends on the data",
    "ImageDecoder": "ImageDecoder",
}
STRING_OPS = {"StringConcat", "StringNormalizer", "StringSplit", "RegexFullMatch"}
SEQUENCE_OPS = {"SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert",
                "SequenceLength", "SequenceMap", "SplitToSequence", "ConcatFromSequence", "Optional",
                "OptionalGetElement", "OptionalHasElement"}
RANDOM_OPS = {"Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"}
LOSS_OPS = {"SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss"}
DATA_DEPENDENT_OPS = {"NonZero", "Unique", "Compress", "NonMaxSuppression"}
NON_TENSOR_KINDS = {"sequence_type": "a sequence", "optional_type": "an optional", "map_type": "a map",
                    "sparse_tensor_type": "a sparse tensor"}

FLOAT_NAMES = {"float16", "float32", "float64", "bfloat16", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
               "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn"}
SUB_BYTE_BITS = {"int4": 4, "uint4": 4, "float4_e2m1fn": 4, "int2": 2, "uint2": 2}

# An UnsupportedModelError that asks for a constant operand: the binding retries with more compiled in.
NEEDS_CONSTANT = re.compile(r"must be [^;.]*\bconstant|needs constant")
RUN_TIME_VALUE = re.compile(r"computed at run time")
# A refusal naming the inputs whose value is an output's shape (ops/folded.py): those may be compiled in.
SHAPE_VALUE = re.compile(r"output shape is the value of \[([^\]]*)\]")
DTYPE_REFUSAL = re.compile(r"has dtype|casting to|computed in float32 only|only uint8 activations|int8 activations are "
                           r"not supported|must be a uint8 activation|\(a bool tensor\)|got (float8\w*|float4\w*|"
                           r"u?int(2|4|8|16|32|64)|float(16|64)|bfloat16) of shape")

Log = Callable[[str], None]


class ConformanceError(EdgewasmError):
    """The node test cases could not be fetched or read, or the op selection matches no case."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the cases ---------------------------------------------------------------------------------


def fetch_wheel(cache: Path | None = None, log: Log = _stderr) -> Path:
    """The onnx 1.22.0 wheel, downloaded with pip once into `<cache>/onnx-node-tests/`.

    Any platform's wheel carries the same data files, so if pip finds none for this interpreter
    the manylinux one is fetched instead.
    """
    from .webassets import cache_dir

    directory = Path(cache or cache_dir()) / "onnx-node-tests"
    found = sorted(directory.glob(f"onnx-{ONNX_RELEASE}-*.whl"))
    if found:
        return found[0]
    directory.mkdir(parents=True, exist_ok=True)
    log(f"fetching onnx=={ONNX_RELEASE} with pip for its node test cases (once; cached in {directory})")
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            f"onnx=={ONNX_RELEASE}"]
    any_platform = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.12", "--implementation", "cp"]
    errors = []
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        for extra in ([], any_platform):
            result = subprocess.run([*base, *extra, "-d", tmp], capture_output=True, text=True)
            wheels = list(Path(tmp).glob(f"onnx-{ONNX_RELEASE}-*.whl"))
            if result.returncode == 0 and wheels:
                target = directory / wheels[0].name
                os.replace(wheels[0], target)
                return target
            errors.append(result.stderr.strip()[-800:] or f"pip exited with {result.returncode}")
    raise ConformanceError(f"could not download onnx=={ONNX_RELEASE} with pip:\n" + "\n".join(errors))


@dataclass
class Case:
    """One node test case: the model, test_data_set_0's inputs (in graph-input order) and outputs."""

    name: str
    op: str  # the op the case tests (for an `_expanded` case: the op whose function body it is)
    model: onnx.ModelProto
    inputs: list[tuple[onnx.ValueInfoProto, np.ndarray | None]]  # None: not a tensor (sequence, optional)
    outputs: list[tuple[onnx.ValueInfoProto, np.ndarray | None]]
    scope: tuple[str, str] | None = None  # (OUT_OF_SCOPE key, one-line detail) when --all leaves it out

    @property
    def dtype(self) -> str:
        """The case's dtype for the report: its first input's, with the first output's after an arrow
        when that differs (float32->bool for a comparison, float32->int64 for Shape)."""
        first_in = _type_name(self.inputs[0][0]) if self.inputs else None
        first_out = _type_name(self.outputs[0][0]) if self.outputs else None
        if first_in is None or first_in == first_out:
            return first_out or "-"
        return f"{first_in}->{first_out}" if first_out else first_in


def _type_name(info: onnx.ValueInfoProto) -> str:
    from . import dtypes

    kind = info.type.WhichOneof("value")
    if kind != "tensor_type":
        return {"sequence_type": "sequence", "optional_type": "optional", "map_type": "map"}.get(kind, str(kind))
    code = info.type.tensor_type.elem_type
    return dtypes.from_onnx(code) or dtypes.onnx_type_name(code).lower()


def load_cases(wheel: Path, ops: list[str] | None = None) -> list[Case]:
    """The node cases testing `ops` (default: every case of the wheel), each with its scope verdict,
    sorted by op (in the order of `ops`, else alphabetically) then name."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ConformanceError(f"cannot read {wheel} as a wheel: {exc}") from None
    with archive:
        names = sorted({n[len(NODE_DATA):].split("/")[0] for n in archive.namelist() if n.startswith(NODE_DATA)} - {""})
        if not names:
            raise ConformanceError(f"{wheel} has no {NODE_DATA} (onnx=={ONNX_RELEASE} is the last release with it)")
        models = {name: onnx.load_from_string(archive.read(f"{NODE_DATA}{name}/model.onnx")) for name in names}
        cases = []
        for name, model in models.items():
            op = _tested_op(name, model, models)
            if op is not None and (ops is None or op in ops):
                case = _read_case(archive, name, op, model)
                case.scope = scope(case)
                cases.append(case)
    order = {op: i for i, op in enumerate(ops)} if ops is not None else {}
    return sorted(cases, key=lambda c: (order.get(c.op, 0), c.op, c.name))


def _tested_op(name: str, model: onnx.ModelProto, models: dict[str, onnx.ModelProto]) -> str | None:
    if "_expanded" in name:
        base = models.get(name[:name.index("_expanded")])
        return _tested_op("", base, models) if base is not None else None
    producers = {out: _op_name(node) for node in model.graph.node for out in node.output}
    return producers.get(model.graph.output[0].name) if model.graph.output else None


def _op_name(node: onnx.NodeProto) -> str:
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"


def _read_case(archive: zipfile.ZipFile, name: str, op: str, model: onnx.ModelProto) -> Case:
    folder = f"{NODE_DATA}{name}/test_data_set_0/"
    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [vi for vi in model.graph.input if vi.name not in initializers]
    inputs = [(vi, _read_tensor(archive, f"{folder}input_{i}.pb", vi)) for i, vi in enumerate(graph_inputs)]
    outputs = [(vo, _read_tensor(archive, f"{folder}output_{i}.pb", vo)) for i, vo in enumerate(model.graph.output)]
    return Case(name, op, model, inputs, outputs)


def _read_tensor(archive: zipfile.ZipFile, path: str, info: onnx.ValueInfoProto) -> np.ndarray | None:
    if info.type.WhichOneof("value") != "tensor_type":
        return None
    tensor = onnx.TensorProto()
    tensor.ParseFromString(archive.read(path))
    return numpy_helper.to_array(tensor)


def _all_nodes(graph: onnx.GraphProto):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _all_nodes(sub)


def scope(case: Case) -> tuple[str, str] | None:
    """None if the case is in --all's scope, else (OUT_OF_SCOPE key, the one-line reason)."""
    nodes = list(_all_nodes(case.model.graph))
    other = sorted({node.domain for node in nodes if node.domain not in ("", "ai.onnx")}
                   | ({case.op.split("::")[0]} if "::" in case.op else set()))  # an expanded case's own op
    if other:
        return "domain", f"uses the {', '.join(other)} domain"
    ops = {node.op_type for node in nodes}
    values = case.inputs + case.outputs
    strings = [info.name for info, _ in values if info.type.WhichOneof("value") == "tensor_type"
               and info.type.tensor_type.elem_type == onnx.TensorProto.STRING]
    if strings or ops & STRING_OPS:
        return "strings", (f"{strings[0]!r} is a string tensor" if strings else f"{min(ops & STRING_OPS)} works on strings")
    for role, entries in (("input", case.inputs), ("output", case.outputs)):
        for info, _ in entries:
            kind = info.type.WhichOneof("value")
            if kind != "tensor_type":
                return "sequences", f"{role} {info.name!r} is {NON_TENSOR_KINDS.get(kind, 'a value of no type')}"
    if ops & SEQUENCE_OPS:
        return "sequences", f"uses {', '.join(sorted(ops & SEQUENCE_OPS))}"
    if ops & RANDOM_OPS:
        return "random", f"{min(ops & RANDOM_OPS)} draws random numbers"
    if _random_dropout(case, nodes):
        return "random", "Dropout in training mode with a nonzero ratio draws a random mask"
    if case.op in LOSS_OPS:
        return "loss", f"{case.op} is a training loss"
    if case.op in DATA_DEPENDENT_OPS:
        return "data-dependent", f"{case.op}'s output shape depends on its input values"
    if case.op == "ImageDecoder":
        return "ImageDecoder", "decodes an encoded image (its output shape is in the bytes)"
    return None


def _random_dropout(case: Case, nodes: list[onnx.NodeProto]) -> bool:
    """A Dropout whose training_mode is true and whose ratio is not 0 (its mask is random)."""
    known = {vi.name: value for vi, value in case.inputs if value is not None}
    known.update({t.name: numpy_helper.to_array(t) for t in case.model.graph.initializer})
    for node in nodes:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    known[node.output[0]] = numpy_helper.to_array(attr.t)
    for node in nodes:
        if node.op_type != "Dropout" or len(node.input) < 3 or not node.input[2]:
            continue
        training = known.get(node.input[2])
        ratio = known.get(node.input[1]) if len(node.input) > 1 and node.input[1] else np.array(0.5)
        if training is None or bool(np.asarray(training).reshape(-1)[0]):
            if ratio is None or float(np.asarray(ratio).reshape(-1)[0]) != 0.0:
                return True
    return False


# -- binding and compiling -----------------------------------------------------------------------


@dataclass
class Compiled:
    """A case compiled to a bundle, with the inputs to run it on."""

    bundle: Path
    inputs: dict[str, np.ndarray]
    baked: tuple[str, ...]  # inputs compiled in as initializers


def is_float_dtype(dtype: np.dtype) -> bool:
    return np.dtype(dtype).name in FLOAT_NAMES


def bindings(case: Case) -> list[list[str]]:
    """The runtime input sets to try, in order: all, the float ones, the first alone."""
    names = [vi.name for vi, _ in case.inputs]
    floats = [vi.name for vi, value in case.inputs if value is not None and is_float_dtype(value.dtype)]
    tried: list[list[str]] = []
    for runtime in (names, floats, names[:1]):
        if (runtime or not names) and runtime not in tried:
            tried.append(runtime)
    return tried


def compile_case(case: Case, workdir: Path) -> Compiled:
    """Bind the case's inputs (see `bindings`) and compile it, taking the first binding edgewasm
    accepts; UnsupportedModelError if it refuses every binding (with the refusal of the most
    run-time binding that is not only a demand for constant operands, else the last refusal)."""
    from .compiler import compile_model

    for role, values in (("input", case.inputs), ("output", case.outputs)):
        for info, value in values:
            if value is None:
                kind = NON_TENSOR_KINDS.get(info.type.WhichOneof("value"), "a value of no type")
                raise UnsupportedModelError(f"{role} {info.name!r} is {kind}, not a tensor; "
                                            "edgewasm compiles tensors only")
    refusals = []
    tried = bindings(case)
    for attempt, runtime in enumerate(_with_shape_values(case, tried, refusals)):
        model = _bind(case, runtime)
        bundle = workdir / f"{case.name}.{attempt}"
        try:
            compile_model(model.SerializeToString(), bundle, name=case.name)
        except UnsupportedModelError as exc:
            refusals.append(exc)  # e.g. an operand must be a constant: compile more of them in
            continue
        inputs = {vi.name: value for vi, value in case.inputs if vi.name in runtime}
        return Compiled(bundle, inputs, tuple(vi.name for vi, _ in case.inputs if vi.name not in runtime))
    raise next((exc for exc in refusals if not needs_constant(exc)), refusals[-1])


def _with_shape_values(case: Case, tried: list[list[str]], refusals: list):
    """The bindings of `bindings`, then, while refusals name inputs whose value is an output's shape,
    each binding with those inputs compiled in and every other input at run time."""
    yield from tried
    names = [vi.name for vi, _ in case.inputs]
    seen = {tuple(runtime) for runtime in tried}
    checked = 0
    while checked < len(refusals):
        match = SHAPE_VALUE.search(str(refusals[checked]))
        checked += 1
        if match is None:
            continue
        shape_inputs = set(re.findall(r"'([^']*)'", match.group(1)))
        runtime = [name for name in names if name not in shape_inputs]
        if shape_inputs & set(names) and tuple(runtime) not in seen:
            seen.add(tuple(runtime))
            yield runtime


def needs_constant(exc: BaseException | str) -> bool:
    """Whether a refusal only asks for operands known at compile time (a binding with more inputs
    compiled in may be accepted)."""
    text = str(exc)
    return bool(NEEDS_CONSTANT.search(text) or RUN_TIME_VALUE.search(text))


def _bind(case: Case, runtime: list[str]) -> onnx.ModelProto:
    """The case's model with inputs outside `runtime` as initializers (kept in graph.input too, as
    IR < 4 requires) and runtime inputs declared with their test data's shapes."""
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    values = {vi.name: value for vi, value in case.inputs}
    for vi in model.graph.input:
        if vi.name not in values:
            continue
        if vi.name in runtime:
            shape = vi.type.tensor_type.shape
            del shape.dim[:]
            for d in values[vi.name].shape:
                shape.dim.add().dim_value = d
        else:
            model.graph.initializer.append(numpy_helper.from_array(values[vi.name], vi.name))
    return model


# -- comparing -------------------------------------------------------------------------------------


def compare(name: str, actual, expected: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> str | None:
    """None if `actual` meets the check for `expected`, else a one-line reason."""
    actual = np.asarray(actual)
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        return (f"output {name!r} is {_dtype_name(actual.dtype)}{list(actual.shape)}, "
                f"expected {_dtype_name(expected.dtype)}{list(expected.shape)}")
    if is_float_dtype(expected.dtype):
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.abs(a[bad] - e[bad])
            nan = np.isnan(diff)
            detail = ([f"max |diff| {diff[~nan].max():.3g}"] if not nan.all() else []) + \
                ([f"{int(nan.sum())} NaN against a number"] if nan.any() else [])
            return (f"output {name!r}: {int(bad.sum())} of {bad.size} values outside {tolerance(rtol, atol)} "
                    f"({', '.join(detail)})")
        return None
    a, e = _exact(actual), _exact(expected)
    if not np.array_equal(a, e):
        return f"output {name!r}: {int((a != e).sum())} of {expected.size} values differ"
    return None


def tolerance(rtol: float = RTOL, atol: float = ATOL) -> str:
    def number(x: float) -> str:
        return np.format_float_scientific(x, trim="-", exp_digits=1) if x else "0"

    return f"rtol {number(rtol)} + atol {number(atol)}"


def _exact(value: np.ndarray) -> np.ndarray:
    """Integers and booleans as numpy's own types (ml_dtypes' int4/uint4 widened)."""
    return value.astype(np.int64) if value.dtype.type.__module__ == "ml_dtypes" else value


def _dtype_name(dtype: np.dtype) -> str:
    return "bool" if dtype == np.bool_ else np.dtype(dtype).name


# -- onnxruntime, the anchor -----------------------------------------------------------------------


def run_onnxruntime(case: Case) -> dict[str, np.ndarray]:
    """The case's original model on onnxruntime's CPU provider, one thread, every input fed (an input
    onnxruntime's Python API cannot take, a packed sub-byte type, goes in as an initializer)."""
    import onnxruntime as ort

    from .dtypes import ONNX_TYPES

    model, feeds = case.model, {}
    for info, value in case.inputs:
        if value.dtype.name in SUB_BYTE_BITS:
            if model is case.model:
                model = onnx.ModelProto()
                model.CopyFrom(case.model)
            model.graph.initializer.append(numpy_helper.from_array(value, info.name))
        elif value.dtype.type.__module__ == "ml_dtypes":
            raw = np.ascontiguousarray(value).view(f"<u{value.dtype.itemsize}")
            feeds[info.name] = ort.OrtValue.ortvalue_from_numpy_with_onnx_type(raw, ONNX_TYPES[value.dtype.name])
        else:
            feeds[info.name] = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(value))
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 4  # its failures are the anchor's reasons, not log lines
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [info.name for info, _ in case.outputs]
    return dict(zip(names, (_from_ort(v) for v in session.run_with_ort_values(names, feeds))))


def _from_ort(value) -> np.ndarray:
    """An OrtValue as numpy, bfloat16, the float8 and the sub-byte types as ml_dtypes arrays (onnxruntime's
    Python API has no numpy type for them: their bytes are read from the CPU buffer)."""
    from .dtypes import from_onnx, numpy_dtype

    name = from_onnx(value.element_type())
    if name is None or not (name in SUB_BYTE_BITS or name == "bfloat16" or name.startswith("float8")):
        return value.numpy()
    shape = tuple(value.shape())
    raw = np.frombuffer(ctypes.string_at(value.data_ptr(), value.tensor_size_in_bytes()), np.uint8)
    if name in SUB_BYTE_BITS:  # packed low bits first; ml_dtypes keeps one element in the low bits of a byte
        bits = SUB_BYTE_BITS[name]
        per = 8 // bits
        codes = ((raw[:, None] >> (np.arange(per, dtype=np.uint8) * bits)) & ((1 << bits) - 1)).reshape(-1)
        return codes[:int(np.prod(shape))].view(numpy_dtype(name)).reshape(shape)
    return raw.view(numpy_dtype(name)).reshape(shape).copy()


# -- running -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    case: str
    op: str
    dtype: str  # Case.dtype
    status: str  # passed | failed | skipped (refused with an UnsupportedModelError)
    reason: str = ""  # why it failed or was skipped
    kind: str = ""  # for failures: mismatch | parity | error (a typed edgewasm error) | crash (anything else)
    baked: tuple[str, ...] = ()  # inputs compiled in as initializers
    ort: str = ""  # onnxruntime: "passed", or why not; "" when onnxruntime was not run
    seconds: float = 0.0  # edgewasm's compile and run

    @property
    def ort_passed(self) -> bool:
        return self.ort == "passed"


def anchor(case: Case, rtol: float = RTOL, atol: float = ATOL) -> str:
    """onnxruntime's verdict on the case under the same check: "passed" or the one-line reason."""
    try:
        results = run_onnxruntime(case)
    except Exception as exc:  # onnxruntime refuses or fails the model
        return f"{type(exc).__name__}: {_first_line(exc)}"
    for info, expected in case.outputs:
        reason = compare(info.name, results[info.name], expected, rtol, atol)
        if reason:
            return reason
    return "passed"


def run_case(case: Case, workdir: Path, session=None, rtol: float = RTOL, atol: float = ATOL,
             onnxruntime: bool = False) -> Outcome:
    """Compile and run one case on wasmtime, and also in `session` (a BrowserSession) if given; with
    `onnxruntime`, also run onnxruntime on it (Outcome.ort)."""
    started = time.monotonic()
    outcome = _run_edgewasm(case, workdir, session, rtol, atol)
    outcome.seconds = time.monotonic() - started
    if onnxruntime:
        outcome.ort = anchor(case, rtol, atol)
    return outcome


def _run_edgewasm(case: Case, workdir: Path, session, rtol: float, atol: float) -> Outcome:
    import edgewasm
    from .engines import bit_identical

    outcome = Outcome(case.name, case.op, case.dtype, "passed")
    try:
        compiled = compile_case(case, workdir)
    except UnsupportedModelError as exc:
        outcome.status, outcome.reason = "skipped", _first_line(exc)
        return outcome
    except EdgewasmError as exc:
        return _fail(outcome, "error", f"{type(exc).__name__}: {_first_line(exc)}")
    except Exception as exc:  # a bug in edgewasm: report it, keep going
        return _fail(outcome, "crash", f"{type(exc).__name__}: {_first_line(exc)}")
    outcome.baked = compiled.baked
    engines = {"wasmtime": lambda: edgewasm.load(compiled.bundle).run(compiled.inputs)}
    if session is not None:
        engines["browser"] = lambda: session.run(compiled.bundle, compiled.inputs)
    results = {}
    for engine, run in engines.items():
        try:
            results[engine] = run()
        except EdgewasmError as exc:
            return _fail(outcome, "error", f"{engine}: {type(exc).__name__}: {_first_line(exc)}")
        except Exception as exc:
            return _fail(outcome, "crash", f"{engine}: {type(exc).__name__}: {_first_line(exc)}")
    for info, expected in case.outputs:
        name = info.name
        for engine, outputs in results.items():
            if name not in outputs:
                return _fail(outcome, "error", f"{engine}: output {name!r} is missing")
        if "browser" in results and not bit_identical(results["browser"][name], results["wasmtime"][name]):
            return _fail(outcome, "parity", f"output {name!r}: browser and wasmtime bits differ")
    for info, expected in case.outputs:  # parity first: a browser difference is never hidden by a mismatch
        reason = compare(info.name, results["wasmtime"][info.name], expected, rtol, atol)
        if reason:
            return _fail(outcome, "mismatch", reason)
    return outcome


def _fail(outcome: Outcome, kind: str, reason: str) -> Outcome:
    outcome.status, outcome.kind, outcome.reason = "failed", kind, reason
    return outcome


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


@dataclass
class OutOfScope:
    case: str
    op: str
    dtype: str
    why: str  # OUT_OF_SCOPE key
    reason: str  # one line


@dataclass
class Report:
    engine: str
    outcomes: list[Outcome]
    ops: list[str]
    mode: str = "targets"  # targets (TARGET_OPS) | ops (--ops) | all (--all)
    out_of_scope: list[OutOfScope] = field(default_factory=list)
    seconds: float = 0.0
    rtol: float = RTOL
    atol: float = ATOL
    anchored: bool = True  # onnxruntime ran on every case
    totals: Counter = field(init=False)

    def __post_init__(self) -> None:
        self.totals = Counter(o.status for o in self.outcomes)
        self.totals["onnxruntime"] = sum(o.ort_passed for o in self.outcomes)

    def per_op(self) -> list[tuple[str, int, int, int, int, int]]:
        """(op, cases, passed, failed, skipped, onnxruntime passed) per op with in-scope cases."""
        counts: dict[str, Counter] = {}
        for o in self.outcomes:
            c = counts.setdefault(o.op, Counter())
            c["cases"] += 1
            c[o.status] += 1
            c["ort"] += o.ort_passed
        return [(op, c["cases"], c["passed"], c["failed"], c["skipped"], c["ort"])
                for op, c in sorted(counts.items(), key=lambda kv: self._op_order(kv[0]))]

    def per_op_dtype(self) -> list[tuple[str, str, list[Outcome]]]:
        groups: dict[tuple[str, str], list[Outcome]] = {}
        for o in self.outcomes:
            groups.setdefault((o.op, o.dtype), []).append(o)
        return [(op, dtype, group) for (op, dtype), group in
                sorted(groups.items(), key=lambda kv: (self._op_order(kv[0][0]), kv[0][1]))]

    def _op_order(self, op: str):
        return (self.ops.index(op), op) if op in self.ops else (len(self.ops), op)

    def command(self) -> str:
        flag = {"all": " --all", "ops": f" --ops {','.join(self.ops)}"}.get(self.mode, "")
        return f"edgewasm conformance --engine {self.engine}{flag}"

    def summary(self) -> str:
        text = f"{self.totals['passed']} passed, {self.totals['failed']} failed, {self.totals['skipped']} skipped"
        if self.anchored:
            text += f"; onnxruntime {self.totals['onnxruntime']} passed of {len(self.outcomes)}"
        return text


def run_conformance(ops: list[str] | None = None, engine: str = "wasmtime", cache: Path | None = None,
                    session=None, log: Log = _stderr, *, all_ops: bool = False, onnxruntime: bool = True,
                    rtol: float = RTOL, atol: float = ATOL) -> Report:
    """Run the in-scope node cases of `ops` (default TARGET_OPS; every op with `all_ops`) on `engine`
    (wasmtime or browser), and onnxruntime on each of them unless `onnxruntime` is False.

    The browser engine runs each case in one BrowserSession (`session`, or one started here) and
    also on wasmtime, and fails any case whose outputs differ in a single bit.
    """
    if engine not in ("wasmtime", "browser"):
        raise ConformanceError(f"engine must be wasmtime or browser, got {engine!r}")
    if all_ops and ops:
        raise ConformanceError("choose either every op (--all) or some (--ops), not both")
    if onnxruntime:
        try:
            import onnxruntime as _  # noqa: F401
        except ImportError:
            raise ConformanceError("the onnxruntime anchor needs the onnxruntime package "
                                   "(pip install onnxruntime)") from None
    mode = "all" if all_ops else "ops" if ops else "targets"
    chosen = None if all_ops else list(dict.fromkeys(ops or TARGET_OPS))
    cases = load_cases(fetch_wheel(cache, log), chosen)
    if chosen is not None:
        missing = [op for op in chosen if op not in {c.op for c in cases}]
        if missing:
            raise ConformanceError(f"onnx=={ONNX_RELEASE} has no node test cases for {', '.join(missing)} "
                                   "(op types are case-sensitive, e.g. Conv, MatMul)")
    out = [OutOfScope(c.name, c.op, c.dtype, *c.scope) for c in cases if c.scope]
    cases = [c for c in cases if not c.scope]
    ops_run = chosen if chosen is not None else sorted({c.op for c in cases})
    log(f"{len(cases)} node cases of {len(ops_run)} ops on {engine}"
        + (" and onnxruntime" if onnxruntime else "") + (f" ({len(out)} out of scope)" if out else ""))
    started = time.monotonic()
    outcomes = []
    with contextlib.ExitStack() as stack:
        if engine == "wasmtime":
            session = None
        elif session is None:
            from .browser import BrowserSession

            session = stack.enter_context(BrowserSession(log=log))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edgewasm-conformance-")))
        for op in ops_run:
            mine = [run_case(case, workdir, session, rtol, atol, onnxruntime) for case in cases if case.op == op]
            outcomes += mine
            if mine:
                tally = Counter(o.status for o in mine)
                ort = f"; onnxruntime {sum(o.ort_passed for o in mine)}" if onnxruntime else ""
                log(f"  {op}: {tally['passed']} passed, {tally['failed']} failed, {tally['skipped']} skipped{ort}")
    return Report(engine, outcomes, ops_run, mode, out, time.monotonic() - started, rtol, atol, onnxruntime)


# -- the report ----------------------------------------------------------------------------------


def table(report: Report) -> str:
    """The per-op table in Markdown (also what the CLI prints)."""
    ort = report.anchored
    rows = ["| op | cases | passed | failed | skipped |" + (" onnxruntime passed |" if ort else ""),
            "|---|---:|---:|---:|---:|" + ("---:|" if ort else "")]
    for op, cases, passed, failed, skipped, ort_passed in report.per_op():
        rows.append(f"| {op} | {cases} | {passed} | {failed} | {skipped} |" + (f" {ort_passed} |" if ort else ""))
    t = report.totals
    rows.append(f"| **total** | **{len(report.outcomes)}** | **{t['passed']}** | **{t['failed']}** | "
                f"**{t['skipped']}** |" + (f" **{t['onnxruntime']}** |" if ort else ""))
    return "\n".join(rows)


def cause(outcome: Outcome) -> str:
    """The kind of work an edgewasm non-pass asks for (the grouping of the report's causes table)."""
    if outcome.status == "failed":
        return {"mismatch": "numerical mismatch", "parity": "browser bits differ",
                "error": "typed error", "crash": "crash (untyped exception)"}[outcome.kind]
    text = outcome.reason
    if text.startswith("unsupported ONNX operator"):
        return "unsupported op"
    if needs_constant(outcome.reason):
        return "needs a constant operand"
    if re.search(r"graph output .* is a constant", text):
        return "output is a compile-time constant"
    if DTYPE_REFUSAL.search(text):
        return "unsupported dtype"
    return "unsupported attribute, input or form"


def _unsupported_ops(text: str) -> list[str]:
    body = text.split(":", 1)[1] if ":" in text else text
    return [part.split(" (")[0].strip() for part in body.split(";") if part.strip()]


def causes(report: Report) -> list[tuple[str, int, Counter]]:
    """(cause, cases, Counter of what: an unsupported op's name, else the op of the case) by cases, most first."""
    groups: dict[str, Counter] = {}
    for o in report.outcomes:
        if o.status == "passed":
            continue
        c = cause(o)
        names = _unsupported_ops(o.reason) if c == "unsupported op" else [f"{o.op} {o.dtype}"]
        for name in names:
            groups.setdefault(c, Counter())[name] += 1
    totals = Counter(cause(o) for o in report.outcomes if o.status != "passed")
    return sorted(((c, totals[c], names) for c, names in groups.items()), key=lambda row: -row[1])


def markdown(report: Report, detail_link: str | None = None) -> str:
    """The report: totals, scope, causes, the op x dtype table, and (unless `detail_link` names the
    file they are in) every case's outcome per op."""
    from . import __version__

    t = report.totals
    n = len(report.outcomes)
    tol = tolerance(report.rtol, report.atol)
    lines = [
        "# ONNX backend conformance",
        "",
        f"Generated by `{report.command()}` (edgewasm {__version__}); do not edit by hand.",
        "",
        f"The node test cases of the onnx=={ONNX_RELEASE} wheel (the last release that ships them)"
        + {"all": ": every case whose op is in scope (below)",
           "ops": " of the ops below", "targets": " of the CNN, MLP and transformer ops below"}[report.mode]
        + ". A case belongs to the op it tests (an `_expanded` case to the op whose function body it is). "
        "In scope: default-domain ops whose output shapes follow from static input shapes, in every dtype. "
        "Out of scope, counted apart with their reasons: other domains, strings, sequences and optionals, random "
        "generators (and Dropout in training mode with a nonzero ratio), training losses, ops whose output shape "
        "depends on the data (NonZero, Unique, Compress, NonMaxSuppression) and ImageDecoder.",
        "",
        "Inputs are bound as a deployed model has them, keeping as much at run time as possible: every input at "
        "run time; if edgewasm refuses (typically because an operand must be a constant: weights, shapes, axes), "
        "the non-float inputs compiled in as initializers; then only the first input at run time. The first "
        "binding edgewasm accepts is run; the per-case tables name the inputs compiled in. Shapes are the case's "
        "own.",
        "",
        f"The check: every output has the expected dtype and shape; floats (every float dtype, compared in "
        f"float64) agree within {tol}, NaN equal to NaN; integers and booleans exactly"
        + ("; and the browser's outputs are bit-identical to wasmtime's" if report.engine == "browser" else "")
        + ". "
        + ("onnxruntime (CPU provider, one thread) runs every case on its original model, all inputs fed, in the "
           "same run under the same check: its column is the anchor. " if report.anchored else "")
        + "A case edgewasm refuses with a typed error (unsupported op, dtype, attribute) is skipped with that "
        "error as its reason and never counts as passed.",
        "",
        "## Totals",
        "",
        "| | passed | failed | skipped | cases |",
        "|---|---:|---:|---:|---:|",
        f"| edgewasm ({report.engine}) | {_share(t['passed'], n)} | {t['failed']} | {t['skipped']} | {n} |",
    ]
    if report.anchored:
        lines.append(f"| onnxruntime | {_share(t['onnxruntime'], n)} | {n - t['onnxruntime']} | | {n} |")
    both = sum(o.status == "passed" and o.ort_passed for o in report.outcomes)
    lines += ["", f"**{report.summary()}.**" + (f" Both pass {both}; edgewasm alone "
              f"{t['passed'] - both}; onnxruntime alone {t['onnxruntime'] - both}." if report.anchored else "")
              + f" {sum(o.status == 'passed' and bool(o.baked) for o in report.outcomes)} of edgewasm's passes compile "
              f"some inputs in. {len(report.ops)} ops; the run took {report.seconds:.0f} s."]
    if report.out_of_scope:
        lines += ["", f"## Out of scope ({len(report.out_of_scope)} cases)", "",
                  "| reason | cases | ops |", "|---|---:|---|"]
        for key, label in OUT_OF_SCOPE.items():
            chosen = [o for o in report.out_of_scope if o.why == key]
            if chosen:
                ops = Counter(o.op for o in chosen)
                lines.append(f"| {label} | {len(chosen)} | "
                             + ", ".join(f"{op} ({k})" for op, k in sorted(ops.items())) + " |")
    rows = causes(report)
    lines += ["", "## Why edgewasm misses, by cause", ""]
    if not rows:
        lines.append("None: edgewasm passes every in-scope case of this run.")
    else:
        lines += ["| cause | cases | op (cases) |", "|---|---:|---|"]
        for c, k, names in rows:
            lines.append(f"| {c} | {k} | " + ", ".join(f"{name} ({m})" for name, m in names.most_common()) + " |")
    lines += ["", "## Per op", "", table(report),
              "", "## Per op and dtype", "",
              "The dtype is the case's first input's, then its first output's after an arrow when that differs.",
              "",
              "| op | dtype | cases | edgewasm | onnxruntime | why edgewasm does not pass |",
              "|---|---|---:|---:|---:|---|"]
    for op, dtype, group in report.per_op_dtype():
        why = Counter(o.reason for o in group if o.status != "passed")
        text = "; ".join(f"{_cell(r)}" + (f" (x{k})" if k > 1 else "") for r, k in why.most_common())
        lines.append(f"| {op} | {dtype} | {len(group)} | {sum(o.status == 'passed' for o in group)} | "
                     f"{sum(o.ort_passed for o in group) if report.anchored else ''} | {text} |")
    if detail_link:
        lines += ["", f"Every case's outcome, with the inputs compiled in and onnxruntime's reasons: [{detail_link}]"
                  f"({detail_link})."]
    else:
        lines += [""] + cases_markdown(report).split("\n", 2)[2].splitlines()
    return "\n".join(lines) + "\n"


def cases_markdown(report: Report) -> str:
    """Every case, one table per op: dtype, the inputs compiled in, edgewasm's and onnxruntime's outcome."""
    lines = ["# ONNX backend conformance: every case", "",
             f"## Cases, per op (`{report.command()}`)"]
    for op, group in _by_op(report):
        lines += ["", f"### {op}", "", "| case | dtype | compiled in | edgewasm | onnxruntime |", "|---|---|---|---|---|"]
        for o in group:
            ours = "pass" if o.status == "passed" else f"{o.status}: {_cell(o.reason)}"
            theirs = ("pass" if o.ort_passed else _cell(o.ort)) if o.ort else ""
            lines.append(f"| `{o.case}` | {o.dtype} | {', '.join(o.baked)} | {ours} | {theirs} |")
    if report.out_of_scope:
        lines += ["", "## Out of scope", "", "| case | op | reason |", "|---|---|---|"]
        for o in report.out_of_scope:
            lines.append(f"| `{o.case}` | {o.op} | {OUT_OF_SCOPE[o.why]}: {_cell(o.reason)} |")
    return "\n".join(lines) + "\n"


def _by_op(report: Report) -> list[tuple[str, list[Outcome]]]:
    groups: dict[str, list[Outcome]] = {}
    for o in report.outcomes:
        groups.setdefault(o.op, []).append(o)
    return sorted(groups.items(), key=lambda kv: report._op_order(kv[0]))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _share(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f}%)" if whole else f"{part}"


def write_markdown(report: Report, path: Path) -> list[Path]:
    """Write the report to `path`; an --all run puts every case's outcome in `<stem>-all.md` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if report.mode != "all":
        path.write_text(markdown(report))
        return [path]
    detail = path.with_name(f"{path.stem}-all{path.suffix or '.md'}")
    detail.write_text(cases_markdown(report))
    path.write_text(markdown(report, detail.name))
    return [path, detail]

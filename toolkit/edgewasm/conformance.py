"""ONNX backend conformance: run onnx's own node test cases through edgewasm and report per op.

onnx stopped shipping the node test data after 1.22.0, so the cases are read straight out of that
release's wheel (fetched once with pip into the cache). Every case of a target op is compiled to a
bundle and run; outputs must agree with onnx's expected outputs within the fp32 numerics contract
(rtol 1e-4, atol 1e-5; integers exactly). On the browser engine the outputs must also be
bit-identical to wasmtime's. A case edgewasm refuses with a typed UnsupportedModelError is
*skipped* with that message as its reason and never counts as passed.

edgewasm compiles weights into the module and computes in float32, so a case's inputs are bound
the way a deployed model would have them: non-float inputs (shapes, axes, indices) become
initializers; every float input stays a runtime input, and if the importer requires an operand to
be constant (a Conv's W, a Resize's scales) the case is compiled again with only its first input
at runtime. Each outcome records which float inputs were compiled in. A case with no float32 input
keeps every input at runtime, where the importer admits those the graph casts to FLOAT, or else its
first input alone (the others, such as a float64 reduction's axes, compiled in).
"""

from __future__ import annotations

import contextlib
import os
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
RTOL, ATOL = 1e-4, 1e-5
TOLERANCE = "atol 1e-5 + rtol 1e-4"

# The ops of the conformance issue: CNN, MLP and transformer building blocks.
TARGET_OPS = (
    "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
    "LayerNormalization", "Softmax", "LogSoftmax", "MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Pow",
    "Sqrt", "Exp", "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Gelu",
    "Erf", "Flatten", "Reshape", "Transpose", "Concat", "Squeeze", "Unsqueeze", "Slice", "Gather",
    "Shape", "Cast", "Pad", "Identity", "Dropout", "ReduceMean", "Resize",
)


NON_TENSOR_KINDS = {"sequence_type": "a sequence", "optional_type": "an optional", "map_type": "a map",
                    "sparse_tensor_type": "a sparse tensor"}

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

    @property
    def is_float(self) -> bool:
        """Every expected output is float32: the cases the fp32 numerics contract is about."""
        return all(value is not None and value.dtype == np.float32 for _, value in self.outputs)


def load_cases(wheel: Path, ops: list[str] | None = None) -> list[Case]:
    """The node cases of `ops` (default TARGET_OPS), sorted by op then name.

    A case belongs to op X when X is the op it tests and every op its graph uses is among the
    selected ops and the target ops; `_expanded` cases test the op they expand.
    """
    selected = list(ops or TARGET_OPS)
    universe = set(TARGET_OPS) | set(selected)
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
            used = {node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
                    for node in model.graph.node}
            if op in selected and used <= universe:
                cases.append(_read_case(archive, name, op, model))
    return sorted(cases, key=lambda c: (selected.index(c.op), c.name))


def _tested_op(name: str, model: onnx.ModelProto, models: dict[str, onnx.ModelProto]) -> str | None:
    if "_expanded" in name:
        base = models.get(name[:name.index("_expanded")])
        return _tested_op("", base, models) if base is not None else None
    producers = {out: node.op_type for node in model.graph.node for out in node.output}
    return producers.get(model.graph.output[0].name) if model.graph.output else None


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


# -- binding and compiling -----------------------------------------------------------------------


@dataclass
class Compiled:
    """A case compiled to a bundle, with the inputs to run it on."""

    bundle: Path
    inputs: dict[str, np.ndarray]
    baked: tuple[str, ...]  # float inputs compiled in as constants (non-float ones always are)


def compile_case(case: Case, workdir: Path) -> Compiled:
    """Bind the case's inputs (see the module docstring) and compile it; UnsupportedModelError
    (with the most relevant binding's message) if edgewasm refuses every binding."""
    from .compiler import compile_model

    for role, values in (("input", case.inputs), ("output", case.outputs)):
        for info, value in values:
            if value is None:
                kind = NON_TENSOR_KINDS.get(info.type.WhichOneof("value"), "a value of no type")
                raise UnsupportedModelError(f"{role} {info.name!r} is {kind}, not a tensor; "
                                            "edgewasm compiles tensors only")
    floats = [vi.name for vi, value in case.inputs if value.dtype == np.float32]
    # Without a float input nothing is compiled in: the importer's verdict on the dtypes is the reason.
    bindings = [floats or [vi.name for vi, _ in case.inputs]]
    if case.inputs and case.inputs[0][0].name in floats and len(floats) > 1:
        bindings.append(floats[:1])  # operands the importer needs constant, compiled in as weights
    elif not floats and len(case.inputs) > 1:
        bindings.append([case.inputs[0][0].name])  # the data at runtime; axes, k, ... compiled in
    refusal = None
    for attempt, runtime in enumerate(bindings):
        model = _bind(case, runtime)
        bundle = workdir / f"{case.name}.{attempt}"
        try:
            compile_model(model.SerializeToString(), bundle, name=case.name)
        except UnsupportedModelError as exc:
            refusal = exc
            continue
        inputs = {vi.name: value for vi, value in case.inputs if vi.name in runtime}
        return Compiled(bundle, inputs, tuple(name for name in floats if name not in runtime))
    raise refusal


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


# -- running and comparing -----------------------------------------------------------------------


@dataclass
class Outcome:
    case: str
    op: str
    status: str  # passed | failed | skipped
    reason: str = ""  # why it failed or was skipped
    kind: str = ""  # for failures: mismatch | parity | error (a typed edgewasm error) | crash (anything else)
    baked: tuple[str, ...] = ()
    is_float: bool = False  # see Case.is_float


def compare(name: str, actual, expected: np.ndarray) -> str | None:
    """None if `actual` meets the contract for `expected`, else a one-line reason."""
    actual = np.asarray(actual)
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        return (f"output {name!r} is {actual.dtype}{list(actual.shape)}, "
                f"expected {expected.dtype}{list(expected.shape)}")
    if expected.dtype.kind == "f":
        bad = ~np.isclose(actual, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
        if bad.any():
            diff = np.abs(actual[bad].astype(np.float64) - expected[bad].astype(np.float64))
            nan = np.isnan(diff)
            detail = ([f"max |diff| {diff[~nan].max():.3g}"] if not nan.all() else []) + \
                ([f"{int(nan.sum())} NaN against a number"] if nan.any() else [])
            return f"output {name!r}: {int(bad.sum())} of {bad.size} values outside {TOLERANCE} ({', '.join(detail)})"
    elif not np.array_equal(actual, expected):
        return f"output {name!r}: {int((actual != expected).sum())} of {expected.size} values differ"
    return None


def run_case(case: Case, workdir: Path, session=None) -> Outcome:
    """Compile and run one case on wasmtime, and also in `session` (a BrowserSession) if given."""
    import edgewasm
    from .engines import bit_identical

    try:
        compiled = compile_case(case, workdir)
    except UnsupportedModelError as exc:
        return Outcome(case.name, case.op, "skipped", _first_line(exc), is_float=case.is_float)
    except EdgewasmError as exc:
        return Outcome(case.name, case.op, "failed", f"{type(exc).__name__}: {_first_line(exc)}", "error",
                       is_float=case.is_float)
    except Exception as exc:  # a bug in edgewasm: report it, keep going
        return Outcome(case.name, case.op, "failed", f"{type(exc).__name__}: {_first_line(exc)}", "crash",
                       is_float=case.is_float)
    outcome = Outcome(case.name, case.op, "passed", baked=compiled.baked, is_float=case.is_float)
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
        reason = compare(name, results["wasmtime"][name], expected)
        if reason:
            return _fail(outcome, "mismatch", reason)
    return outcome


def _fail(outcome: Outcome, kind: str, reason: str) -> Outcome:
    outcome.status, outcome.kind, outcome.reason = "failed", kind, reason
    return outcome


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class Report:
    engine: str
    outcomes: list[Outcome]
    ops: list[str]
    filtered: bool = False  # True when --ops chose the ops (the default is TARGET_OPS)
    seconds: float = 0.0
    totals: Counter = field(init=False)

    def __post_init__(self) -> None:
        self.totals = Counter(o.status for o in self.outcomes)

    def per_op(self) -> list[tuple[str, int, int, int, str]]:
        """(op, passed, failed, skipped, "float cases passed / float cases") per op."""
        counts = {op: Counter() for op in self.ops}
        for o in self.outcomes:
            counts[o.op][o.status] += 1
            counts[o.op]["float"] += o.is_float
            counts[o.op]["float passed"] += o.is_float and o.status == "passed"
        return [(op, c["passed"], c["failed"], c["skipped"], f"{c['float passed']} / {c['float']}")
                for op, c in counts.items()]

    def float_cases(self) -> tuple[int, int]:
        """(passed, all) over the float cases: the measure the conformance goal (>= 95%) is set on."""
        floats = [o for o in self.outcomes if o.is_float]
        return sum(o.status == "passed" for o in floats), len(floats)

    def command(self) -> str:
        return f"edgewasm conformance --engine {self.engine}" + (f" --ops {','.join(self.ops)}" if self.filtered else "")

    def summary(self) -> str:
        return f"{self.totals['passed']} passed, {self.totals['failed']} failed, {self.totals['skipped']} skipped"


def run_conformance(ops: list[str] | None = None, engine: str = "wasmtime", cache: Path | None = None,
                    session=None, log: Log = _stderr) -> Report:
    """Run every node case of `ops` (default TARGET_OPS) on `engine` (wasmtime or browser).

    The browser engine runs each case in one BrowserSession (`session`, or one started here) and
    also on wasmtime, and fails any case whose outputs differ in a single bit.
    """
    if engine not in ("wasmtime", "browser"):
        raise ConformanceError(f"engine must be wasmtime or browser, got {engine!r}")
    filtered = bool(ops)
    ops = list(dict.fromkeys(ops or TARGET_OPS))
    cases = load_cases(fetch_wheel(cache, log), ops)
    missing = [op for op in ops if op not in {c.op for c in cases}]
    if missing:
        raise ConformanceError(f"onnx=={ONNX_RELEASE} has no node test cases for {', '.join(missing)} "
                               "(op types are case-sensitive, e.g. Conv, MatMul)")
    log(f"{len(cases)} node cases of {len(ops)} ops on {engine}")
    started = time.monotonic()
    outcomes = []
    with contextlib.ExitStack() as stack:
        if engine == "wasmtime":
            session = None
        elif session is None:
            from .browser import BrowserSession

            session = stack.enter_context(BrowserSession(log=log))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edgewasm-conformance-")))
        for op in ops:
            mine = []
            for case in (c for c in cases if c.op == op):
                mine.append(run_case(case, workdir, session))
            outcomes += mine
            tally = Counter(o.status for o in mine)
            log(f"  {op}: {tally['passed']} passed, {tally['failed']} failed, {tally['skipped']} skipped")
    return Report(engine, outcomes, ops, filtered, time.monotonic() - started)


# -- the report ----------------------------------------------------------------------------------


def table(report: Report) -> str:
    """The per-op table in Markdown (also what the CLI prints)."""
    rows = ["| op | passed | failed | skipped | float cases passed |", "|---|---:|---:|---:|---:|"]
    rows += [f"| {op} | {p} | {f} | {s} | {fl} |" for op, p, f, s, fl in report.per_op()]
    t = report.totals
    rows.append(f"| **total** | **{t['passed']}** | **{t['failed']}** | **{t['skipped']}** | "
                f"**{' / '.join(map(str, report.float_cases()))}** |")
    return "\n".join(rows)


def markdown(report: Report) -> str:
    """docs/conformance.md: the table, how cases were chosen and bound, and every failure and skip."""
    from . import __version__

    t = report.totals
    ran = t["passed"] + t["failed"]
    baked = sum(1 for o in report.outcomes if o.status == "passed" and o.baked)
    float_passed, floats = report.float_cases()
    lines = [
        "# ONNX backend conformance",
        "",
        f"Generated by `{report.command()}` (edgewasm {__version__}); do not edit by hand.",
        "",
        f"The node test cases of the onnx=={ONNX_RELEASE} wheel (the last release that ships them) for the "
        "ops below. A case belongs to an op when it tests that op (an `_expanded` case tests the op whose "
        "function body it is) and every op its graph uses is a target (or selected) op. Outputs must agree "
        f"with onnx's expected outputs within {TOLERANCE} (NaN equals NaN; integer outputs exactly)"
        + (", and the browser's outputs must be bit-identical to wasmtime's." if report.engine == "browser" else ".")
        + " A case edgewasm refuses with a typed error (unsupported op, attribute or dtype) is skipped with "
        "that error as its reason and never counts as passed.",
        "",
        "Inputs are bound as a deployed model has them: non-float inputs (shapes, axes, indices) are compiled "
        "in as constants; float inputs stay runtime inputs unless the importer needs them constant (weights "
        f"such as a Conv's W), then only the first input stays at runtime (the {baked} passed cases listed "
        "last). A case without a float32 input keeps all its inputs at runtime: the module takes an input of "
        "another dtype (float16, float64, bfloat16, 8-bit and sub-byte types) when the graph casts it to FLOAT; "
        "if the importer needs its other inputs constant, only its first input stays at runtime.",
        "",
        table(report),
        "",
        f"**{report.summary()}.** Of the cases that compiled, {_share(t['passed'], ran)} pass; of all "
        f"{len(report.outcomes)} cases, {_share(t['passed'], len(report.outcomes))}. Of the {floats} float cases "
        f"(every expected output float32, the cases the fp32 numerics contract covers), {_share(float_passed, floats)} "
        "pass.",
    ]
    for status in ("failed", "skipped"):
        chosen = [o for o in report.outcomes if o.status == status]
        if chosen:
            lines += ["", f"## {status.capitalize()} ({len(chosen)})", ""]
            lines += [f"- `{o.case}` ({o.op}{', ' + o.kind if o.kind else ''}): {o.reason}" for o in chosen]
    chosen = [o for o in report.outcomes if o.status == "passed" and o.baked]
    if chosen:
        lines += ["", f"## Passed with float inputs compiled in as constants ({len(chosen)})", ""]
        lines += [f"- `{o.case}` ({o.op}): {', '.join(o.baked)}" for o in chosen]
    return "\n".join(lines) + "\n"


def _share(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f}%)" if whole else f"{part}"


def write_markdown(report: Report, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(report))
    return path

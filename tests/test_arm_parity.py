"""Same bits on ARM, NaNs included: every output of a parity suite run in arm64 V8 (the official arm64
Node under qemu user-mode emulation: edgewasm.arm64, installed by .ci/arm64-setup), and on wasmtime's
aarch64 build (Cranelift's aarch64 backend, in Debian's arm64 CPython under qemu), equals, bit for
bit, NaN payloads and signs included, the output of the same bundle on wasmtime on this x86-64
machine. The suite: an MLP in every variant kind (fp32, fp16, int8, int16, sparse), a MobileNetV2-
style CNN, a transformer encoder, models whose outputs are NaN and infinities in every float dtype,
and a sample of onnx's node test cases run with NaN and infinity in their float inputs.

All runs go to one Node process (emulation starts in about a second); V8 runs them in its default
tiers and then again with Liftoff only and TurboFan only. Skips when the engine is not installed,
except under CI=true, where .ci/run installs it and a missing engine is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm import arm64
from edgewasm.errors import EdgewasmError
from tests.cnn_models import make_mobilenet_v2
from tests.models import make_mlp
from tests.transformer_models import encoder_inputs, make_encoder

CANONICAL = {"float32": 0x7FC00000, "float64": 0x7FF8000000000000, "float16": 0x7E00, "bfloat16": 0x7FC0}
TIERS = {"default": [], "liftoff": ["--liftoff", "--no-wasm-tier-up"], "turbofan": ["--no-liftoff"]}
CONFORMANCE_OPS = ["Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Log", "Exp", "Max", "Min", "Mean", "Sum", "Abs", "Neg",
                   "Reciprocal", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "ReduceMax", "ReduceMin",
                   "ReduceSum", "ReduceMean", "Clip", "Floor", "Ceil", "Round", "Sin", "Cos", "Erf", "Gemm", "MatMul",
                   "Cast", "Where", "Mod", "Atan", "Acos", "Asin", "Elu", "Selu", "Softplus", "HardSigmoid"]


def _engine() -> list[str]:
    command = arm64.node_command()
    if command is None:
        message = f"the arm64 engine is not installed: {arm64.SETUP_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return command


def _python_engine() -> list[str]:
    command = arm64.python_command()
    if command is None:
        message = f"the arm64 CPython is not installed: {arm64.SETUP_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return command


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view(f"u{a.dtype.itemsize}") if a.dtype.itemsize in (1, 2, 4, 8) and a.dtype != np.bool_ else a


def _save(tmp: Path, proto: onnx.ModelProto, name: str) -> Path:
    path = tmp / f"{name}.onnx"
    onnx.save(proto, path)
    return path


def _specials(shape, dtype, rng) -> np.ndarray:
    """Random values with NaN (both signs, several payloads), +-inf, +-0 and extremes sprinkled in."""
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    special = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 3.0e38, -1.0e-40], np.float32)
    picks = rng.random(flat.size) < 0.15
    flat[picks] = special[rng.integers(0, special.size, picks.sum())]
    x = x.astype(dtype)
    raw = _bits(x).reshape(-1)
    nans = np.flatnonzero(np.isnan(x.reshape(-1).astype(np.float64)))
    if nans.size and raw.dtype.itemsize >= 2:  # NaNs with payloads and a sign set, as inputs may carry
        width = raw.dtype.itemsize * 8
        raw[nans[::2]] |= raw.dtype.type(1)
        raw[nans[1::3]] |= raw.dtype.type(1 << (width - 1))
    return x


def _nan_models(tmp: Path) -> list[tuple[Path, list[dict], str | None]]:
    """Each float dtype: 0/0, inf-inf, 0*inf, sqrt(-1), log(-1) and NaN inputs passed through ops."""
    items = []
    for dtype, onnx_type in (("float32", TensorProto.FLOAT), ("float16", TensorProto.FLOAT16),
                             ("float64", TensorProto.DOUBLE), ("bfloat16", TensorProto.BFLOAT16)):
        nodes = [helper.make_node("Div", ["a", "b"], ["div"]), helper.make_node("Sub", ["a", "b"], ["sub"]),
                 helper.make_node("Mul", ["a", "b"], ["mul"]), helper.make_node("Max", ["a", "b"], ["max"]),
                 helper.make_node("Relu", ["a"], ["relu"]),
                 helper.make_node("Transpose", ["div"], ["moved"], perm=[1, 0])]
        outputs = ["div", "sub", "mul", "max", "relu", "moved"]
        if dtype in ("float32", "float64"):
            nodes += [helper.make_node("Sqrt", ["a"], ["sqrt"]), helper.make_node("Log", ["a"], ["log"])]
            outputs += ["sqrt", "log"]
        graph = helper.make_graph(nodes, f"nan_{dtype}",
                                  [helper.make_tensor_value_info(n, onnx_type, [5, 7]) for n in "ab"],
                                  [helper.make_tensor_value_info(n, onnx_type, [7, 5] if n == "moved" else [5, 7]) for n in outputs])
        proto = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 17)])
        out = tmp / f"nan_{dtype}"
        edgewasm.compile(_save(tmp, proto, f"nan_{dtype}"), out)
        np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
        zero_inf = np.array([0, 0, np.inf, np.inf, -np.inf, 1, -1], np.float32)
        fixed = {"a": np.tile(np.array([0, np.inf, 0, np.inf, -1, np.nan, -np.nan], np.float32), (5, 1)).astype(np_dtype),
                 "b": np.tile(zero_inf, (5, 1)).astype(np_dtype)}
        rng = np.random.default_rng(len(dtype))
        items.append((out, [fixed, {n: _specials((5, 7), np_dtype, rng) for n in "ab"}], None))
    return items


def _suite(tmp: Path) -> list[tuple[str, Path, list[dict], str | None]]:
    rng = np.random.default_rng(0)
    suite = []
    mlp = tmp / "mlp"
    edgewasm.compile(_save(tmp, make_mlp([64, 96, 48, 10], seed=1), "mlp"), mlp, batch=3,
                     variants="fp32,fp16,int8,int16,fp32+prune,int8+prune")
    plain = rng.standard_normal((3, 64)).astype(np.float32)
    for variant in ("fp32", "fp16", "int8", "int16", "fp32+prune", "int8+prune"):
        suite.append((f"mlp {variant}", mlp, [{"x": plain}, {"x": _specials((3, 64), np.float32, rng)}], variant))
    cnn = tmp / "cnn"
    edgewasm.compile(_save(tmp, make_mobilenet_v2(width=0.35, resolution=32, classes=10, seed=2), "cnn"), cnn,
                     variants="fp32,int8")
    image = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
    for variant in ("fp32", "int8"):
        suite.append((f"cnn {variant}", cnn, [{"x": image}, {"x": _specials((1, 3, 32, 32), np.float32, rng)}], variant))
    encoder = tmp / "encoder"
    edgewasm.compile(_save(tmp, make_encoder(layers=2, d_model=32, heads=4, seq=8, ff=64, seed=3), "encoder"), encoder,
                     shapes={"x": (2, 8, 32), "mask": (2, 8)})
    feeds = encoder_inputs(batch=2, seq=8, d_model=32)
    suite.append(("transformer", encoder, [feeds, {**feeds, "x": _specials((2, 8, 32), np.float32, rng)}], None))
    suite += [(f"nan {item[0].name}", *item) for item in _nan_models(tmp)]
    moved = helper.make_graph([helper.make_node("Identity", ["a"], ["same"]),
                               helper.make_node("Transpose", ["a"], ["turned"], perm=[1, 0])], "moved",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [5, 7])],
                              [helper.make_tensor_value_info("same", TensorProto.FLOAT, [5, 7]),
                               helper.make_tensor_value_info("turned", TensorProto.FLOAT, [7, 5])])
    edgewasm.compile(_save(tmp, helper.make_model(moved, ir_version=10, opset_imports=[helper.make_opsetid("", 17)]),
                           "moved"), tmp / "moved")
    a = _specials((5, 7), np.float32, rng)
    suite.append(("moved nan", tmp / "moved", [{"a": a.copy()}, {"a": a}], None))
    suite += _conformance_sample(tmp, rng)
    return suite


def _conformance_sample(tmp: Path, rng) -> list:
    """onnx's node cases of CONFORMANCE_OPS that edgewasm compiles, each on its own inputs and on the
    same with NaN, infinities and signed zeros in every float input."""
    from edgewasm.conformance import compile_case, fetch_wheel, is_float_dtype, load_cases

    items = []
    for case in load_cases(fetch_wheel(), CONFORMANCE_OPS):
        if case.scope is not None or case.name.endswith("_expanded"):
            continue
        try:
            compiled = compile_case(case, tmp / "cases")
        except EdgewasmError:
            continue
        special = {name: (_specials(value.shape, value.dtype, rng) if is_float_dtype(value.dtype) and
                          value.dtype.name in CANONICAL else value) for name, value in compiled.inputs.items()}
        items.append((f"case {case.name}", compiled.bundle, [compiled.inputs, special], None))
    assert len(items) >= 80, f"only {len(items)} conformance cases compiled"
    return items


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    command = _engine()
    tmp = tmp_path_factory.mktemp("arm")
    suite = _suite(tmp)
    x64 = []
    for name, bundle, input_sets, variant in suite:
        model = edgewasm.load(bundle, variant)
        runs = []
        for inputs in input_sets:
            try:
                runs.append(model.run(inputs))
            except EdgewasmError as exc:
                runs.append(exc)
        x64.append(runs)
    items = [(bundle, input_sets, variant) for _, bundle, input_sets, variant in suite]
    arm = {tier: arm64.run_many(items, command=command + flags) for tier, flags in TIERS.items()}
    arm["wasmtime"] = arm64.run_many(items, engine="wasmtime", command=_python_engine())
    return suite, x64, arm


def _compare(name: str, want, got) -> list[str]:
    if isinstance(want, EdgewasmError) or isinstance(got, EdgewasmError):
        same = type(want) is type(got)
        return [] if same else [f"{name}: x86-64 {want!r}, arm64 {got!r}"]
    problems = []
    for out, w in want.items():
        g = got[out]
        if g.dtype != w.dtype or g.shape != w.shape:
            problems.append(f"{name} {out}: {g.dtype}{g.shape} on arm64, {w.dtype}{w.shape} on x86-64")
        elif not np.array_equal(_bits(g), _bits(w)):
            bad = np.flatnonzero(_bits(g).reshape(-1) != _bits(w).reshape(-1))
            problems.append(f"{name} {out}: {bad.size} elements differ, first at {bad[0]}: "
                            f"x86-64 {_bits(w).reshape(-1)[bad[0]]:#x}, arm64 {_bits(g).reshape(-1)[bad[0]]:#x}")
    return problems


@pytest.mark.parametrize("tier", [*TIERS, "wasmtime"])
def test_arm64_v8_gives_the_same_bits_as_x86_64_wasmtime(parity, tier):
    suite, x64, arm = parity
    problems = []
    for (name, *_), want_runs, got_runs in zip(suite, x64, arm[tier]):
        for i, (want, got) in enumerate(zip(want_runs, got_runs)):
            problems += _compare(f"{name} (input set {i})", want, got)
    where = "wasmtime (Cranelift aarch64)" if tier == "wasmtime" else f"V8's {tier} tier"
    assert not problems, f"{len(problems)} differences in {where}:\n" + "\n".join(problems[:20])


def test_the_suite_covers_nans_infinities_and_every_variant(parity):
    suite, x64, _ = parity
    names = [name for name, *_ in suite]
    assert {f"mlp {v}" for v in ("fp32", "fp16", "int8", "int16", "fp32+prune")} <= set(names)
    assert "transformer" in names and "cnn fp32" in names
    nan_outputs = inf_outputs = 0
    for runs in x64:
        for run in runs:
            if isinstance(run, EdgewasmError):
                continue
            for value in run.values():
                if value.dtype.name in CANONICAL:
                    wide = value.astype(np.float64)
                    nan_outputs += bool(np.isnan(wide).any())
                    inf_outputs += bool(np.isinf(wide).any())
    assert nan_outputs >= 50 and inf_outputs >= 20, (nan_outputs, inf_outputs)


def test_every_float_output_nan_is_canonical(parity):
    """The module writes each NaN of a float output as its dtype's canonical quiet NaN, on both CPUs;
    the one exception is an output whose bits were only moved from the inputs (an Identity, a Max of
    one input): there a NaN keeps the input's bits. The NaN models' outputs are all computed."""
    suite, x64, arm = parity
    seen = set()
    for (name, _, input_sets, _), x_runs, a_runs in zip(suite, x64, arm["default"]):
        for inputs, *runs in zip(input_sets, x_runs, a_runs):
            given = {int(b) for v in inputs.values() if np.asarray(v).dtype.name in CANONICAL
                     for b in _bits(np.asarray(v))[np.isnan(np.asarray(v).astype(np.float64))]}
            for run in runs:
                if isinstance(run, EdgewasmError):
                    continue
                for out, value in run.items():
                    if value.dtype.name not in CANONICAL:
                        continue
                    nans = np.isnan(value.astype(np.float64))
                    if not nans.any():
                        continue
                    seen.add(value.dtype.name)
                    bits = set(_bits(value)[nans].tolist()) - {CANONICAL[value.dtype.name]}
                    allowed = set() if name.startswith("nan ") else given
                    assert bits <= allowed, f"{name} {out}: NaN bits {sorted(hex(b) for b in bits)[:4]}"
    assert seen == set(CANONICAL)


def test_moved_input_nans_keep_their_bits(parity):
    """Outputs that only move input bits (here Identity and Transpose of an input) are left alone, on
    both CPUs: their NaN payloads are the caller's."""
    suite, x64, arm = parity
    (bundle, inputs), = [(b, sets[1]) for name, b, sets, _ in suite if name == "moved nan"]
    for run in (x64[[n for n, *_ in suite].index("moved nan")][1], arm["default"][[n for n, *_ in suite].index("moved nan")][1]):
        np.testing.assert_array_equal(_bits(run["same"]), _bits(inputs["a"]))
        np.testing.assert_array_equal(_bits(run["turned"]), _bits(inputs["a"]).T)


def test_the_emulated_cpu_makes_arm_nans():
    """Without the canonical pass the bits would differ: raw 0/0 in wasm is 0xffc00000 on x86-64 and
    0x7fc00000 on aarch64 (the wasm spec leaves NaN sign and payload to the hardware)."""
    import subprocess

    import wasmtime

    command = _engine()
    wat = ('(module (func (export "f") (param f32) (result i32) '
           '(i32.reinterpret_f32 (f32.div (local.get 0) (local.get 0)))))')
    wasm = wasmtime.wat2wasm(wat)
    store = wasmtime.Store()
    x64 = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), []).exports(store)["f"](store, 0.0) & 0xFFFFFFFF
    script = (f"const m = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from('{bytes(wasm).hex()}', 'hex')));"
              "console.log(process.arch, (m.exports.f(0) >>> 0).toString(16))")
    arch, bits = subprocess.run([*command, "-e", script], capture_output=True, text=True, check=True,
                                timeout=120).stdout.split()
    assert arch == "arm64"
    assert int(bits, 16) == 0x7FC00000
    assert x64 == 0xFFC00000

"""The opt-in threaded build (`--threads N`): one shared-memory import, work split over output tiles,
the same bits on every thread count as the single-threaded build (wasmtime host)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.errors import BundleError, DeadlineExceeded, IndexOutOfRangeError, ThreadsError
from edgewasm.runtime.config import RuntimeConfig
from edgewasm.runtime.sandbox import audit_module, shared_memory_import
from edgewasm.runtime.wasmtime_host import engine

from cnn_models import make_mobilenet_v2
from models import make_mlp
from transformer_models import encoder_inputs, make_encoder

N = 4


def same_bits(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape
        assert a[name].tobytes() == b[name].tobytes(), name


def build_pair(tmp_path, model: onnx.ModelProto, **options):
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    single = edgewasm.compile(path, tmp_path / "single", **options)
    threaded = edgewasm.compile(path, tmp_path / "threaded", threads=N, **options)
    return single.parent, threaded.parent


def split_calls(bundle) -> int:
    return json.loads((bundle / "manifest.json").read_text())["variants"]["fp32"]["report"]["threads"]["split_calls"]


def check_every_thread_count(single, threaded, inputs) -> None:
    assert split_calls(threaded) > 0  # the model really is split over threads
    expected = edgewasm.load(single).run(inputs)
    for k in range(1, N + 1):
        model = edgewasm.load(threaded, threads=k)
        same_bits(model.run(inputs), expected)
        same_bits(model.run(inputs), expected)  # the barrier words are reset between runs


def test_mlp_with_odd_sizes_same_bits_on_every_thread_count(tmp_path):
    single, threaded = build_pair(tmp_path, make_mlp([301, 517, 263, 11], batch=37), batch=37)
    x = np.random.default_rng(0).standard_normal((37, 301)).astype(np.float32)
    check_every_thread_count(single, threaded, {"x": x})


@pytest.mark.parametrize("batch", [1, 3])
def test_gemv_split_over_column_panels(tmp_path, batch):
    """Batch 1-3: too few rows, so the GEMM is split over 32-column panels instead."""
    single, threaded = build_pair(tmp_path, make_mlp([1031, 2053, 301], batch=batch), batch=batch)
    x = np.random.default_rng(1).standard_normal((batch, 1031)).astype(np.float32)
    check_every_thread_count(single, threaded, {"x": x})


def test_cnn_same_bits_on_every_thread_count(tmp_path):
    single, threaded = build_pair(tmp_path, make_mobilenet_v2(width=0.5, resolution=77, classes=13))
    x = np.random.default_rng(2).standard_normal((1, 3, 77, 77)).astype(np.float32)
    check_every_thread_count(single, threaded, _feed(single, x))
    report = json.loads((threaded / "manifest.json").read_text())["variants"]["fp32"]
    assert report["threads"] == N and report["report"]["threads"]["split_calls"] > 0


def test_transformer_same_bits_on_every_thread_count(tmp_path):
    model = make_encoder(layers=2, d_model=72, heads=4, seq=19, ff=136)
    inputs = encoder_inputs(batch=2, seq=19, d_model=72)
    shapes = {name: value.shape for name, value in inputs.items()}
    single, threaded = build_pair(tmp_path, model, shapes=shapes)
    check_every_thread_count(single, threaded, inputs)


def test_int8_cnn_same_bits_on_every_thread_count(tmp_path):
    """Static int8 (integer Winograd, im2col GEMMs, depthwise, pointwise) and its relaxed-SIMD twin
    (relaxed-dot GEMMs) split over threads."""
    from edgewasm.variants import Options
    from quant_models import static_cnn

    layers = [{"m": 36, "kernel": [3, 3], "pads": [1, 1, 1, 1]},
              {"m": 48, "kernel": [3, 3], "strides": [2, 2], "pads": [1, 0, 1, 2]},
              {"m": 48, "kernel": [3, 3], "group": 48, "pads": [1, 1, 1, 1]},
              {"m": 64, "kernel": [1, 1]}, {"m": 17, "kernel": [3, 3], "pads": [0, 1, 2, 1]}]
    shape = [1, 16, 41, 37]
    calibration = np.random.default_rng(3).standard_normal((8, *shape[1:])).astype(np.float32)
    single, threaded = build_pair(tmp_path, static_cnn(layers, shape, head=None), variants="int8,int8-relaxed",
                                  options=Options(calibrate={"x": calibration}))
    variants = json.loads((threaded / "manifest.json").read_text())["variants"]
    assert {"qu8_winograd_input_2x2_3x3", "u8_im2col", "qu8_qc8w_dwconv_c16x2"} <= set(variants["int8"]["kernels"])
    assert "qu8_qc7w_gemm_4x8c4_relaxed" in variants["int8-relaxed"]["kernels"]
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    for variant in variants:
        assert variants[variant]["report"]["threads"]["split_calls"] > 0
        expected = edgewasm.load(single, variant).run({"x": x})
        for k in range(1, N + 1):
            model = edgewasm.load(threaded, variant, threads=k)
            same_bits(model.run({"x": x}), expected)
            same_bits(model.run({"x": x}), expected)


def test_int8_elementwise_same_bits_on_every_thread_count(tmp_path):
    from edgewasm.variants import Options
    from quant_models import se_cnn

    calibration = np.random.default_rng(6).standard_normal((4, 16, 71, 73)).astype(np.float32)
    # a table (HardSwish), a squeeze-excitation product and a residual add, each on a map large
    # enough to be split
    model = se_cnn(seed=12, shape=(1, 16, 71, 73), channels=24, residual=True)
    single, threaded = build_pair(tmp_path, model, variants="int8",
                                  options=Options(calibrate={"x": calibration}))
    kernels = set(json.loads((threaded / "manifest.json").read_text())["variants"]["int8"]["kernels"])
    assert {"x8_lut", "qu8_vmul_channels", "qu8_vadd"} <= kernels
    x = np.random.default_rng(7).standard_normal((1, 16, 71, 73)).astype(np.float32)
    expected = edgewasm.load(single).run({"x": x})
    for k in range(1, N + 1):
        same_bits(edgewasm.load(threaded, threads=k).run({"x": x}), expected)


def test_dynamic_int8_mlp_same_bits_on_every_thread_count(tmp_path):
    single, threaded = build_pair(tmp_path, make_mlp([301, 517, 263, 11], batch=37), batch=37, variants="int8")
    manifest = json.loads((threaded / "manifest.json").read_text())["variants"]["int8"]
    assert "qdu8_f32_qc8w_gemm_4x8c2" in manifest["kernels"] and manifest["report"]["threads"]["split_calls"] > 0
    x = np.random.default_rng(5).standard_normal((37, 301)).astype(np.float32)
    expected = edgewasm.load(single).run({"x": x})
    for k in range(1, N + 1):
        same_bits(edgewasm.load(threaded, threads=k).run({"x": x}), expected)


def _feed(bundle, x) -> dict:
    name = json.loads((bundle / "manifest.json").read_text())["variants"]["fp32"]["inputs"][0]["name"]
    return {name: x}


def test_threaded_module_imports_one_shared_memory_and_the_default_build_none(tmp_path):
    single, threaded = build_pair(tmp_path, make_mlp([64, 96, 10], batch=8), batch=8)
    plain = (single / "fp32" / "model.wasm").read_bytes()
    wasm = (threaded / "fp32" / "model.wasm").read_bytes()
    assert shared_memory_import(plain) is None
    manifest = json.loads((threaded / "manifest.json").read_text())["variants"]["fp32"]
    assert shared_memory_import(wasm) == manifest["memory"]["pages"]
    audit_module(wasm)
    assert "threads" not in json.loads((single / "manifest.json").read_text())["variants"]["fp32"]
    # any other import is refused: a second import, another name, a memory that is not shared
    import wasmtime
    for bad in ['(import "env" "memory" (memory 1 1 shared)) (import "env" "f" (func))',
                '(import "env" "mem" (memory 1 1 shared))',
                '(import "env" "memory" (memory 1 1))',
                '(import "env" "memory" (memory 1 2 shared))',
                '(import "env" "f" (func))']:
        module = bytes(wasmtime.wat2wasm(f'(module {bad} (func (export "run") (result i32) (i32.const 0)) '
                                         '(func (export "run_thread") (param i32) (result i32) (i32.const 0)))'))
        with pytest.raises(BundleError):
            audit_module(module)


def test_thread_count_errors(tmp_path):
    single, threaded = build_pair(tmp_path, make_mlp([64, 96, 10], batch=8), batch=8)
    with pytest.raises(ThreadsError, match="at most 4 thread"):
        edgewasm.load(threaded, threads=5)
    with pytest.raises(ThreadsError, match="at most 1 thread"):
        edgewasm.load(single, threads=2)
    with pytest.raises(ThreadsError, match="positive"):
        edgewasm.load(threaded, threads=0)
    with pytest.raises(ThreadsError, match="between 1 and"):
        edgewasm.compile(tmp_path / "m.onnx", tmp_path / "bad", batch=8, threads=0)
    assert edgewasm.load(single, threads=1).run({"x": np.ones((8, 64), np.float32)})


def test_deadline_on_many_threads_leaves_the_model_usable(tmp_path):
    single, threaded = build_pair(tmp_path, make_mlp([1024, 1024, 1024, 1024, 8], batch=96), batch=96)
    x = np.random.default_rng(3).standard_normal((96, 1024)).astype(np.float32)
    expected = edgewasm.load(single).run({"x": x})
    model = edgewasm.load(threaded, threads=2, config=RuntimeConfig(deadline=0.001))
    # thread 0 checks the deadline words before each barrier: the engine needs no epoch checks
    assert model.instance.engine is engine(RuntimeConfig().stack_limit, interruptible=False, threads=True)
    with pytest.raises(DeadlineExceeded, match="deadline on 2 threads .stopped at a barrier"):
        for _ in range(20):  # a 300M multiply-add model cannot finish in 1-2 clock ticks
            model.run({"x": x})
    model.instance.config = RuntimeConfig(deadline=60.0)  # the same instances, now with time enough
    same_bits(model.run({"x": x}), expected)
    same_bits(edgewasm.load(threaded, threads=2).run({"x": x}), expected)  # the default 10 s deadline


def test_index_status_from_thread_0_stops_every_thread(tmp_path):
    rng = np.random.default_rng(4)
    table = rng.standard_normal((50, 96)).astype(np.float32)
    w = (rng.standard_normal((96, 600)) / 10).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["e"]), helper.make_node("MatMul", ["e", "w"], ["y"])],
        "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [40])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [40, 600])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    single, threaded = build_pair(tmp_path, model)
    ids = rng.integers(0, 50, 40)
    m = edgewasm.load(threaded, threads=3)
    bad = ids.copy()
    bad[7] = 50
    assert split_calls(threaded) > 0
    with pytest.raises(IndexOutOfRangeError):
        m.run({"ids": bad})
    same_bits(m.run({"ids": ids}), edgewasm.load(single).run({"ids": ids}))


def test_cli_compile_and_run_with_threads(tmp_path):
    onnx.save(make_mlp([40, 300, 7], batch=20), tmp_path / "m.onnx")
    x = np.random.default_rng(5).standard_normal((20, 40)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    cli = [sys.executable, "-m", "edgewasm.cli"]
    subprocess.run(cli + ["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "b"), "--batch", "20",
                          "--threads", "2"], check=True, capture_output=True)
    for k in ("1", "2"):
        subprocess.run(cli + ["run", str(tmp_path / "b"), "--input", f"x={tmp_path / 'x.npy'}", "--threads", k,
                              "-o", str(tmp_path / f"y{k}.npz")], check=True, capture_output=True)
    y1, y2 = np.load(tmp_path / "y1.npz"), np.load(tmp_path / "y2.npz")
    assert y1.files == y2.files and all(y1[f].tobytes() == y2[f].tobytes() for f in y1.files)
    bad = subprocess.run(cli + ["run", str(tmp_path / "b"), "--input", f"x={tmp_path / 'x.npy'}", "--threads", "3"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "at most 2 thread" in bad.stderr and "Traceback" not in bad.stderr


def test_resnet_winograd_and_grouped_convolutions_same_bits(tmp_path):
    """3x3 convolutions with >= 8 channels take the Winograd path (transforms split over tiles)."""
    from cnn_models import make_resnet

    model = make_resnet(stages=(1, 1), widths=(32, 40), resolution=97, classes=7)
    single, threaded = build_pair(tmp_path, model)
    kernels = json.loads((threaded / "manifest.json").read_text())["variants"]["fp32"]["kernels"]
    assert "f32_winograd_input_2x2_3x3" in kernels
    x = np.random.default_rng(8).standard_normal((1, 3, 97, 97)).astype(np.float32)
    check_every_thread_count(single, threaded, _feed(single, x))


def test_a_trap_in_one_worker_frees_the_others_and_the_model_stays_usable(tmp_path):
    import time

    import wasmtime

    from edgewasm.errors import ExecutionError
    from edgewasm.runtime.threads import GO_OFFSET

    single, threaded = build_pair(tmp_path, make_mlp([301, 517, 263, 11], batch=37), batch=37)
    x = np.random.default_rng(9).standard_normal((37, 301)).astype(np.float32)
    expected = edgewasm.load(single).run({"x": x})
    model = edgewasm.load(threaded, threads=3)
    instance = model.instance

    def trap_midway(go):  # thread 2 traps once threads 0 and 1 are inside the run
        while int.from_bytes(instance.read(GO_OFFSET, 4), "little", signed=True) == go:
            time.sleep(0.001)
        time.sleep(0.05)
        raise wasmtime.Trap("injected trap in thread 2")

    instance.serve_calls[2] = trap_midway
    with pytest.raises(ExecutionError, match="injected trap in thread 2.*re-made"):
        model.run({"x": x})  # threads 0 and 1 wait at a barrier for thread 2: the abort word frees them
    assert model.instance.serve_calls[2] is not trap_midway  # new instances
    same_bits(model.run({"x": x}), expected)
    same_bits(model.run({"x": x}), expected)


def test_bench_threads_adds_a_column_per_thread_count(tmp_path):
    from edgewasm.bench import BenchOptions, render_text, run_bench

    options = BenchOptions(models=["mlp-b32"], engines=["wasmtime"], repeats=1, cold_starts=0,
                           microbenchmarks=False, workdir=tmp_path, threads=[1, 2])
    report = run_bench(options)
    results = report["models"][0]["results"]
    assert set(results) == {"wasmtime", "wasmtime@2"}
    assert results["wasmtime@2"]["status"] == "ok" and results["wasmtime@2"]["p50_ms"] > 0
    assert "x2 threads" in render_text(report)
    assert json.loads((tmp_path / "mlp-b32" / "bundle-threads2" / "manifest.json").read_text())["variants"]["fp32"]["threads"] == 2


def test_bench_threads_builds_a_static_int8_row_static(tmp_path):
    """`--variants int8 --calibrate --threads 1,2`: the threaded build is calibrated as the row's own."""
    from edgewasm.bench import BenchOptions, run_bench

    options = BenchOptions(models=["mlp-b32"], engines=["wasmtime"], repeats=1, cold_starts=0, microbenchmarks=False,
                           workdir=tmp_path, threads=[1, 2], variants=["int8"], calibrate=True)
    report = run_bench(options)
    assert report["models"][0]["results"]["wasmtime@2"]["status"] == "ok"
    threaded = next(tmp_path.glob("mlp-b32*int8*")) / "bundle-threads2" / "manifest.json"
    variant = json.loads(threaded.read_text())["variants"]["int8"]
    assert variant["report"]["methods"][0] == "int8 static" and variant["threads"] == 2


def test_a_model_too_small_to_split_runs_on_one_thread_by_default(tmp_path):
    single, threaded = build_pair(tmp_path, make_mlp([64, 96, 10], batch=8), batch=8)
    assert split_calls(threaded) == 0
    assert edgewasm.load(threaded).instance.threads == 1  # no worker is woken for nothing
    assert edgewasm.load(threaded, threads=2).instance.threads == 1  # even when asked: they would only wait
    x = np.random.default_rng(10).standard_normal((8, 64)).astype(np.float32)
    same_bits(edgewasm.load(threaded, threads=2).run({"x": x}), edgewasm.load(single).run({"x": x}))


ROWS, COLS = 301, 259


def rows_model() -> onnx.ModelProto:
    """Softmax, LayerNormalization, Erf, Mul by a scalar, Mul by a row, Tanh, Add: each big enough
    to be split (301 x 259, odd on purpose)."""
    rng = np.random.default_rng(11)
    gamma, beta, scale = (numpy_helper.from_array(v.astype(np.float32), n) for v, n in
                          ((1 + 0.1 * rng.standard_normal(COLS), "gamma"), (rng.standard_normal(COLS), "beta"),
                           (rng.standard_normal((1, COLS)), "scale")))
    half = numpy_helper.from_array(np.float32(0.5), "half")
    nodes = [helper.make_node("Softmax", ["x"], ["s"], name="softmax", axis=-1),
             helper.make_node("LayerNormalization", ["s", "gamma", "beta"], ["n"], name="norm", axis=-1, epsilon=1e-5),
             helper.make_node("Erf", ["n"], ["e"], name="erf"),
             helper.make_node("Mul", ["e", "half"], ["h"], name="by_scalar"),  # one run against a scalar
             helper.make_node("Mul", ["h", "scale"], ["r"], name="by_row"),  # every row against one row
             helper.make_node("Tanh", ["r"], ["t"], name="tanh"),
             helper.make_node("Add", ["t", "x"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "rows", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [ROWS, COLS])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [ROWS, COLS])],
                              [gamma, beta, scale, half])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def rows_input() -> np.ndarray:
    x = np.random.default_rng(12).standard_normal((ROWS, COLS)).astype(np.float32)
    x[7, :] = -np.inf  # a row of -inf: NaN outputs from softmax, the same NaN bits on every thread count
    return x


def test_row_and_elementwise_kernels_split_with_the_same_bits(tmp_path):
    """Softmax and LayerNormalization rows, elementwise chains (Erf -> Mul by a scalar, Tanh -> Add
    of x: each thread in its own scratch block) and a broadcast Mul by a row are split too, at odd
    sizes, with the single-threaded bits."""
    model = rows_model()
    single, threaded = build_pair(tmp_path, model, wat=True)
    wat = (threaded / "fp32" / "model.wat").read_text()
    split = {line.split()[1] for line in wat.splitlines() if line.strip().startswith(";;") and line.endswith("(split)")}
    assert split == {"softmax", "norm", "erf..by_scalar", "by_row", "tanh..add"}, split
    check_every_thread_count(single, threaded, {"x": rows_input()})


def test_independent_gemms_run_without_a_barrier_between_them_and_dependent_ones_with(tmp_path):
    """Two GEMMs reading the same input and writing their own outputs need no barrier between them
    (each thread may start the second while another still computes the first); a GEMM reading the
    first one's output does."""
    rng = np.random.default_rng(13)
    weights = [numpy_helper.from_array((0.1 * rng.standard_normal(shape)).astype(np.float32), name)
               for name, shape in (("w1", (300, 200)), ("w2", (300, 200)), ("w3", (200, 136)))]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"], name="first"),
             helper.make_node("MatMul", ["x", "w2"], ["b"], name="second"),  # independent of first
             helper.make_node("MatMul", ["a", "w3"], ["c"], name="third")]  # reads first's output
    graph = helper.make_graph(nodes, "pair", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 300])],
                              [helper.make_tensor_value_info("b", TensorProto.FLOAT, [64, 200]),
                               helper.make_tensor_value_info("c", TensorProto.FLOAT, [64, 136])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    single, threaded = build_pair(tmp_path, model, wat=True)
    run = (threaded / "fp32" / "model.wat").read_text().split("(func $__run", 1)[1]
    steps = [line.split()[1] if ";;" in line else "barrier" for line in run.splitlines()
             if line.strip().startswith(";;") and line.endswith("(split)") or "call $__barrier" in line]
    assert steps[:5] == ["first", "second", "barrier", "third", "barrier"], steps
    x = rng.standard_normal((64, 300)).astype(np.float32)
    for _ in range(5):  # a missing barrier is a race: give it chances to show
        check_every_thread_count(single, threaded, {"x": x})


def test_barrier_dependence_of_byte_ranges():
    from edgewasm.backend.threads import _independent

    earlier = [([(0, 100), (1000, 2000)], [(200, 300)])]  # read 0-100 and 1000-2000, wrote 200-300
    assert _independent(([(0, 100)], [(300, 400)]), earlier)  # reads what it read, writes elsewhere
    assert not _independent(([(250, 260)], [(300, 400)]), earlier)  # reads what it wrote
    assert not _independent(([(500, 600)], [(50, 60)]), earlier)  # overwrites what it reads
    assert not _independent(([(500, 600)], [(299, 301)]), earlier)  # overwrites what it wrote
    assert _independent(([(300, 400)], [(100, 200)]), earlier)  # ranges are half-open


def test_workers_wait_inside_the_module_between_runs_and_leave_with_the_model(tmp_path):
    """The wasmtime host starts its workers once: each stays inside serve() between runs (woken by
    run() bumping the GO word, not by Python), and a model that is dropped lets them leave."""
    import gc
    import time

    single, threaded = build_pair(tmp_path, make_mlp([301, 517, 263, 11], batch=37), batch=37)
    x = np.random.default_rng(14).standard_normal((37, 301)).astype(np.float32)
    expected = edgewasm.load(single).run({"x": x})
    model = edgewasm.load(threaded, threads=3)
    same_bits(model.run({"x": x}), expected)
    workers = list(model.instance._workers)
    assert len(workers) == 2 and all(w.is_alive() for w in workers)
    for _ in range(20):
        same_bits(model.run({"x": x}), expected)
    kept = model.instance._workers == workers  # outside the assert: pytest's rewrite would keep the instance
    assert kept and all(w.is_alive() for w in workers)  # no thread per run
    del model
    gc.collect()
    deadline = time.monotonic() + 5
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(w.is_alive() for w in workers)

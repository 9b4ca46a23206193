"""`edgewasm bench` end to end, its report formats, its measuring pieces, and the wasmtime host's
cached native call path. No timing assertions anywhere: the bench is a command, not a test."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import edgewasm
from edgewasm.bench import BenchOptions, run_bench
from edgewasm.bench.html_report import render_html
from edgewasm.bench.kernels import gemm_case, igemm_conv3x3_case, winograd_conv3x3_case
from edgewasm.bench.report import render_text
from edgewasm.bench.stats import percentile
from edgewasm.cli import main
from edgewasm.errors import ExecutionError
from edgewasm.runtime import wasmtime_host

HOSTILE = Path(__file__).parent / "data" / "hostile.wat"  # run(x): 0 -> y = 1; 1 -> traps (unreachable)


def mode(m: float) -> dict:
    return {"x": np.array([m], np.float32)}


REQUIRED_RESULT_FIELDS = {"status", "label", "p50_ms", "p95_ms", "samples", "block_medians_ms", "inferences_per_s",
                          "items_per_s", "gflops", "memory_bytes", "cold_start_ms", "speedup_vs"}


def unsupported_model() -> onnx.ModelProto:
    """A valid model onnxruntime runs and edgewasm will not compile (NonZero: its output shape
    depends on the data)."""
    graph = helper.make_graph([helper.make_node("NonZero", ["x"], ["y"], name="det")], "det",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, [3, "n"])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


@pytest.fixture(scope="module")
def server_run(tmp_path_factory):
    """One short bench on the server engines: the digits MLP plus a model edgewasm refuses."""
    tmp = tmp_path_factory.mktemp("bench")
    det = tmp / "det.onnx"
    det.write_bytes(unsupported_model().SerializeToString())
    json_path, html_path = tmp / "bench.json", tmp / "bench.html"
    argv = ["bench", "--models", "digits", "--model", str(det), "--engines", "wasmtime,onnxruntime",
            "--repeats", "3", "--json", str(json_path), "--html", str(html_path)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return {"code": code, "stdout": out.getvalue(), "report": json.loads(json_path.read_text()),
            "html": html_path.read_text()}


def test_bench_runs_the_server_engines(server_run):
    assert server_run["code"] == 0
    report = server_run["report"]
    assert report["schema"] == "edgewasm-bench/1"
    assert report["command"].startswith("edgewasm bench")
    assert [m["name"] for m in report["models"]] == ["digits", "det"]
    digits = report["models"][0]
    assert digits["edgewasm"]["status"] == "compiled" and digits["flops"] > 0
    for engine in ("wasmtime", "onnxruntime"):
        result = digits["results"][engine]
        assert result["status"] == "ok"
        assert REQUIRED_RESULT_FIELDS <= set(result)
        assert 0 < result["p50_ms"] <= result["p95_ms"]
        assert len(result["block_medians_ms"]) == 3
        assert result["samples"] >= 3 * 1
        assert result["gflops"] > 0 and result["cold_start_ms"] > 0
    assert digits["results"]["wasmtime"]["memory_bytes"] >= 65536
    assert digits["results"]["wasmtime"]["call_path"] == "native"


def test_ratios_are_computed(server_run):
    results = server_run["report"]["models"][0]["results"]
    wasmtime_p50, native_p50 = results["wasmtime"]["p50_ms"], results["onnxruntime"]["p50_ms"]
    assert results["wasmtime"]["speedup_vs"]["onnxruntime"] == pytest.approx(native_p50 / wasmtime_p50)
    assert "onnxruntime-web" not in results["wasmtime"]["speedup_vs"]  # not run: no ratio
    assert "onnxruntime" not in results["onnxruntime"]["speedup_vs"]


def test_unsupported_model_is_skipped_with_its_reason(server_run):
    det = server_run["report"]["models"][1]
    assert det["source"].endswith("det.onnx") and det["flops"] is None
    skipped = det["results"]["wasmtime"]
    assert skipped["status"] == "skipped"
    assert re.match(r"skipped: unsupported ONNX operator\(s\): NonZero \(nodes: det\)", skipped["reason"])
    assert det["edgewasm"] == {"status": "skipped", "reason": skipped["reason"]}
    assert det["results"]["onnxruntime"]["status"] == "ok"  # the baseline still runs
    assert "skipped: unsupported ONNX operator(s): NonZero" in server_run["stdout"]


def test_peak_kernels_and_host_overhead_are_reported(server_run):
    report = server_run["report"]
    for host in ("wasmtime", "wasmtime-no-epoch"):
        assert report["peak"][host]["f32_gflops"] > 0 and report["peak"][host]["i8_gmacs"] > 0
    gemm = [row for row in report["kernels"] if row.get("kernel") == "f32_gemm_4x8"]
    assert {row["shape"] for row in gemm} == {"m=256 k=256 n=256", "m=512 k=512 n=512"}
    for row in gemm:
        entry = row["hosts"]["wasmtime"]
        ceiling = report["peak"]["wasmtime-no-epoch"]["f32_gflops_best"]  # wasmtime's arithmetic ceiling
        assert entry["percent_of_peak"] == pytest.approx(100 * entry["gflops"] / ceiling)
    overhead = report["host_overhead"]["wasmtime"]
    assert overhead["call_path"] == "native" and overhead["call_us"] > 0 and overhead["generic_call_us"] > 0
    assert "SIMD128 peak" in server_run["stdout"] and "digits" in server_run["stdout"]


def test_html_report_is_self_contained(server_run):
    page = server_run["html"]
    assert page.startswith("<!doctype html>") and "<svg" in page and "edgewasm bench --models digits" in page
    for external in ("<script", "<link", "src=", "http://", "https://", "url(", "@import"):
        assert external not in page, external


def test_bench_refuses_bad_usage(capsys):
    assert main(["bench", "--models", "nosuch", "--engines", "wasmtime"]) == 2
    assert "unknown suite model(s) nosuch" in capsys.readouterr().err
    assert main(["bench", "--models", "digits", "--engines", "quantum"]) == 2
    assert main(["bench", "--models", "", "--engines", "wasmtime"]) == 2
    assert main(["bench", "--model", "/no/such.onnx"]) == 2


def test_variants_are_rows_compared_with_the_first_variant():
    """--variants: one row per model and variant, each edgewasm row compared with the model's first
    variant on the same engine; onnxruntime runs the original model (and its FLOPs) on every row."""
    options = BenchOptions(models=["digits-b64"], engines=["wasmtime", "onnxruntime"], repeats=2,
                           variants=["fp32", "fp32+structured+distill"], microbenchmarks=False,
                           warmup_seconds=0.05, block_seconds=0.02)
    report = run_bench(options)
    base, pruned = report["models"]
    assert (base["name"], pruned["name"]) == ("digits-b64[fp32]", "digits-b64[fp32+structured+distill]")
    assert pruned["variant"] == "fp32+structured+distill" and pruned["flops"] < 0.55 * base["flops"]
    fast, slow = pruned["results"]["wasmtime"], base["results"]["wasmtime"]
    assert fast["speedup_vs_variant"]["fp32"] == pytest.approx(slow["p50_ms"] / fast["p50_ms"])
    assert slow["speedup_vs_variant"]["fp32"] == 1.0
    native = pruned["results"]["onnxruntime"]
    assert "speedup_vs_variant" not in native
    assert native["gflops"] == pytest.approx(base["flops"] / native["p50_ms"] / 1e6)
    header = next(line for line in render_text(report).splitlines() if line.startswith("model "))
    assert header.endswith("x fp32")


def test_wasmtime_deadline_engine_shows_what_the_default_deadline_costs():
    """`wasmtime-deadline` (not in the default run) loads with the default RuntimeConfig; beside
    `wasmtime` (deadline=None) the report prints the cost per model from the two p50s."""
    options = BenchOptions(models=["digits-b64"], engines=["wasmtime", "wasmtime-deadline"], repeats=2,
                           microbenchmarks=False, warmup_seconds=0.02, block_seconds=0.02)
    report = run_bench(options)
    plain, bounded = (report["models"][0]["results"][e] for e in ("wasmtime", "wasmtime-deadline"))
    assert plain["status"] == bounded["status"] == "ok"
    text = render_text(report)
    assert "The default RuntimeConfig (10 s deadline) against deadline=None" in text
    row = next(line for line in text.splitlines() if line.startswith("digits-b64 ") and line.endswith("%"))
    assert row.split()[-1] == f"{100.0 * (bounded['p50_ms'] / plain['p50_ms'] - 1):+.1f}%"
    assert "deadline" not in render_text({**report, "models": [{**report["models"][0], "results": {"wasmtime": plain}}]})


def test_calibrate_makes_the_int8_rows_static():
    """--calibrate: int8 variants are compiled static (uint8 from layer to layer) and named so; fp32 rows are not."""
    options = BenchOptions(models=["digits-b64"], engines=["wasmtime"], repeats=1, variants=["fp32", "int8"],
                           calibrate=True, microbenchmarks=False, warmup_seconds=0.02, block_seconds=0.01)
    base, static = run_bench(options)["models"]
    assert (base["name"], static["name"]) == ("digits-b64[fp32]", "digits-b64[int8 static]")
    assert static["results"]["wasmtime"]["speedup_vs_variant"]["fp32"] > 0
    assert main(["bench", "--models", "digits", "--engines", "wasmtime", "--variants", "fp32,int8", "--calibrate",
                 "--repeats", "1", "--cold-starts", "0"]) == 0


def test_bench_refuses_unknown_variants(capsys):
    assert main(["bench", "--models", "digits", "--engines", "wasmtime", "--variants", "fp32,fp64"]) == 2
    assert "'fp64' is not a precision" in capsys.readouterr().err


def test_reports_render_failures_and_unavailable_engines():
    report = {"models": [{"name": "m", "results": {
        "wasmtime": {"status": "error", "reason": "ExecutionError: trapped"},
        "onnxruntime-web": {"status": "unavailable", "reason": "no chromium"}}}],
        "engines": {"onnxruntime-web": {"status": "unavailable", "reason": "no chromium"}}}
    text = render_text(report)
    assert "error: ExecutionError: trapped" in text and "onnxruntime-web: unavailable: no chromium" in text
    assert "<svg" not in render_html(report)  # nothing measured, no empty charts


def test_percentile_matches_numpy():
    values = list(np.random.default_rng(1).standard_normal(101))
    for q in (0, 5, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_gemm_case_computes_the_product():
    """The standalone kernel module really runs the kernel on its operands (what is timed is real work)."""
    case, wasm = gemm_case("f32_gemm_4x8", 5, 7, 11)
    floats = _run_once(wasm)
    packed_n = 16
    a = floats(case.operands["a"], 5 * 7).reshape(5, 7)
    panels = floats(case.operands["w"], packed_n * 8).reshape(2, 8, 8)  # 2 panels of (bias row + 7 rows) x 8
    bias = panels[:, 0, :].reshape(-1)[:11]
    w = np.concatenate([panels[0, 1:, :], panels[1, 1:, :]], axis=1)[:, :11]
    c = floats(case.operands["c"], 5 * 11).reshape(5, 11)
    assert np.abs(a).max() > 0
    np.testing.assert_allclose(c, a @ w + bias, rtol=1e-5, atol=1e-5)


def test_igemm_case_computes_the_convolution():
    """The ResNet-convolution case: indirection buffer, padding taps and packed weights agree with numpy."""
    size, channels = 5, 12
    case, wasm = igemm_conv3x3_case(size, channels)
    read = _run_once(wasm)
    x = read(case.operands["x"], size * size * channels).reshape(size, size, channels)
    panels = read(case.operands["w"], 2 * (9 * channels + 1) * 8).reshape(2, 9 * channels + 1, 8)
    bias = panels[:, 0, :].reshape(-1)[:channels]
    w = np.concatenate([panels[0, 1:, :], panels[1, 1:, :]], axis=1)[:, :channels]  # [taps * kc, n]
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    patches = np.stack([padded[dy:dy + size, dx:dx + size] for dy in range(3) for dx in range(3)], axis=2)
    expected = patches.reshape(size * size, 9 * channels) @ w + bias
    y = read(case.operands["y"], size * size * channels).reshape(size * size, channels)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_winograd_case_computes_the_transformed_convolution():
    """The Winograd case: input transform, 16 GEMMs with the filled U, output transform, over
    several blocks of tiles (the last one partial) and an odd image size, agree with numpy."""
    size, channels = 7, 12
    case, wasm = winograd_conv3x3_case(size, channels, block=4)
    read = _run_once(wasm)
    x = read(case.operands["x"], size * size * channels).reshape(size, size, channels).astype(np.float64)
    panels = read(case.operands["u"], 16 * 2 * (channels + 1) * 8).reshape(16, 2, channels + 1, 8)
    u = np.concatenate([panels[:, 0, 1:], panels[:, 1, 1:]], axis=2)[:, :, :channels]  # [16, c, k]
    u_bias = np.concatenate([panels[:, 0, 0], panels[:, 1, 0]], axis=1)[:, :channels]  # filled too: [16, k]
    bias = read(case.operands["bias"], channels)
    bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
    at = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)
    tiles = -(-size // 2)
    padded = np.zeros((2 * tiles + 2, 2 * tiles + 2, channels))
    padded[1:size + 1, 1:size + 1] = x
    expected = np.zeros((2 * tiles, 2 * tiles, channels))
    for ty in range(tiles):
        for tx in range(tiles):
            d = padded[2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4]  # [4, 4, c]
            v = np.einsum("ia,abc,jb->ijc", bt, d, bt).reshape(16, channels)
            m = (np.einsum("xc,xck->xk", v, u) + u_bias).reshape(4, 4, channels)
            expected[2 * ty:2 * ty + 2, 2 * tx:2 * tx + 2] = np.einsum("ia,abk,jb->ijk", at, m, at) + bias
    y = read(case.operands["y"], size * size * channels).reshape(size, size, channels)
    np.testing.assert_allclose(y, expected[:size, :size], rtol=1e-4, atol=1e-4)


def _run_once(wasm: bytes):
    """Instantiate a kernel case, fill its operands, run its loop once; a reader of its memory."""
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, wasmtime.Module(engine, wasm), []).exports(store)
    exports["setup"](store)
    exports["loop"](store, 1)
    memory = exports["memory"]

    def read(offset: int, count: int) -> np.ndarray:
        return np.frombuffer(bytes(memory.read(store, offset, offset + 4 * count)), "<f4")

    return read


# -- the wasmtime host's call path -----------------------------------------------------------------


def test_run_uses_the_native_call_path():
    model = edgewasm.load(HOSTILE)
    assert model.instance.call_path == "native"
    assert model.run(mode(0))["y"][0] == 1.0


def test_generic_call_path_behaves_the_same(monkeypatch):
    """Without the native binding (another wasmtime-py), calls and typed traps are unchanged."""
    monkeypatch.setattr(wasmtime_host, "bind_native_call", lambda store, func: None)
    model = edgewasm.load(HOSTILE)
    assert model.instance.call_path == "generic"
    assert model.run(mode(0))["y"][0] == 1.0
    with pytest.raises(ExecutionError, match="unreachable|trapped"):
        model.run(mode(1))
    assert model.run(mode(0))["y"][0] == 1.0


@pytest.mark.browser
def test_bench_runs_the_browser_engines(tmp_path):
    """Both browser engines in one Chromium: in-page timing, cold starts, bytes shipped, memory, peak."""
    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("no `chromium` on PATH")  # CI must run the browser engines, never skip them
        pytest.skip("no `chromium` on PATH (apt-get install chromium)")
    # A process of its own: Playwright's sync API allows one driver per thread, and the browser
    # tests' session-wide Chromium may already hold this one.
    json_path = tmp_path / "bench.json"
    toolkit = Path(edgewasm.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(toolkit), os.environ.get("PYTHONPATH", "")])}
    # A model whose activations need 146 MiB of linear memory (over the page's old 128 MiB default):
    # the bench raises every limit, runs it and reports its memory.
    wide = helper.make_graph([helper.make_node("Expand", ["x", "shape"], ["wide"]),
                              helper.make_node("ReduceSum", ["wide", "axes"], ["y"], keepdims=0)], "wide",
                             [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 1])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
                             [helper.make_tensor("shape", TensorProto.INT64, [3], [1, 64, 600_000]),
                              helper.make_tensor("axes", TensorProto.INT64, [1], [2])])
    (tmp_path / "wide.onnx").write_bytes(helper.make_model(wide, opset_imports=[helper.make_opsetid("", 17)],
                                                            ir_version=10).SerializeToString())
    done = subprocess.run([sys.executable, "-m", "edgewasm.cli", "bench", "--models", "digits", "--engines",
                           "browser,onnxruntime-web", "--repeats", "1", "--json", str(json_path),
                           "--model", str(tmp_path / "wide.onnx")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(json_path.read_text())
    (wide_row,) = [m for m in report["models"] if m["name"] == "wide"]
    assert wide_row["results"]["browser"]["status"] == "ok", wide_row["results"]["browser"]
    assert wide_row["results"]["browser"]["memory_bytes"] >= 146 << 20
    report["models"] = [m for m in report["models"] if m["name"] != "wide"]
    assert report["machine"]["cross_origin_isolated"] is True
    assert report["machine"]["onnxruntime_web"] == "1.30.0"
    assert report["peak"]["chromium"]["f32_gflops"] > 0
    results = report["models"][0]["results"]
    for engine in ("browser", "onnxruntime-web"):
        result = results[engine]
        assert result["status"] == "ok", result
        assert 0 < result["p50_ms"] <= result["p95_ms"]
        shipped = result["bytes_shipped"]
        assert shipped["model"] > 0 and shipped["runtime"] > 1_000_000 and shipped["total_gzip"] > 0
        assert result["cold_start_ms"] > 0 and result["memory_bytes"] > 0
    assert results["browser"]["runtime_memory_bytes"] > 0  # Pyodide's own heap, reported apart
    assert {f["part"] for f in results["browser"]["bytes_shipped"]["files"]
            if f["url"].endswith(("model.wasm", "manifest.json"))} == {"model"}
    assert results["browser"]["speedup_vs"]["onnxruntime-web"] == pytest.approx(
        results["onnxruntime-web"]["p50_ms"] / results["browser"]["p50_ms"])

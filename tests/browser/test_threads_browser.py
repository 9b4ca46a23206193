"""The threaded build (`--threads N`) in Chromium: k-1 module workers over one shared
WebAssembly.Memory give the bits of the single-threaded build and of the wasmtime host."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

import edgewasm

from cnn_models import make_mobilenet_v2
from models import make_mlp
from transformer_models import encoder_inputs, make_encoder

pytestmark = pytest.mark.browser

N = 3


def build(tmp_path, model, **options):
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    single = edgewasm.compile(path, tmp_path / "single", **options).parent
    threaded = edgewasm.compile(path, tmp_path / "threaded", threads=N, **options).parent
    return single, threaded


def run_in_page(browser, bundle, inputs: dict, threads: int | None) -> tuple[dict, list]:
    """(outputs, model.choice.reasons) of `bundle` loaded in the page with `threads`."""
    url = browser.register(bundle)
    feeds = {name: [base64.b64encode(np.ascontiguousarray(v).tobytes()).decode(), str(v.dtype), list(v.shape)]
             for name, v in inputs.items()}
    reply = browser.evaluate_python(f"""
import array, base64, json, edgewasm
CODES = {{"float32": "f", "float64": "d", "int64": "q", "int32": "i", "uint8": "B", "int8": "b"}}
def feed(data, dtype, shape):
    raw = base64.b64decode(data)
    if dtype not in CODES:
        return raw
    values = array.array(CODES[dtype])
    values.frombytes(raw)
    return values
def raw(tensor):
    return tensor.data.tobytes() if isinstance(tensor.data, array.array) else bytes(tensor.data)
model = await edgewasm.load({url!r}, threads={threads!r})
feeds = {{name: feed(*item) for name, item in json.loads({json.dumps(json.dumps(feeds))}).items()}}
first = model.run(feeds)
second = model.run(feeds)
assert all(raw(first[k]) == raw(second[k]) for k in first)
json.dumps([{{k: base64.b64encode(raw(v)).decode() for k, v in first.items()}}, list(model.choice.reasons)])
""")
    outputs, reasons = json.loads(reply)
    return {k: base64.b64decode(v) for k, v in outputs.items()}, reasons


def check(browser, single, threaded, inputs):
    report = json.loads((threaded / "manifest.json").read_text())["variants"]["fp32"]["report"]
    assert report["threads"]["split_calls"] > 0  # the model really is split over threads
    expected = {k: v.tobytes() for k, v in edgewasm.load(single).run(inputs).items()}
    assert {k: v.tobytes() for k, v in edgewasm.load(threaded, threads=2).run(inputs).items()} == expected
    for k in (1, 2, N):
        outputs, reasons = run_in_page(browser, threaded, inputs, k)
        assert outputs == expected, k
        assert f"{k} thread(s) of {N} built" in reasons[-1]


def test_mlp_same_bits_on_every_thread_count_and_as_wasmtime(browser, tmp_path):
    single, threaded = build(tmp_path, make_mlp([301, 517, 263, 11], batch=37), batch=37)
    check(browser, single, threaded, {"x": np.random.default_rng(0).standard_normal((37, 301)).astype(np.float32)})


def test_cnn_same_bits_in_the_page(browser, tmp_path):
    single, threaded = build(tmp_path, make_mobilenet_v2(width=0.5, resolution=77, classes=13))
    name = json.loads((single / "manifest.json").read_text())["variants"]["fp32"]["inputs"][0]["name"]
    check(browser, single, threaded, {name: np.random.default_rng(2).standard_normal((1, 3, 77, 77)).astype(np.float32)})


def test_transformer_same_bits_in_the_page(browser, tmp_path):
    inputs = encoder_inputs(batch=2, seq=19, d_model=72)
    single, threaded = build(tmp_path, make_encoder(layers=2, d_model=72, heads=4, seq=19, ff=136),
                             shapes={k: v.shape for k, v in inputs.items()})
    check(browser, single, threaded, inputs)


def test_winograd_gemms_without_barriers_between_them_same_bits_in_the_page(browser, tmp_path):
    from cnn_models import make_resnet

    single, threaded = build(tmp_path, make_resnet(stages=(1, 1), widths=(32, 40), resolution=97, classes=7))
    name = json.loads((single / "manifest.json").read_text())["variants"]["fp32"]["inputs"][0]["name"]
    check(browser, single, threaded, {name: np.random.default_rng(8).standard_normal((1, 3, 97, 97)).astype(np.float32)})


def test_row_and_elementwise_splits_same_bits_in_the_page(browser, tmp_path):
    from test_threads import rows_input, rows_model

    single, threaded = build(tmp_path, rows_model())
    check(browser, single, threaded, {"x": rows_input()})


def test_too_many_threads_is_a_typed_error_in_the_page(browser, tmp_path):
    _, threaded = build(tmp_path, make_mlp([64, 96, 10], batch=8), batch=8)
    url = browser.register(threaded)
    with pytest.raises(edgewasm.errors.ThreadsError, match=f"at most {N} thread"):
        browser.evaluate_python(f"import edgewasm; await edgewasm.load({url!r}, threads={N + 1})")


WORKER_RUN = """
import array, base64, json, js, edgewasm
from edgewasm.runtime.config import RuntimeConfig
def raw(tensor):
    return tensor.data.tobytes() if isinstance(tensor.data, array.array) else bytes(tensor.data)
x = array.array("f")
x.frombytes(base64.b64decode({x!r}))
"""


def test_worker_runs_off_the_main_thread_with_the_same_bits(browser, tmp_path):
    single, threaded = build(tmp_path, make_mlp([301, 517, 263, 11], batch=37), batch=37)
    x = np.random.default_rng(6).standard_normal((37, 301)).astype(np.float32)
    expected = edgewasm.load(single).run({"x": x})["y"].tobytes()
    for bundle in (single, threaded):  # a --threads build runs on one thread in the worker
        url = browser.register(bundle)
        reply = browser.evaluate_python(WORKER_RUN.format(x=base64.b64encode(x.tobytes()).decode()) + f"""
model = await edgewasm.load({url!r}, worker=True)
first = await model.run_async({{"x": x}})
second = await model.run_async({{"x": x}})
try:
    model.run({{"x": x}})
    refused = ""
except edgewasm.errors.ExecutionError as exc:
    refused = str(exc)
model.close()
json.dumps([base64.b64encode(raw(first["y"])).decode(), raw(first["y"]) == raw(second["y"]), refused, model.starts])
""")
        out, stable, refused, starts = json.loads(reply)
        assert base64.b64decode(out) == expected and stable and "run_async" in refused and starts == 1


def test_worker_deadline_terminates_it_and_the_next_run_starts_a_fresh_one(browser, tmp_path):
    (tmp_path / "big.onnx").write_bytes(make_mlp([1024, 1024, 1024, 1024, 8], batch=96).SerializeToString())
    single = edgewasm.compile(tmp_path / "big.onnx", tmp_path / "big", batch=96).parent
    x = np.random.default_rng(7).standard_normal((96, 1024)).astype(np.float32)
    expected = edgewasm.load(single).run({"x": x})["y"].tobytes()
    url = browser.register(single)
    reply = browser.evaluate_python(WORKER_RUN.format(x=base64.b64encode(x.tobytes()).decode()) + f"""
model = await edgewasm.load({url!r}, worker=True, config=RuntimeConfig(deadline=0.002))
frames = 0
def tick(*_):
    global frames
    frames += 1
    js.requestAnimationFrame(ticker)
from pyodide.ffi import create_proxy
ticker = create_proxy(tick)
js.requestAnimationFrame(ticker)
try:
    await model.run_async({{"x": x}})
    message = "no deadline"
except edgewasm.errors.DeadlineExceeded as exc:
    message = str(exc)
model.config = RuntimeConfig(deadline=60.0)
before = frames
started = js.performance.now()
runs = 0
while js.performance.now() - started < 600:  # the page keeps painting while the worker computes
    out = await model.run_async({{"x": x}})
    runs += 1
during = frames - before
model.close()
json.dumps([message, base64.b64encode(raw(out["y"])).decode(), model.starts, during, runs])
""")
    message, out, starts, frames, runs = json.loads(reply)
    assert "deadline" in message and "fresh" in message
    assert base64.b64decode(out) == expected and starts == 2
    assert frames >= 5, (frames, runs)  # requestAnimationFrame kept ticking during the runs


BENCH_THREADS = """
import json, sys
from pathlib import Path
from edgewasm.bench import BenchOptions, render_text, run_bench
report = run_bench(BenchOptions(models=["mlp-b32"], engines=["browser", "onnxruntime-web"], repeats=1, cold_starts=0,
                                warmup_seconds=0.1, block_seconds=0.05,
                                microbenchmarks=False, workdir=Path(sys.argv[1]), threads=[1, 2]))
print(json.dumps({"report": report, "text": render_text(report)}, default=str))
"""


def test_bench_threads_gives_onnxruntime_web_the_same_thread_count_in_the_page(tmp_path):
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("no `chromium` on PATH")
        pytest.skip("no `chromium` on PATH (apt-get install chromium)")
    # A process of its own: Playwright's sync API allows one driver per thread (the session fixture may hold one).
    toolkit = Path(edgewasm.__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", BENCH_THREADS, str(tmp_path)], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "PYTHONPATH": str(toolkit)})
    assert done.returncode == 0, done.stderr[-3000:]
    reply = json.loads(done.stdout.splitlines()[-1])
    report, text = reply["report"], reply["text"]
    results = report["models"][0]["results"]
    assert set(results) == {"browser", "onnxruntime-web", "browser@2", "onnxruntime-web@2"}
    assert all(r["status"] == "ok" for r in results.values()), results
    assert report["machine"]["cross_origin_isolated"] is True
    ort2 = results["onnxruntime-web@2"]
    assert ort2["threads"] == 2 and ort2["pthread_workers"] >= 1  # numThreads = 2 really started a worker
    assert results["onnxruntime-web"]["threads"] == 1
    ratios = results["browser@2"]["latency_ratio_vs"]
    assert ratios["onnxruntime-web@2"] == pytest.approx(results["browser@2"]["p50_ms"] / ort2["p50_ms"])
    assert ratios["browser"] == pytest.approx(results["browser@2"]["p50_ms"] / results["browser"]["p50_ms"])
    assert ratios["onnxruntime-web"] == pytest.approx(results["browser@2"]["p50_ms"]
                                                      / results["onnxruntime-web"]["p50_ms"])
    assert "Threads (p50" in text and f"{ratios['onnxruntime-web@2']:.2f}" in text

"""The browser host in headless Chromium: the same bits as wasmtime, the same input kinds and
typed errors, and the same refusal of bundles whose bytes do not match their manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import wasmtime

import edgewasm
from edgewasm.runtime.config import RuntimeConfig
from edgewasm.browser import INPUT_KINDS
from edgewasm.errors import BundleError, InputError, IntegrityError, ResourceLimitError

from bits import assert_same_bits
from models import make_add_of_branches, make_flatten_reshape, make_gemm_trans_a, make_matmul_add, make_mlp

pytestmark = pytest.mark.browser

CASES = {  # name: (model, batch it is compiled for)
    "mlp_100_37_13": (lambda: make_mlp([100, 37, 13]), 3),
    "gemv_301_71_13": (lambda: make_mlp([301, 71, 13]), 1),  # f32_gemm_1x32: each engine's loop, k % 4 = 1
    "matmul_add": (lambda: make_matmul_add(19, 11), 2),
    "gemm_trans_a": (lambda: make_gemm_trans_a(7, 5, 9), 1),
    "add_of_branches": (lambda: make_add_of_branches(13, 6), 4),
    "flatten_reshape": (lambda: make_flatten_reshape(3, 4, 5, 10), 2),
}
SPECIALS = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e30, -1e30, 3.4e38, 1e-40, -1e-45], dtype=np.float32)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    compiled = {}
    for name, (build, batch) in CASES.items():
        onnx_path = root / f"{name}.onnx"
        onnx_path.write_bytes(build().SerializeToString())
        edgewasm.compile(onnx_path, root / name, batch=batch, chunk_bytes=4096)  # several chunks
        compiled[name] = root / name
    return compiled


def input_sets(specs, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Ordinary values, then IEEE specials (NaN, +-Inf, -0.0, huge, subnormal) spread over every input."""
    rng = np.random.default_rng(seed)
    ordinary = {t.name: rng.standard_normal(t.shape).astype(np.float32) for t in specs}
    large = {t.name: (rng.standard_normal(t.shape) * 1e18).astype(np.float32) for t in specs}
    special = {}
    for t in specs:
        values = rng.standard_normal(t.shape).astype(np.float32).reshape(-1)
        values[: SPECIALS.size] = SPECIALS[: values.size]
        special[t.name] = values.reshape(t.shape)
    return [ordinary, large, special]


@pytest.mark.parametrize("name", CASES)
def test_browser_matches_wasmtime_bit_for_bit(browser, bundles, name):
    server = edgewasm.load(bundles[name])
    if name.startswith("gemv"):  # the case exists for the batch-1 GEMV's per-engine loops
        assert "f32_gemm_1x32" in server.variant.kernels
    saw_nan = False
    for inputs in input_sets(server.inputs):
        expected = server.run(inputs)
        actual = browser.run(bundles[name], inputs)
        assert sorted(actual) == sorted(expected)
        for output in expected:
            assert_same_bits(actual[output], expected[output])
            saw_nan |= bool(np.isnan(expected[output]).any())
    assert saw_nan, "the special inputs should have reached an output as NaN"


def test_input_kinds_give_identical_outputs(browser, bundles):
    bundle = bundles["flatten_reshape"]  # rank-4 input: nesting and shaped memoryviews matter
    (inputs,) = input_sets(edgewasm.load(bundle).inputs)[:1]
    by_kind = {kind: browser.run(bundle, inputs, kind=kind) for kind in INPUT_KINDS}
    for kind in INPUT_KINDS:
        assert_same_bits(by_kind[kind]["y"], by_kind["array"]["y"])


def test_page_python_gets_stdlib_tensors_from_any_bundle_url(browser, bundles):
    bundle = bundles["matmul_add"]
    url = browser.register(bundle)  # "/bundles/<key>/"
    values = browser.evaluate_python(f"""
import array, edgewasm
x = array.array("f", [0.25 * i for i in range(38)])
outputs = []
absolute = "http://" + __import__("js").location.host + {url!r}
for url in ({url!r}, {url.rstrip('/')!r}, {url + 'manifest.json'!r}, absolute):
    model = await edgewasm.load(url)
    y = model.run({{"x": x}})["y"]
    outputs.append([type(y).__name__, model.host, list(y.shape), y.tolist()])
outputs
""")
    expected = edgewasm.load(bundle).run({"x": (0.25 * np.arange(38, dtype=np.float32)).reshape(2, 19)})["y"]
    assert values == [["Tensor", "browser", [2, 11], expected.tolist()]] * 4


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_wrong_input_name_is_an_input_error(browser, bundles, kind):
    with pytest.raises(InputError, match=r"missing \['x'\], unknown \['z'\]"):
        browser.run(bundles["matmul_add"], {"z": np.zeros((2, 19), np.float32)}, kind=kind)


@pytest.mark.parametrize("kind, shape", [("array", (2, 18)), ("memoryview", (19, 2)), ("list", (1, 38))])
def test_wrong_input_shape_is_an_input_error(browser, bundles, kind, shape):
    with pytest.raises(InputError, match="'x'"):
        browser.run(bundles["matmul_add"], {"x": np.zeros(shape, np.float32)}, kind=kind)


def test_wrong_input_dtype_is_an_input_error(browser, bundles):
    with pytest.raises(InputError, match="typecode 'd', expected 'f'"):
        browser.run(bundles["matmul_add"], {"x": np.zeros((2, 19), np.float64)})


def _tampered_copy(bundle: Path, destination: Path, pattern: str) -> Path:
    copy = Path(shutil.copytree(bundle, destination))
    victim = sorted(copy.glob(pattern))[-1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize("pattern", ["*/weights-*.bin", "*/model.wasm"])
def test_tampered_bundle_is_refused(browser, bundles, tmp_path, pattern):
    bundle = bundles["mlp_100_37_13"]
    assert len(list(bundle.glob(pattern))) >= 1
    tampered = _tampered_copy(bundle, tmp_path / "tampered", pattern)
    inputs = input_sets(edgewasm.load(bundle).inputs)[0]
    with pytest.raises(IntegrityError, match="sha256 does not match"):
        browser.run(tampered, inputs)


def test_missing_chunk_names_the_url_and_status(browser, bundles, tmp_path):
    copy = Path(shutil.copytree(bundles["matmul_add"], tmp_path / "incomplete"))
    missing = sorted(copy.glob("*/weights-*.bin"))[0]
    missing.unlink()
    with pytest.raises(BundleError, match=rf"{missing.name} failed with HTTP 404"):
        browser.run(copy, {"x": np.zeros((2, 19), np.float32)})


DOUBLER_WAT = """(module
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (v128.store (i32.const 32) (f32x4.add (v128.load (i32.const 0)) (v128.load (i32.const 0))))
    (i32.const 0)))"""


def _own_module(directory: Path, wat: str) -> Path:
    directory.mkdir()
    (directory / "double.wasm").write_bytes(bytes(wasmtime.wat2wasm(wat)))
    (directory / "double.wat").write_text(wat)
    tensor = {"dtype": "float32", "shape": [1, 4], "nbytes": 16}
    (directory / "double.json").write_text(json.dumps({"inputs": [{"name": "x", "offset": 0, **tensor}],
                                                       "outputs": [{"name": "y", "offset": 32, **tensor}]}))
    return directory / "double.wasm"


def test_bring_your_own_wasm_runs_and_wat_is_refused(browser, tmp_path):
    module = _own_module(tmp_path / "own", DOUBLER_WAT)
    x = np.array([[1.5, -0.0, np.inf, 3e38]], np.float32)
    assert_same_bits(browser.run(module, {"x": x})["y"], edgewasm.load(module).run({"x": x})["y"])
    with pytest.raises(BundleError, match="cannot be assembled in the browser"):
        browser.run(module.with_suffix(".wat"), {"x": x})


def test_a_module_that_grows_its_memory_keeps_working(browser, tmp_path):
    """Growing detaches the buffer the host's view was made on: the host must notice it."""
    growing = DOUBLER_WAT.replace("(i32.const 0)))", "(drop (memory.grow (i32.const 1))) (i32.const 0)))")
    assert growing != DOUBLER_WAT
    module = _own_module(tmp_path / "growing", growing)
    inputs = [{"x": np.full((1, 4), v, np.float32)} for v in (1.0, -2.5, 7.0)]
    here = edgewasm.load(module)
    for x in inputs:  # every run grows the memory by a page, in both hosts
        assert_same_bits(browser.run(module, x)["y"], here.run(x)["y"])
        assert here.run(x)["y"][0, 0] == 2 * x["x"][0, 0]


def test_hosts_never_write_into_a_bring_your_own_modules_memory(browser, tmp_path):
    """The loop-variant word at byte 16 is for compiled bundles; here byte 16 is the module's data."""
    keeper = DOUBLER_WAT.replace(
        '(memory (export "memory") 1)', '(memory (export "memory") 1) (data (i32.const 16) "\\00\\00\\c0\\3f")'
    ).replace("(f32x4.add (v128.load (i32.const 0)) (v128.load (i32.const 0)))", "(v128.load (i32.const 16))")
    module = _own_module(tmp_path / "keeper", keeper)
    x = {"x": np.zeros((1, 4), np.float32)}
    want = np.array([[1.5, 0, 0, 0]], np.float32)
    assert_same_bits(browser.run(module, x)["y"], want)
    assert_same_bits(edgewasm.load(module, config=RuntimeConfig(deadline=None)).run(x)["y"], want)


def test_module_with_an_import_is_refused(browser, tmp_path):
    sneaky = DOUBLER_WAT.replace('(memory (export "memory") 1)',
                                 '(import "env" "f" (func)) (memory (export "memory") 1)')
    with pytest.raises(BundleError, match="must import nothing"):
        browser.run(_own_module(tmp_path / "sneaky", sneaky), {"x": np.zeros((1, 4), np.float32)})


def test_module_smaller_than_its_manifest_is_refused(browser, bundles, tmp_path):
    copy = Path(shutil.copytree(bundles["matmul_add"], tmp_path / "inflated"))
    manifest = json.loads((copy / "manifest.json").read_text())
    for variant in manifest["variants"].values():
        variant["memory"]["pages"] += 7
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="smaller than its manifest declares"):
        browser.run(copy, {"x": np.zeros((2, 19), np.float32)})


def test_browser_without_simd128_gets_a_clear_error(browser, bundles):
    url = browser.register(bundles["matmul_add"])
    with pytest.raises(BundleError, match="does not support WebAssembly SIMD128"):
        browser.evaluate_python(f"""
from pyodide.code import run_js
import edgewasm
run_js("WebAssembly.realValidate = WebAssembly.validate; WebAssembly.validate = () => false")
try:
    await edgewasm.load({url!r})
finally:
    run_js("WebAssembly.validate = WebAssembly.realValidate; delete WebAssembly.realValidate")
""")
    assert browser.evaluate_python("from edgewasm.runtime.browser_host import require_simd; require_simd()") is None
    assert browser.run(bundles["matmul_add"], {"x": np.zeros((2, 19), np.float32)})["y"].shape == (2, 11)


def test_memory_limit_is_checked_before_instantiation(browser, bundles):
    url = browser.register(bundles["matmul_add"])
    with pytest.raises(ResourceLimitError, match="limit is 0.0 MiB"):
        browser.evaluate_python(f"""
import edgewasm
from edgewasm.runtime.config import RuntimeConfig
await edgewasm.load({url!r}, config=RuntimeConfig(memory_limit=1024))
""")

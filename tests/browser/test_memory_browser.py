"""In the page: fp16 and sparse variants whose encodings share bytes with their weights and the
arena give fp32's bits, and the default memory limit follows `navigator.deviceMemory` (at least
512 MiB) with the clear error kept for what does not fit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import wasmtime

import edgewasm
from edgewasm.runtime.config import MiB, page_memory_limit
from edgewasm.variants import Options

from bits import assert_same_bits
from test_memory_plan import VARIANTS, exact_sparse_cnn

pytestmark = pytest.mark.browser


def test_compressed_variants_give_fp32_bits_in_the_page(browser, tmp_path):
    (tmp_path / "m.onnx").write_bytes(exact_sparse_cnn().SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", variants=",".join(VARIANTS), options=Options(prune=0.5))
    x = {"x": np.random.default_rng(3).standard_normal((1, 3, 10, 10)).astype(np.float32)}
    want = edgewasm.load(tmp_path / "b", "fp32").run(x)["y"]
    for name in VARIANTS:
        assert_same_bits(browser.run(tmp_path / "b", x, variant=name)["y"], want)


def _module(path, pages: int) -> str:
    path.write_bytes(bytes(wasmtime.wat2wasm(
        f'(module (memory (export "memory") {pages} {pages}) (func (export "run") (result i32) (i32.const 0)))')))
    path.with_suffix(".json").write_text(json.dumps({"inputs": [], "outputs": []}))
    return path


def test_the_default_limit_follows_device_memory(browser, tmp_path):
    assert [page_memory_limit(gb) for gb in (None, 0.25, 1, 2, 4, 8, 64)] == \
        [512 * MiB, 512 * MiB, 512 * MiB, 1024 * MiB, 2048 * MiB, 4096 * MiB, 4096 * MiB]
    fits = browser.register(_module(tmp_path / "fits.wasm", 2200))  # 137.5 MiB: over the old 128 MiB default
    too_big = browser.register(_module(tmp_path / "big.wasm", 8300))  # 518.75 MiB
    result = browser.evaluate_python(f"""
import js, edgewasm
from edgewasm.errors import ResourceLimitError
js.eval("Object.defineProperty(navigator, 'deviceMemory', {{value: 1, configurable: true}})")
try:
    loaded = (await edgewasm.load({fits!r})).instance.memory_bytes
    try:
        await edgewasm.load({too_big!r})
        refused = None
    except ResourceLimitError as exc:
        refused = str(exc)
finally:
    js.eval("delete navigator.deviceMemory")
[loaded, refused]
""")
    assert result[0] == 2200 * 65536
    assert result[1] and "518.8 MiB" in result[1] and "limit is 512.0 MiB" in result[1] and "memory_limit" in result[1]

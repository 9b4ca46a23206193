"""The Python API for pages, in Chromium: the chunk loader (progress, sha256, Cache Storage, offline),
adaptive variants (choose, switch, prefetch) and the performance monitor.

Each test serves its own copy of the bundle, so its URLs (and so its cache entries) are new.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import edgewasm
from edgewasm.errors import BundleError, PolicyError

from models import make_mlp

pytestmark = pytest.mark.browser

VARIANTS = ("fp32", "fp16", "int8")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("api")
    onnx_path = root / "mlp.onnx"
    onnx_path.write_bytes(make_mlp([64, 48, 10]).SerializeToString())
    edgewasm.compile(onnx_path, root / "mlp", batch=1, variants=",".join(VARIANTS), chunk_bytes=1024)
    return root / "mlp"


@pytest.fixture
def fresh(bundle, tmp_path, browser) -> str:
    """A copy of the bundle at a URL no earlier test has cached."""
    return browser.register(Path(shutil.copytree(bundle, tmp_path / "copy")))


def manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


def test_chunks_stream_with_progress_then_come_from_the_cache(browser, bundle, fresh):
    events, first, second = browser.evaluate_python(f"""
import edgewasm
events = []
model = await edgewasm.load({fresh!r}, variant="fp32", on_progress=events.append)
again = await edgewasm.load({fresh!r}, variant="fp32")
[[e.to_json() for e in events], model.load_report.to_json(), again.load_report.to_json()]
""")
    spec = manifest(bundle)["variants"]["fp32"]
    files = [spec["module"], *spec["weights"]]
    assert len(spec["weights"]) >= 3
    total = sum(f["nbytes"] for f in files)
    assert sorted(e["file"] for e in events) == sorted(f["file"] for f in files)
    assert [e["loaded"] for e in events] == sorted(e["loaded"] for e in events) and events[-1]["loaded"] == total
    assert {e["total"] for e in events} == {total} and events[-1]["files_done"] == len(files)
    assert {e["source"] for e in events} == {"network"} and events[0]["stage"] in ("module", "weights")
    assert first["network_bytes"] == total and not first["from_cache"]
    assert second["cache_bytes"] == total and second["from_cache"]


def test_a_damaged_cache_entry_is_refetched_never_used(browser, bundle, fresh):
    chunk = manifest(bundle)["variants"]["fp32"]["weights"][1]
    result = browser.evaluate_python(f"""
import edgewasm, js
from edgewasm.runtime.chunks import CACHE_NAME, cache_key
model = await edgewasm.load({fresh!r}, variant="fp32")
key = cache_key(js.URL.new({fresh!r} + {chunk['file']!r}, js.location.href).href, {chunk['sha256']!r})
cache = await js.caches.open(CACHE_NAME)
await cache.put(key, js.Response.new("not the chunk"))
again = await edgewasm.load({fresh!r}, variant="fp32")
repaired = (await (await cache.match(key)).arrayBuffer()).byteLength
[again.load_report.to_json(), repaired]
""")
    report, repaired = result
    assert report["network_bytes"] == chunk["nbytes"] and not report["from_cache"]
    assert repaired == chunk["nbytes"]


def test_with_the_network_off_a_cached_bundle_still_loads_and_an_uncached_one_fails(browser, bundle, fresh, tmp_path):
    never_cached = browser.register(Path(shutil.copytree(bundle, tmp_path / "never")))
    browser.evaluate_python(f"import edgewasm; (await edgewasm.load({fresh!r}, variant='int8')).variant.name")
    browser.page.context.set_offline(True)
    try:
        name, from_cache = browser.evaluate_python(f"""
import edgewasm
model = await edgewasm.load({fresh!r}, variant="int8")
[model.variant.name, model.load_report.from_cache]
""")
        with pytest.raises(BundleError, match="cannot fetch .*manifest.json"):
            browser.evaluate_python(f"import edgewasm; await edgewasm.load({never_cached!r})")
    finally:
        browser.page.context.set_offline(False)
    assert (name, from_cache) == ("int8", True)


def test_auto_variant_follows_the_context_switches_and_gives_the_servers_bits(browser, bundle, fresh):
    x = np.random.default_rng(1).standard_normal((1, 64)).astype(np.float32)
    result = browser.evaluate_python(f"""
import array, base64, edgewasm
from edgewasm.runtime.adaptive import Context
x = array.array("f", base64.b64decode({base64.b64encode(x.tobytes()).decode()!r}))
model = await edgewasm.load({fresh!r}, variant="auto", context=Context(battery_level=0.1, charging=False))
seen = {{"choice": model.choice.to_json(), "outputs": {{}}}}
seen["prefetch"] = (await model.prefetch()).to_json()  # the policy's next variant
seen["cached"] = await model.cached_variants()
for name in ("fp16", "fp32", "int8"):
    await model.switch(name)
    seen["outputs"][name] = [base64.b64encode(model.run({{"x": x}})["y"].tobytes()).decode(),
                             model.load_report.from_cache]
for _ in range(9):
    model.run({{"x": x}})
seen["stats"] = model.stats()
seen["adapted"] = (await model.adapt(context=Context(priority="accuracy"))).variant
seen["now"] = model.variant.name
seen
""")
    choice = result["choice"]
    assert choice["variant"] == "int8" and choice["ranking"] == list(VARIANTS)
    assert "battery 10 % and not charging" in choice["reasons"][1]
    assert result["prefetch"]["variant"] == "fp16" and result["prefetch"]["network_bytes"] > 0
    assert sorted(result["cached"]) == ["fp16", "int8"]
    for name, (b64, from_cache) in result["outputs"].items():
        expected = edgewasm.load(bundle, name).run({"x": x})["y"]
        assert base64.b64decode(b64) == expected.astype("<f4").tobytes(), f"{name} differs from wasmtime"
        assert from_cache == (name != "fp32"), name
    stats = result["stats"]
    assert stats["variant"] == "int8" and stats["latency"]["runs"] == 10  # switching resets the monitor
    assert 0 < stats["latency"]["p50_ms"] <= stats["latency"]["p95_ms"]
    assert sum(b["count"] for b in stats["latency"]["histogram"]) == 10
    assert stats["memory"]["model_bytes"] >= 65536
    assert (result["adapted"], result["now"]) == ("fp32", "fp32")


def test_the_page_context_is_read_from_navigator(browser):
    context = browser.evaluate_python("""
from edgewasm.runtime.navigator import read_context
(await read_context("power", save_data=True)).to_json()
""")
    assert context["priority"] == "power" and context["save_data"] is True
    assert context["device_memory_gb"] is None or context["device_memory_gb"] > 0
    with pytest.raises(PolicyError, match="priority must be one of"):
        browser.evaluate_python("from edgewasm.runtime.navigator import read_context\nawait read_context('fast')")

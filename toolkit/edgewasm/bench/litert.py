"""LiteRT.js (npm `@litertjs/core`, XNNPACK in wasm) in the bench page, on `.tflite` twins.

Two engines share one staged copy of the package: `litert` is its default build (in Chromium the
relaxed-SIMD module, `litert_wasm_internal`) and `litert-compat` the build it falls back to
without relaxed SIMD (`litert_wasm_compat_internal`), which keeps to baseline SIMD128 as our
modules do. Both run with `{accelerator: "wasm", cpuOptions: {numThreads: 1}}`. The package's
single global runtime is per module instance, so each build imports the ES module under its own
URL (`index.js?build=...`) and loads its own wasm file by path. The ES module's one bare import
(`@litertjs/wasm-utils`, a 2 kB loader) is rewritten to a relative path when staged, since the
page has no bundler and no import map.
"""

from __future__ import annotations

import base64
import json
import shutil
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..webassets import StagingError, cache_dir, npm_pack
from .engines import EngineUnavailable
from .prepare import BenchModel

LITERT_VERSION = "2.5.3"
BUILDS = {"litert": "litert_wasm_internal.js", "litert-compat": "litert_wasm_compat_internal.js"}
CORE_FILES = ("index.js", "wasm-utils.js") + tuple(f"wasm/{name}" for name in BUILDS.values()) + tuple(
    f"wasm/{name[:-3]}.wasm" for name in BUILDS.values())
UTILS_IMPORT = 'from "@litertjs/wasm-utils"'


def fetch_litert(version: str = LITERT_VERSION, log: Callable[[str], None] = print) -> Path:
    """A directory holding @litertjs/core@version's ES module and its two single-thread builds."""
    target = cache_dir() / "npm" / f"litertjs-core-{version}"
    if all((target / name).is_file() for name in CORE_FILES):
        return target
    log(f"fetching @litertjs/core@{version} from npm (once; cached in {target.parent})")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = Path(tmp) / "staged"
        (staged / "wasm").mkdir(parents=True)
        (Path(tmp) / "core").mkdir()
        (Path(tmp) / "utils").mkdir()
        with tarfile.open(npm_pack(f"@litertjs/core@{version}", Path(tmp) / "core")) as archive:
            index = archive.extractfile("package/dist/index.js").read().decode()
            for name in CORE_FILES[2:]:
                (staged / name).write_bytes(archive.extractfile(f"package/{name}").read())
            (staged / "LICENSE.txt").write_text("Apache-2.0 (@litertjs/core package.json)\n")
        if UTILS_IMPORT not in index:
            raise StagingError(f"@litertjs/core@{version}: its ES module no longer imports @litertjs/wasm-utils "
                               "as expected; the staging needs updating")
        (staged / "index.js").write_text(index.replace(UTILS_IMPORT, 'from "./wasm-utils.js"'))
        with tarfile.open(npm_pack(f"@litertjs/wasm-utils@{version}", Path(tmp) / "utils")) as archive:
            (staged / "wasm-utils.js").write_bytes(archive.extractfile("package/dist/index.js").read())
        shutil.rmtree(target, ignore_errors=True)
        staged.rename(target)
    return target


# One module instance and one loaded runtime per build, in the bench page.
IMPORT_JS = """async ([base, build, file]) => {
  const bench = window.edgewasmBench = window.edgewasmBench || {inputs: new Map(), sessions: new Map()};
  bench.litert = bench.litert || new Map();
  const lib = await import(base + "index.js?build=" + build);
  await lib.loadLiteRt(base + "wasm/" + file);
  bench.litert.set(build, lib);
  return {relaxedSimd: await lib.supportsFeature("relaxedSimd")};
}"""

LOAD_JS = """async ([key, build, url, specs]) => {
  const bench = window.edgewasmBench;
  const lib = bench.litert.get(build);
  const model = await lib.loadAndCompile(url, {accelerator: "wasm", cpuOptions: {numThreads: 1}});
  const staged = bench.inputs.get(key);
  const arrays = {float32: Float32Array, int32: Int32Array};
  const inputs = specs.map((spec) => {
    const raw = staged.get(spec.name);
    const values = new arrays[spec.dtype](raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    return new lib.Tensor(values, spec.shape);
  });
  bench.sessions.set(key, {model, inputs});
  return {accelerated: model.isFullyAccelerated};
}"""

BLOCK_JS = """async ([key, samples, group]) => {
  const {model, inputs} = window.edgewasmBench.sessions.get(key);
  const times = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    for (let j = 0; j < group; j++) {
      const outputs = await model.run(inputs);
      for (const tensor of outputs) tensor.delete();
    }
    times.push((performance.now() - started) / group);
  }
  return times;
}"""

# One inference's outputs as base64 float32 bytes (the fast test compares them with TensorFlow's).
OUTPUTS_JS = """async (key) => {
  const {model, inputs} = window.edgewasmBench.sessions.get(key);
  const outputs = await model.run(inputs);
  const result = outputs.map((tensor) => {
    const values = tensor.toTypedArray();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    let text = "";
    for (let i = 0; i < bytes.length; i += 32768) text += String.fromCharCode(...bytes.subarray(i, i + 32768));
    return {dtype: values.constructor.name, shape: tensor.type.layout.dimensions, b64: btoa(text)};
  });
  for (const tensor of outputs) tensor.delete();
  return result;
}"""

RELEASE_JS = """(key) => {
  const bench = window.edgewasmBench;
  const entry = bench.sessions.get(key);
  bench.sessions.delete(key);
  bench.inputs.delete(key);
  if (entry) { for (const tensor of entry.inputs) tensor.delete(); entry.model.delete(); }
}"""


COLD_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>LiteRT.js cold start</title>
<script>{hook}</script>
<script type="module">
try {{
  const query = new URLSearchParams(location.search);
  const base = new URL(query.get("litert"), location.href).href;
  const lib = await import(base + "index.js");
  await lib.loadLiteRt(base + "wasm/" + query.get("file"));
  const model = await lib.loadAndCompile(query.get("model"), {{accelerator: "wasm", cpuOptions: {{numThreads: 1}}}});
  const arrays = {{float32: Float32Array, int32: Int32Array}};
  const inputs = JSON.parse(query.get("inputs")).map(
    (spec) => new lib.Tensor(new arrays[spec.dtype](spec.shape.reduce((a, b) => a * b, 1)), spec.shape));
  const outputs = await model.run(inputs);
  const firstResult = performance.now();
  window.benchResult = {{first_result_ms: firstResult, model_memory_bytes: null,
                        wasm_memory_bytes: benchWasmMemoryBytes(), resources: benchResources()}};
}} catch (error) {{
  window.benchError = String(error && error.stack || error);
}}
</script></head><body>LiteRT.js cold start</body></html>
"""


class LiteRtLoaded:
    def __init__(self, browser, key: str, facts: dict):
        self.browser, self.key, self._facts = browser, key, facts
        self.clock_resolution_ms = browser.page_info["timerResolutionMs"]

    def block(self, samples: int, group: int = 1) -> list[float]:
        return self.browser.evaluate(BLOCK_JS, [self.key, int(samples), int(group)])

    def outputs(self) -> list[np.ndarray]:
        """One inference's outputs, in the twin's layout."""
        arrays = {"Float32Array": np.float32, "Int32Array": np.int32}
        return [np.frombuffer(base64.b64decode(o["b64"]), arrays[o["dtype"]]).reshape(o["shape"])
                for o in self.browser.evaluate(OUTPUTS_JS, self.key)]

    def facts(self) -> dict:
        return dict(self._facts)

    def close(self) -> None:
        self.browser.evaluate(RELEASE_JS, self.key)


class LiteRtEngine:
    """LiteRT.js on the model's `.tflite` twin (bench.twins), one thread, in the bench page."""

    wasm_host = "chromium"

    def __init__(self, browser, engine_id: str, version: str = LITERT_VERSION):
        from .browser import MEMORY_HOOK_JS

        self.id, self.browser = engine_id, browser
        try:
            self.base = base = browser.serve(fetch_litert(version, log=browser.log))
            self.pages = Path(tempfile.mkdtemp(prefix="litert-pages-"))
            (self.pages / "litert.html").write_text(COLD_HTML.format(hook=MEMORY_HOOK_JS))
            self.pages_url = browser.serve(self.pages)
            self.info = browser.evaluate(IMPORT_JS, [base, engine_id, BUILDS[engine_id]])
        except Exception as exc:  # noqa: BLE001 - npm, the page, the package: this engine is unavailable
            raise EngineUnavailable(f"LiteRT.js@{version} could not be staged or loaded: "
                                    f"{' '.join(str(exc).split())[:300]}") from None
        if engine_id == "litert" and not self.info["relaxedSimd"]:
            raise EngineUnavailable("this browser has no relaxed SIMD: LiteRT.js's default build is its "
                                    "compat build here (see litert-compat)")
        self.version = version

    def refusal(self, model: BenchModel) -> dict | None:
        if model.twin is None or isinstance(model.twin, str):
            return {"status": "skipped", "reason": model.twin or "no .tflite twin was built for this model"}
        return None

    def cold_start(self, model: BenchModel) -> dict:
        """Page open (fresh context) to the first result of the twin, as for onnxruntime-web."""
        twin = model.twin
        model_url = self.browser.serve(twin.directory) + twin.tflite.name
        specs = [{"name": n, "dtype": str(v.dtype), "shape": list(v.shape)} for n, v in twin.inputs(model.inputs)]
        # cold_page opens pages under the bench's own pages directory: climb out of it to ours
        page = "../.." + self.pages_url + "litert.html"
        result = self.browser.cold_page(page, {"litert": self.base, "file": BUILDS[self.id], "model": model_url,
                                               "inputs": json.dumps(specs)}, model_url)
        result.pop("model_memory_bytes")
        result["memory_bytes"] = result.pop("wasm_memory_bytes")
        return result

    def load(self, model: BenchModel) -> LiteRtLoaded:
        twin = model.twin
        key = f"{self.id}:{model.name}:{time.monotonic_ns()}"
        feeds = twin.inputs(model.inputs)
        self.browser.evaluate("""([key, inputs]) => {
          const staged = new Map();
          for (const [name, b64] of inputs) staged.set(name, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
          window.edgewasmBench.inputs.set(key, staged);
        }""", [key, [[name, base64.b64encode(value.astype("<" + value.dtype.str[1:]).tobytes()).decode()]
                      for name, value in feeds]])
        specs = [{"name": name, "dtype": str(value.dtype), "shape": list(value.shape)} for name, value in feeds]
        url = self.browser.serve(twin.directory) + twin.tflite.name
        facts = self.browser.evaluate(LOAD_JS, [key, self.id, url, specs])
        return LiteRtLoaded(self.browser, key, {"twin": json.dumps(twin.info["max_abs_diff"]), **facts})

    def close(self) -> None:
        shutil.rmtree(self.pages, ignore_errors=True)

"""The demo page's Python (run by app.js inside Pyodide): draw or pick a digit, classify it here,
and optionally on the server too.

Stdlib + `js` + edgewasm only. The models are listed in models/index.json (written by build.py);
the digits model takes pixels / 16 as float32 [1, 64] and returns ten class probabilities. Each
panel is one class: the board, the bars, the loading rows, the monitor, the server twin, and the
edge vs cloud table; `App` wires them to the model.
"""

import array
import asyncio
import json
import random

import js

import edgewasm
from edgewasm.runtime.dom import InkStrokes, by_testid, context_2d, kib, listen, run_soon
from edgewasm.runtime.monitor import percentile
from edgewasm.runtime.twin import PROFILES, ServerTwinError, ask_server, cloud_estimate_ms

MODELS_URL = "models/index.json"
API_URL = "api/infer"
SIDE = 8  # the model's input is 8x8 pixels ...
LEVELS = 16  # ... each counting the "on" pixels of a 4x4 block of a 32x32 bitmap (0..16)
BITMAP = SIDE * 4
INK = 64  # alpha at which a pixel of the 32x32 bitmap counts as on
STROKE = 15
EDGE_RUNS, SERVER_RUNS = 50, 10

random.seed()  # a restored memory snapshot would otherwise replay the same "random" samples


def to_bitmap_counts(alpha: bytes) -> list[int]:
    """32x32 alpha bytes -> 8x8 counts of pixels above INK per 4x4 block (the digits' encoding)."""
    on = bytes(1 if a >= INK else 0 for a in alpha)
    counts = []
    for block_row in range(SIDE):
        for block_col in range(SIDE):
            start = block_row * 4 * BITMAP + block_col * 4
            counts.append(sum(sum(on[start + r * BITMAP:start + r * BITMAP + 4]) for r in range(4)))
    return counts


class Board:
    """The drawing canvas: pointer strokes in, the model's 8x8 pixels (0..16) out."""

    def __init__(self, canvas, on_stroke_end):
        self.canvas = canvas
        self.strokes = InkStrokes(canvas, STROKE, on_stroke_end)
        self.context = self.strokes.context
        self.bitmap = js.document.createElement("canvas")
        self.bitmap.width = self.bitmap.height = BITMAP

    def clear(self):
        self.strokes.clear()

    def show(self, pixels):
        """Draw 8x8 pixels (0..16) as gray blocks."""
        self.clear()
        cell = self.canvas.width / SIDE
        for i, value in enumerate(pixels):
            if value:
                self.context.fillStyle = f"rgba(17, 17, 17, {value / LEVELS:.3f})"
                self.context.fillRect((i % SIDE) * cell, (i // SIDE) * cell, cell, cell)

    def pixels(self):
        """The drawing as the digits data set encodes it: cropped to the ink, scaled to fill a
        32x32 bitmap (aspect kept, centred), then on-pixels counted per 4x4 block. None if blank."""
        width, height = self.canvas.width, self.canvas.height
        alpha = self.context.getImageData(0, 0, width, height).data.to_bytes()[3::4]
        rows = [r for r in range(height) if alpha[r * width:(r + 1) * width].strip(b"\0")]
        if not rows:
            return None
        lines = [alpha[r * width:(r + 1) * width] for r in range(rows[0], rows[-1] + 1)]
        left = min(len(line) - len(line.lstrip(b"\0")) for line in lines if line.strip(b"\0"))
        right = max(len(line.rstrip(b"\0")) for line in lines)
        top, box_h, box_w = rows[0], rows[-1] + 1 - rows[0], right - left
        scale = BITMAP / max(box_w, box_h)
        target_w, target_h = box_w * scale, box_h * scale
        small = context_2d(self.bitmap)
        small.clearRect(0, 0, BITMAP, BITMAP)
        small.imageSmoothingQuality = "high"
        small.drawImage(self.canvas, left, top, box_w, box_h,
                        (BITMAP - target_w) / 2, (BITMAP - target_h) / 2, target_w, target_h)
        return to_bitmap_counts(small.getImageData(0, 0, BITMAP, BITMAP).data.to_bytes()[3::4])


class Bars:
    """Ten probability bars; each value also sits in a data attribute for tests."""

    def __init__(self, container):
        self.rows = []
        for digit in range(10):
            row = js.document.createElement("div")
            row.className = "bar"
            row.innerHTML = (f'<span class="digit">{digit}</span><span class="track"><span class="fill"></span></span>'
                             f'<span class="value" data-testid="probability-{digit}" data-value="0">0.0 %</span>')
            container.appendChild(row)
            self.rows.append((row, row.querySelector(".fill"), row.querySelector(".value")))

    def show(self, probabilities, best):
        for digit, (row, fill, value) in enumerate(self.rows):
            p = probabilities[digit] if probabilities else 0.0
            fill.style.width = f"{100 * p:.1f}%"
            value.textContent = f"{100 * p:.1f} %"
            value.dataset.value = repr(p) if probabilities else "0"
            row.classList.toggle("best", digit == best)


class LoadPanel:
    """Rows for the module and each weight chunk (app.js adds Python's and the wheel's)."""

    def __init__(self):
        self.bytes_line = by_testid("load-bytes")

    def reset(self, variant):
        for row in js.document.querySelectorAll('[data-testid^="progress-module"], [data-testid^="progress-chunk-"]'):
            row.remove()
        js.edgewasmProgress("module", f"{variant}: module", "waiting…", "loading")
        self.bytes_line.textContent = ""

    def on_progress(self, event):
        if event.stage == "module":
            name, label = "module", f"{event.file.split('/')[0]}: module"
        else:
            chunk = event.file.rsplit("-", 1)[-1].split(".")[0]
            name, label = f"chunk-{int(chunk)}", f"weights chunk {int(chunk)}"
        js.edgewasmProgress(name, label, f"{kib(event.nbytes)} from the {event.source}, sha256 verified", "done")
        self.bytes_line.textContent = f"{kib(event.loaded)} of {kib(event.total)} ({event.files_done}/{event.files_total} files)"

    def done(self, report):
        where = "all from the cache" if report.from_cache else f"{kib(report.network_bytes)} from the network"
        self.bytes_line.textContent += f": {where}, {report.ms:.0f} ms"
        self.bytes_line.dataset.ms = str(report.ms)


class MonitorPanel:
    """p50 / p95, a histogram of the latencies, and memory in use, from `model.stats()`."""

    def show(self, stats):
        latency = stats["latency"]
        by_testid("monitor-runs").textContent = str(latency["runs"])
        if latency["runs"]:
            by_testid("monitor-p50").textContent = f"{latency['p50_ms']:.3f} ms"
            by_testid("monitor-p95").textContent = f"{latency['p95_ms']:.3f} ms"
        memory = stats["memory"]
        text = f"model {kib(memory['model_bytes'])}"
        if memory["js_heap_bytes"]:
            text += f", JS heap {memory['js_heap_bytes'] / (1 << 20):.1f} MiB"
        by_testid("memory").textContent = text
        buckets = [b for b in latency["histogram"] if b["count"]]
        peak = max((b["count"] for b in buckets), default=1)
        by_testid("monitor-histogram").innerHTML = "".join(
            f'<div class="hbar"><span class="edge">≤ {b["le"] if b["le"] is not None else "∞"} ms</span>'
            f'<span class="track"><span class="fill" style="width:{100 * b["count"] / peak:.0f}%"></span></span>'
            f'<span class="count">{b["count"]}</span></div>' for b in buckets)


class ServerTwin:
    """When the toggle is on, every input also goes to `/api/infer`; both answers are compared bit for bit."""

    def __init__(self, toggle, model_name):
        self.toggle = toggle
        self.model_name = model_name
        self.asked = 0  # only the latest answer is shown when inputs come faster than the server
        self.handler = listen(toggle, "change", lambda event: self.clear())

    @property
    def enabled(self):
        return bool(self.toggle.checked)

    def clear(self):
        for name in ("server-prediction", "server-latency", "parity"):
            by_testid(name).textContent = "–" if name != "server-latency" else ""
        by_testid("parity").dataset.state = ""

    def submit(self, variant, inputs, ours):
        """Mark the answer pending at once (so nothing stale is read as current), then ask."""
        self.asked += 1
        parity = by_testid("parity")
        parity.textContent, parity.dataset.state = "asking the server…", "pending"
        run_soon(self.compare(self.asked, variant, inputs, ours))

    async def compare(self, ticket, variant, inputs, ours):
        parity = by_testid("parity")
        try:
            answer = await ask_server(API_URL, self.model_name, variant, inputs)
        except ServerTwinError as error:
            if ticket == self.asked:
                parity.textContent, parity.dataset.state = f"server unavailable: {error}", "error"
            return
        if ticket != self.asked:
            return
        probabilities = array.array("f", next(iter(answer.outputs.values()))).tolist()
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        by_testid("server-prediction").textContent = str(best)
        by_testid("server-latency").textContent = (f"({answer.round_trip_ms:.1f} ms round trip, "
                                                   f"{answer.server_ms:.3f} ms on the server)")
        same = answer.matches(ours) and answer.variant == variant
        parity.textContent = f"bit-identical ({answer.variant})" if same else f"DIFFERENT ({answer.variant})"
        parity.dataset.state = "identical" if same else "different"


class EdgeCloudPanel:
    """In-browser p50 against server round trips under emulated networks (see edgewasm.runtime.twin)."""

    def __init__(self, app):
        self.app = app
        self.button = by_testid("edge-cloud-run")
        self.handler = listen(self.button, "click", lambda event: run_soon(self.measure()))

    async def measure(self):
        app = self.app
        inputs = app.current_input()
        self.button.disabled = True
        try:
            edge = []
            for _ in range(EDGE_RUNS):
                started = js.performance.now()
                app.model.run({app.model.inputs[0].name: inputs})
                edge.append(js.performance.now() - started)
            raw = {app.model.inputs[0].name: (app.model.inputs[0].shape, inputs.tobytes())}
            answers = [await ask_server(API_URL, app.model_name, app.model.variant.name, raw) for _ in range(SERVER_RUNS)]
        except ServerTwinError as error:
            by_testid("edge-cloud").querySelector("tbody").innerHTML = f'<tr><td colspan="4">{error}</td></tr>'
            return
        finally:
            self.button.disabled = False
        edge_ms = percentile(sorted(edge), 0.5)
        loopback_ms = percentile(sorted(a.round_trip_ms for a in answers), 0.5)
        rows = []
        for profile in PROFILES:
            cloud_ms = cloud_estimate_ms(loopback_ms, profile, answers[0].request_bytes, answers[0].response_bytes)
            faster = "browser" if edge_ms < cloud_ms else "server"
            rows.append(f'<tr data-testid="edge-cloud-{profile.name}" data-edge-ms="{edge_ms}" data-cloud-ms="{cloud_ms}">'
                        f"<td>{profile.name}{' (measured)' if profile.name == 'loopback' else ''}</td>"
                        f"<td>{edge_ms:.3f} ms</td><td>{cloud_ms:.1f} ms</td><td>{faster}</td></tr>")
        by_testid("edge-cloud").querySelector("tbody").innerHTML = "".join(rows)
        app.monitor_panel.show(app.model.stats())


class App:
    def __init__(self, models, model_name, model, samples, priority):
        self.models, self.model_name, self.model, self.samples = models, model_name, model, samples["samples"]
        self.pixels = None
        self.board = Board(by_testid("canvas"), self.classify_drawing)
        self.bars = Bars(by_testid("probabilities"))
        self.load_panel, self.monitor_panel = LoadPanel(), MonitorPanel()
        self.twin = ServerTwin(by_testid("server-toggle"), model_name)
        self.edge_cloud = EdgeCloudPanel(self)
        self.priority = priority
        self.handlers = [
            listen(by_testid("sample"), "click", lambda event: self.sample()),
            listen(by_testid("clear"), "click", lambda event: self.clear()),
            listen(by_testid("variant"), "change", lambda event: run_soon(self.switch(event.target.value))),
            listen(by_testid("priority"), "change", lambda event: run_soon(self.adapt(event.target.value))),
            listen(by_testid("model"), "change", lambda event: run_soon(self.change_model(event.target.value))),
            listen(by_testid("threads"), "change", lambda event: run_soon(self.use_threads(event.target.value))),
        ]
        self.threads = None  # "auto": a --threads N build on min(N, hardware threads)
        accuracy = samples.get("accuracy", {}).get("edgewasm")
        if accuracy is not None:
            by_testid("accuracy").textContent = f"{100 * accuracy:.1f} %"
        self.fill_model_picker()
        self.prefetching = None
        self.loads = 0

    # -- controls ----------------------------------------------------------------------------

    def enable(self, on=True):
        for name in ("sample", "clear", "variant", "priority", "model", "threads", "server-toggle", "edge-cloud-run"):
            by_testid(name).disabled = not on

    def fill_model_picker(self):
        picker = by_testid("model")
        picker.innerHTML = "".join(f'<option value="{name}">{name}</option>' for name in self.models)
        picker.value = self.model_name

    async def fill_variant_picker(self):
        cached = set(await self.model.cached_variants())
        picker = by_testid("variant")
        picker.innerHTML = "".join(
            f'<option value="{name}">{name}{" (cached)" if name in cached else ""}</option>'
            for name in self.model.variants)
        picker.value = self.model.variant.name
        picker.dataset.cached = " ".join(sorted(cached))
        reason = by_testid("variant-reason")
        reason.textContent = self.model.choice.explain()
        reason.dataset.variant = self.model.variant.name
        threads = by_testid("threads-reason")
        threads.textContent = self.model.threads_reason
        threads.dataset.threads = str(getattr(self.model.instance, "threads", 1))

    async def switch(self, name):
        await self.reload_with(lambda: self.model.switch(name))

    async def adapt(self, priority):
        self.priority = priority
        await self.reload_with(lambda: self.model.adapt(priority))

    async def change_model(self, name):
        async def load():
            self.model = await load_model(name, self.priority, self.load_panel, self.threads)
            self.model_name = self.twin.model_name = name
        await self.reload_with(load)

    async def use_threads(self, value):
        self.threads = None if value == "auto" else int(value)
        await self.change_model(self.model_name)

    async def reload_with(self, action):
        """Run a load (switch, adapt, another model) with the controls off, then re-predict."""
        self.enable(False)
        status = by_testid("status")
        status.textContent = "loading…"
        try:
            self.load_panel.reset(self.model.variant.name)
            await action()
            self.load_panel.done(self.model.load_report)
            await self.fill_variant_picker()
            if self.pixels is not None:
                self.predict(self.pixels)
            status.textContent = "ready"
        finally:
            self.enable(True)
            self.loads += 1
            js.document.body.dataset.loads = str(self.loads)  # tests wait for it to change
        self.prefetch_others()

    def prefetch_others(self):
        """When idle, cache every other variant (the policy's next one first) so switching works offline."""
        if self.prefetching is not None and not self.prefetching.done():
            return
        model = self.model
        others = [name for name in dict.fromkeys([model.choice.next_variant(), *model.variants])
                  if name and name != model.variant.name]

        async def prefetch_all():
            for position, name in enumerate(others):
                if position == 0:
                    await model.prefetch_when_idle(name)
                elif not await model.loader.is_cached(model.bundle.variant(name)):
                    await model.prefetch(name)
            await self.fill_variant_picker()
            by_testid("variant").dataset.prefetched = "done"

        self.prefetching = run_soon(prefetch_all())

    # -- predicting --------------------------------------------------------------------------

    def current_input(self):
        return array.array("f", [p / LEVELS for p in (self.pixels or [0] * SIDE * SIDE)])

    def predict(self, pixels):
        self.pixels = pixels
        x = self.current_input()
        name = self.model.inputs[0].name
        outputs = self.model.run({name: x})
        elapsed = self.model.monitor.recent[-1]
        output = outputs[self.model.outputs[0].name]
        probabilities = output.tolist()[0]
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        by_testid("prediction").textContent = str(best)
        by_testid("latency").textContent = f"{elapsed:.3f} ms ({self.model.variant.name})"
        self.bars.show(probabilities, best)
        self.preview(pixels)
        self.monitor_panel.show(self.model.stats())
        if self.twin.enabled:
            ours = {self.model.outputs[0].name: output.tobytes()}
            self.twin.submit(self.model.variant.name, {name: (self.model.inputs[0].shape, x.tobytes())}, ours)

    def preview(self, pixels):
        canvas = by_testid("input-preview")
        context = canvas.getContext("2d")
        image = context.createImageData(SIDE, SIDE)
        rgba = bytearray()
        for value in pixels:
            rgba += bytes((17, 17, 17, round(255 * value / LEVELS)))
        image.data.assign(rgba)
        context.putImageData(image, 0, 0)

    def sample(self, index=None):
        index = random.randrange(len(self.samples)) if index is None else index
        chosen = self.samples[index]
        self.board.show(chosen["pixels"])
        label = by_testid("sample-label")
        label.textContent = f"sample #{index}: a {chosen['label']}"
        label.dataset.index = str(index)
        label.dataset.label = str(chosen["label"])
        self.predict(chosen["pixels"])

    def classify_drawing(self):
        by_testid("sample-label").textContent = ""
        pixels = self.board.pixels()
        if pixels is not None:
            self.predict(pixels)

    def clear(self):
        self.board.clear()
        self.pixels = None
        by_testid("prediction").textContent = "\u2013"
        by_testid("sample-label").textContent = ""
        by_testid("latency").textContent = "\u2013"
        self.bars.show(None, None)
        self.twin.clear()
        self.preview([0] * SIDE * SIDE)


async def fetch_json(url):
    response = await js.fetch(url)
    if not response.ok:
        raise RuntimeError(f"{url}: HTTP {response.status}")
    return json.loads(await response.text())


async def load_model(name, priority, load_panel, threads=None):
    """Load on `threads` (None: the build's default); a build made for fewer threads (the default
    build: one) loads on one, and `model.threads_reason` says why."""
    load_panel.reset("…")

    async def load(threads):
        return await edgewasm.load(f"models/{name}/", variant="auto", priority=priority,
                                   on_progress=load_panel.on_progress, threads=threads)
    refused = None
    try:
        model = await load(threads)
    except edgewasm.errors.ThreadsError as exc:  # built for fewer threads (the default build: one)
        refused, model = exc, await load(None)
    said = [r for r in model.choice.reasons if "thread(s)" in r or "thread instead" in r]
    if said:  # the runtime's: k of N built, or why one (not cross-origin isolated, too small to split)
        model.threads_reason = said[-1]
    elif threads not in (None, 1) and not js.crossOriginIsolated:
        model.threads_reason = (f"1 thread instead of {threads}: the page is not cross-origin isolated (it needs "
                                "COOP/COEP to share memory with workers)")
    elif refused is not None:
        model.threads_reason = f"1 thread instead of {threads}: {refused}"
    else:
        model.threads_reason = "1 thread: this build is single-threaded (edgewasm compile --threads N for more)"
    load_panel.done(model.load_report)
    return model


async def main():
    status = by_testid("status")
    status.textContent = "loading the model…"
    models = (await fetch_json(MODELS_URL))["models"]
    name = models[0]
    load_panel = LoadPanel()
    model, samples = await asyncio.gather(load_model(name, "balanced", load_panel),
                                          fetch_json(f"models/{name}/samples.json"))
    js.edgewasmMark("model")
    app = App(models, name, model, samples, "balanced")
    app.sample(0)  # the first result: what "page open to first result" measures
    first = js.edgewasmMark("firstResult")
    boot = js.edgewasmBoot
    shown = by_testid("first-result")
    shown.textContent = f"{first / 1000:.2f} s ({'Python from a snapshot' if boot.path == 'snapshot' else 'Python started'})"
    shown.dataset.ms = str(first)
    await app.fill_variant_picker()
    app.enable(True)
    status.textContent = "ready"
    app.prefetch_others()
    return app


app = await main()  # noqa: F704 (app.js runs this file with runPythonAsync); the global keeps the handlers alive

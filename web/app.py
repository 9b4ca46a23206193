"""The demo page's Python (run by app.js inside Pyodide): draw or pick a digit, classify it.

Stdlib + `js` + edgewasm only. The model is scikit-learn's 8x8 digits MLP compiled by edgewasm;
it takes pixels / 16 as float32 [1, 64] and returns ten class probabilities.
"""

import array
import json
import random

import js
from pyodide.ffi import create_proxy, to_js

import edgewasm

MODEL_URL = "models/digits/"
SAMPLES_URL = "models/digits/samples.json"
SIDE = 8  # the model's input is 8x8 pixels ...
LEVELS = 16  # ... each counting the "on" pixels of a 4x4 block of a 32x32 bitmap (0..16)
BITMAP = SIDE * 4
INK = 64  # alpha at which a pixel of the 32x32 bitmap counts as on
STROKE = 15


def context_2d(canvas):
    return canvas.getContext("2d", to_js({"willReadFrequently": True}, dict_converter=js.Object.fromEntries))


def by_testid(name):
    return js.document.querySelector(f'[data-testid="{name}"]')


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
        self.context = context_2d(canvas)
        self.on_stroke_end = on_stroke_end
        self.drawing = False
        self.bitmap = js.document.createElement("canvas")
        self.bitmap.width = self.bitmap.height = BITMAP
        self.handlers = {name: create_proxy(handler) for name, handler in
                         (("pointerdown", self.down), ("pointermove", self.move), ("pointerup", self.up),
                          ("pointercancel", self.up))}
        for name, handler in self.handlers.items():
            canvas.addEventListener(name, handler)

    def point(self, event):
        scale = self.canvas.width / max(self.canvas.clientWidth, 1)
        return event.offsetX * scale, event.offsetY * scale

    def down(self, event):
        event.preventDefault()
        self.canvas.setPointerCapture(event.pointerId)
        self.drawing = True
        x, y = self.point(event)
        ctx = self.context
        ctx.strokeStyle = ctx.fillStyle = "#111"
        ctx.lineWidth = STROKE
        ctx.lineCap = ctx.lineJoin = "round"
        ctx.beginPath()
        ctx.arc(x, y, STROKE / 2, 0, 6.2832)
        ctx.fill()
        ctx.beginPath()
        ctx.moveTo(x, y)

    def move(self, event):
        if self.drawing:
            x, y = self.point(event)
            self.context.lineTo(x, y)
            self.context.stroke()

    def up(self, event):
        if self.drawing:
            self.drawing = False
            self.on_stroke_end()

    def clear(self):
        self.context.clearRect(0, 0, self.canvas.width, self.canvas.height)

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


class App:
    def __init__(self, model, samples):
        self.model = model
        self.samples = samples["samples"]
        self.board = Board(by_testid("canvas"), self.classify_drawing)
        self.bars = self.make_bars()
        self.buttons = {name: by_testid(name) for name in ("sample", "clear")}
        self.clicks = {"sample": create_proxy(lambda event: self.sample()),
                       "clear": create_proxy(lambda event: self.clear())}
        for name, button in self.buttons.items():
            button.addEventListener("click", self.clicks[name])
            button.disabled = False
        by_testid("variant").textContent = model.variant.name
        accuracy = samples.get("accuracy", {}).get("edgewasm")
        if accuracy is not None:
            by_testid("accuracy").textContent = f"{100 * accuracy:.1f} %"

    def make_bars(self):
        container = by_testid("probabilities")
        bars = []
        for digit in range(10):
            row = js.document.createElement("div")
            row.className = "bar"
            row.innerHTML = f'<span class="digit">{digit}</span><span class="track"><span class="fill"></span></span>' \
                            f'<span class="value" data-testid="probability-{digit}" data-value="0">0.0 %</span>'
            container.appendChild(row)
            bars.append((row, row.querySelector(".fill"), row.querySelector(".value")))
        return bars

    def predict(self, pixels):
        x = array.array("f", [p / LEVELS for p in pixels])
        started = js.performance.now()
        outputs = self.model.run({self.model.inputs[0].name: x})
        elapsed = js.performance.now() - started
        probabilities = outputs[self.model.outputs[0].name].tolist()[0]
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        by_testid("prediction").textContent = str(best)
        by_testid("latency").textContent = f"{elapsed:.2f} ms"
        for digit, (row, fill, value) in enumerate(self.bars):
            p = probabilities[digit]
            fill.style.width = f"{100 * p:.1f}%"
            value.textContent = f"{100 * p:.1f} %"
            value.dataset.value = repr(p)
            row.classList.toggle("best", digit == best)
        self.preview(pixels)

    def preview(self, pixels):
        canvas = by_testid("input-preview")
        context = canvas.getContext("2d")
        image = context.createImageData(SIDE, SIDE)
        rgba = bytearray()
        for value in pixels:
            rgba += bytes((17, 17, 17, round(255 * value / LEVELS)))
        image.data.assign(rgba)
        context.putImageData(image, 0, 0)

    def sample(self):
        index = random.randrange(len(self.samples))
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
        by_testid("prediction").textContent = "\u2013"
        by_testid("sample-label").textContent = ""
        by_testid("latency").textContent = "\u2013"
        for row, fill, value in self.bars:
            fill.style.width = "0%"
            value.textContent = "0.0 %"
            value.dataset.value = "0"
            row.classList.remove("best")
        self.preview([0] * SIDE * SIDE)


async def fetch_json(url):
    response = await js.fetch(url)
    if not response.ok:
        raise RuntimeError(f"{url}: HTTP {response.status}")
    return json.loads(await response.text())


async def main():
    status = by_testid("status")
    status.textContent = "loading the model…"
    model = await edgewasm.load(MODEL_URL)
    samples = await fetch_json(SAMPLES_URL)
    ready = App(model, samples)
    by_testid("load-time").textContent = f"{js.performance.now() / 1000:.1f} s"
    status.textContent = "ready"
    return ready


app = await main()  # noqa: F704 (app.js runs this file with runPythonAsync); the global keeps the handlers alive

"""The page `edgewasm web` writes (run by app.js inside Pyodide as app.py): one panel per model.

Stdlib + `js` + edgewasm only. models/index.json (written by edgewasm/webpage.py) describes each
panel: the bundle's URL, its pinned manifest sha256, and per input the control the page shows
(numbers, canvas, image or file). Inputs travel as the dtype's raw little-endian bytes, which
`model.run` accepts for every dtype; the first inference runs on each bundle's sample
(models/NAME/samples.json, "page"), and then the status line reads "ready".
"""

import ast
import asyncio
import base64
import hashlib
import json
import struct

import js

import edgewasm
from edgewasm.runtime.dom import InkStrokes, by_testid, context_2d, kib, listen, run_soon

MODELS_URL = "models/index.json"
STRUCT_CODES = {"float32": "f", "float64": "d", "float16": "e", "int8": "b", "uint8": "B", "int16": "h",
                "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q", "bool": "?"}
NPY_DESCR = {"float32": "<f4", "float64": "<f8", "float16": "<f2", "int8": "|i1", "uint8": "|u1", "int16": "<i2",
             "uint16": "<u2", "int32": "<i4", "uint32": "<u4", "int64": "<i8", "uint64": "<u8", "bool": "|b1"}
SHOWN_VALUES = 16
INLINE_BYTES = 1 << 20  # outputs up to this size also sit in the table as base64 (data-bytes)
STROKE = 14


async def fetch_json(url):
    response = await js.fetch(url)
    if not response.ok:
        raise RuntimeError(f"{url}: HTTP {response.status}")
    return json.loads(await response.text())


def unpack(data, dtype):
    code = STRUCT_CODES[dtype]
    return list(struct.unpack(f"<{len(data) // struct.calcsize(code)}{code}", data))


def pack(values, dtype):
    return struct.pack(f"<{len(values)}{STRUCT_CODES[dtype]}", *values)


# -- pixels <-> tensors -----------------------------------------------------------------------------


def pixel_positions(spec):
    """Flat tensor index of (channel, y, x) for the input's layout."""
    h, w, c = spec["height"], spec["width"], spec["channels"]
    if spec["layout"] == "NHWC":
        return lambda ch, y, x: (y * w + x) * c + ch
    return lambda ch, y, x: (ch * h + y) * w + x  # NCHW and HW


def pixels_to_tensor(rgba, spec, channel_of):
    """RGBA bytes of a width x height image -> the input's raw bytes; channel_of(ch) picks the RGBA byte."""
    h, w, c = spec["height"], spec["width"], spec["channels"]
    at = pixel_positions(spec)
    values = [0] * (h * w * c)
    scale = 1 if spec["dtype"] == "uint8" else 1 / 255
    for y in range(h):
        for x in range(w):
            base = (y * w + x) * 4
            for ch in range(c):
                values[at(ch, y, x)] = rgba[base + channel_of(ch)] * scale
    return pack(values, spec["dtype"])


def tensor_to_pixels(data, spec):
    """The input's raw bytes -> RGBA for a preview, each channel stretched over 0..255."""
    h, w, c = spec["height"], spec["width"], spec["channels"]
    values = unpack(data, spec["dtype"])
    at = pixel_positions(spec)
    rgba = bytearray(h * w * 4)
    for ch in range(c):
        plane = [values[at(ch, y, x)] for y in range(h) for x in range(w)]
        finite = [v for v in plane if v == v and abs(v) != float("inf")] or [0.0]
        low, high = min(finite), max(finite)
        span = (high - low) or 1.0
        for i, v in enumerate(plane):
            level = round(255 * min(max((v - low) / span, 0.0), 1.0)) if v == v else 0
            if c == 1:  # one channel: dark ink whose opacity is the value, as it is drawn
                rgba[4 * i:4 * i + 4] = bytes((17, 17, 17, level))
            else:
                rgba[4 * i + ch] = level
                rgba[4 * i + 3] = 255
    return bytes(rgba)


def draw_pixels(canvas, rgba, width, height):
    """Paint RGBA pixels onto a canvas of any size (scaled, unsmoothed)."""
    image_canvas = js.document.createElement("canvas")
    image_canvas.width, image_canvas.height = width, height
    small = context_2d(image_canvas)
    image = small.createImageData(width, height)
    image.data.assign(rgba)
    small.putImageData(image, 0, 0)
    context = context_2d(canvas)
    context.clearRect(0, 0, canvas.width, canvas.height)
    context.imageSmoothingEnabled = False
    context.drawImage(image_canvas, 0, 0, canvas.width, canvas.height)


def read_npy(data, spec):
    """A .npy file's data bytes, if its dtype and element count fit the input (no numpy here)."""
    if data[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy file")
    major = data[6]
    size_bytes = 2 if major == 1 else 4
    header_len = int.from_bytes(data[8:8 + size_bytes], "little")
    start = 8 + size_bytes
    header = ast.literal_eval(data[start:start + header_len].decode("latin1"))
    descr = header.get("descr")
    if descr != NPY_DESCR.get(spec["dtype"]):
        raise ValueError(f"the .npy holds {descr}, the input is {spec['dtype']} ({NPY_DESCR.get(spec['dtype'])})")
    if header.get("fortran_order"):
        raise ValueError("the .npy is in Fortran order; save it C-contiguous")
    count = 1
    for side in header.get("shape", ()):
        count *= side
    expected = 1
    for side in spec["shape"]:
        expected *= side
    if count != expected:
        raise ValueError(f"the .npy has shape {tuple(header.get('shape'))}, the input is {tuple(spec['shape'])}")
    return data[start + header_len:start + header_len + spec["nbytes"]]


# -- the controls ---------------------------------------------------------------------------------


class Control:
    """One input's control: show(bytes) puts a value on screen; changes call on_change(name, bytes)."""

    def __init__(self, fieldset, spec, on_change):
        self.fieldset, self.spec, self.name = fieldset, spec, spec["name"]
        self.on_change = on_change
        self.handlers = []

    def listen(self, element, event, handler):
        self.handlers.append(listen(element, event, handler))

    def problem(self, text):
        note = self.fieldset.querySelector(".problem")
        if note is None:
            note = js.document.createElement("p")
            note.className = "problem caption"
            self.fieldset.appendChild(note)
        note.textContent = text


class NumberFields(Control):
    def __init__(self, fieldset, spec, on_change):
        super().__init__(fieldset, spec, on_change)
        self.fields = list(fieldset.querySelectorAll("input[type=number]"))
        for field in self.fields:
            self.listen(field, "change", lambda event: self.changed())

    def show(self, data):
        for field, value in zip(self.fields, unpack(data, self.spec["dtype"])):
            field.value = f"{value:.9g}" if isinstance(value, float) else str(int(value))

    def changed(self):
        dtype = self.spec["dtype"]
        try:
            raw = [float(f.value or 0) for f in self.fields]
            values = raw if dtype.startswith("float") else [int(v) for v in raw]
            data = pack([bool(v) for v in values] if dtype == "bool" else values, dtype)
        except (ValueError, struct.error, OverflowError) as error:
            self.problem(f"not a {dtype}: {error}")
            return
        self.problem("")
        self.on_change(self.name, data)


class DrawingCanvas(Control):
    """Draw with the pointer; the drawing is scaled to the input's height x width (ink = 1)."""

    def __init__(self, fieldset, spec, on_change):
        super().__init__(fieldset, spec, on_change)
        self.canvas = fieldset.querySelector("canvas")
        self.strokes = InkStrokes(self.canvas, STROKE, lambda: self.on_change(self.name, self.read()))
        self.listen(fieldset.querySelector("button.clear"), "click", lambda event: self.clear())

    def clear(self):
        self.strokes.clear()
        self.on_change(self.name, self.read())

    def show(self, data):
        draw_pixels(self.canvas, tensor_to_pixels(data, self.spec), self.spec["width"], self.spec["height"])

    def read(self):
        w, h = self.spec["width"], self.spec["height"]
        small_canvas = js.document.createElement("canvas")
        small_canvas.width, small_canvas.height = w, h
        small = context_2d(small_canvas)
        small.imageSmoothingQuality = "high"
        small.drawImage(self.canvas, 0, 0, w, h)
        return pixels_to_tensor(small.getImageData(0, 0, w, h).data.to_bytes(), self.spec, lambda ch: 3)


class ImagePicker(Control):
    """An image file, stretched to the input's height x width, as RGB."""

    def __init__(self, fieldset, spec, on_change):
        super().__init__(fieldset, spec, on_change)
        self.preview = fieldset.querySelector("canvas")
        self.listen(fieldset.querySelector("input[type=file]"), "change", lambda event: run_soon(self.picked(event)))

    def show(self, data):
        draw_pixels(self.preview, tensor_to_pixels(data, self.spec), self.spec["width"], self.spec["height"])

    async def picked(self, event):
        files = event.target.files
        if not files.length:
            return
        try:
            bitmap = await js.createImageBitmap(files.item(0))
        except Exception as error:  # a JS error: not an image the browser can decode
            self.problem(f"cannot read that image: {error}")
            return
        self.problem("")
        w, h = self.spec["width"], self.spec["height"]
        context = context_2d(self.preview)
        context.clearRect(0, 0, w, h)
        context.drawImage(bitmap, 0, 0, w, h)
        self.on_change(self.name, pixels_to_tensor(context.getImageData(0, 0, w, h).data.to_bytes(), self.spec,
                                                   lambda ch: ch))


class FilePicker(Control):
    """A .npy of the input's dtype and size, or exactly its raw bytes."""

    def __init__(self, fieldset, spec, on_change):
        super().__init__(fieldset, spec, on_change)
        self.caption = fieldset.querySelector(".caption")
        self.expected = self.caption.textContent
        self.listen(fieldset.querySelector("input[type=file]"), "change", lambda event: run_soon(self.picked(event)))

    def show(self, data):
        self.caption.textContent = f"{self.expected} (now: the sample)"

    async def picked(self, event):
        files = event.target.files
        if not files.length:
            return
        file = files.item(0)
        data = (await file.arrayBuffer()).to_bytes()
        try:
            if data[:6] == b"\x93NUMPY":
                data = read_npy(data, self.spec)
            elif len(data) != self.spec["nbytes"]:
                raise ValueError(f"{len(data)} bytes, expected {self.spec['nbytes']}")
        except (ValueError, SyntaxError) as error:
            self.problem(f"{file.name}: {error}")
            return
        self.problem("")
        self.caption.textContent = f"{self.expected} (now: {file.name})"
        self.on_change(self.name, data)


CONTROLS = {"numbers": NumberFields, "canvas": DrawingCanvas, "image": ImagePicker, "file": FilePicker}


# -- one model --------------------------------------------------------------------------------------


def shown_values(tensor):
    """The first values of an output as text (its bytes as hex when Python has no number type for it)."""
    try:
        flat = tensor.tolist()
        while isinstance(flat, list) and flat and isinstance(flat[0], list):
            flat = [v for row in flat for v in row]
        flat = flat if isinstance(flat, list) else [flat]
        text = ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in flat[:SHOWN_VALUES])
        return text + (", …" if len(flat) > SHOWN_VALUES else "")
    except Exception:  # bfloat16 & co: no Python number type
        return tensor.tobytes()[:32].hex() + "…"


class Panel:
    def __init__(self, entry, sample):
        self.entry, self.name = entry, entry["name"]
        self.section = js.document.querySelector(f'section[data-model="{self.name}"]')
        self.sample = {name: base64.b64decode(data) for name, data in sample["inputs"].items()}
        self.current = dict(self.sample)
        self.model = None
        self.controls = {}
        for spec in entry["inputs"]:
            fieldset = self.section.querySelector(f'fieldset[data-input="{spec["name"]}"]')
            self.controls[spec["name"]] = CONTROLS[spec["widget"]](fieldset, spec, self.changed)
        self.buttons = [self.section.querySelector(f"button.{kind}") for kind in ("run", "sample")]
        self.handlers = [listen(self.buttons[0], "click", lambda event: self.predict()),
                         listen(self.buttons[1], "click", lambda event: self.show_sample())]

    def progress(self, event):
        if event.stage == "module":
            row, label = f"{self.name}-module", f"{self.name}: module"
        else:
            chunk = int(event.file.rsplit("-", 1)[-1].split(".")[0])
            row, label = f"{self.name}-chunk-{chunk}", f"{self.name}: weights chunk {chunk}"
        js.edgewasmProgress(row, label, f"{kib(event.nbytes)} from the {event.source}, sha256 verified", "done")
        by_testid("load-bytes").textContent = (f"{self.name}: {kib(event.loaded)} of {kib(event.total)} "
                                               f"({event.files_done}/{event.files_total} files)")

    async def load(self):
        js.edgewasmProgress(f"{self.name}-module", f"{self.name}: module", "waiting…", "loading")
        self.model = await edgewasm.load(self.entry["url"], manifest_sha256=self.entry["manifest_sha256"],
                                         on_progress=self.progress)
        report = self.model.load_report
        where = "all from the cache" if report.from_cache else f"{kib(report.network_bytes)} from the network"
        js.edgewasmProgress(f"{self.name}-loaded", f"{self.name}: loaded", f"{where}, {report.ms:.0f} ms", "done")

    def enable(self):
        for button in self.buttons:
            button.disabled = False

    def changed(self, name, data):
        self.current[name] = data
        if self.model is not None:
            self.predict()

    def show_sample(self):
        self.current = dict(self.sample)
        for name, control in self.controls.items():
            control.show(self.sample[name])
        if self.model is not None:
            self.predict()

    def predict(self):
        outputs = self.model.run(dict(self.current))
        elapsed = self.model.monitor.recent[-1]
        latency = self.section.querySelector('[data-testid="latency"]')
        latency.textContent = f"{elapsed:.3f} ms ({self.model.variant.name})"
        latency.dataset.ms = str(elapsed)
        rows = []
        for spec in self.entry["outputs"]:
            tensor = outputs[spec["name"]]
            data = tensor.tobytes()
            inline = f' data-bytes="{base64.b64encode(data).decode()}"' if len(data) <= INLINE_BYTES else ""
            shape = "\u00d7".join(map(str, spec["shape"])) or "scalar"
            rows.append(f'<tr data-output="{spec["name"]}" data-sha256="{hashlib.sha256(data).hexdigest()}"{inline}>'
                        f'<td><code>{spec["name"]}</code></td><td>{spec["dtype"]}</td><td>{shape}</td>'
                        f'<td class="values">{shown_values(tensor)}</td></tr>')
        table = self.section.querySelector('[data-testid="outputs"]')
        table.querySelector("tbody").innerHTML = "".join(rows)
        table.setAttribute("data-runs", str(int(table.getAttribute("data-runs") or 0) + 1))  # tests wait on it


async def main():
    status = by_testid("status")
    status.textContent = "loading the models…"
    site = await fetch_json(MODELS_URL)
    samples = await asyncio.gather(*(fetch_json(f"{entry['url']}samples.json") for entry in site["bundles"]))
    panels = [Panel(entry, sample["page"]) for entry, sample in zip(site["bundles"], samples)]
    for panel in panels:
        panel.show_sample()  # on screen while the models load
    await asyncio.gather(*(panel.load() for panel in panels))
    js.edgewasmMark("model")
    for panel in panels:
        panel.predict()  # the first result, on each bundle's sample
    first = js.edgewasmMark("firstResult")
    shown = by_testid("first-result")
    shown.textContent = f"{first / 1000:.2f} s"
    shown.dataset.ms = str(first)
    for panel in panels:
        panel.enable()
    status.textContent = "ready"
    return panels


panels = await main()  # noqa: F704 (app.js runs this file with runPythonAsync); the global keeps the handlers alive

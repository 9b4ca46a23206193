"""`edgewasm web` without a browser: the controls chosen from manifests, the staged site (shell,
bundles, pins, samples, service worker, `_headers`), clear refusals, and the page's pure-Python
helpers (pixels <-> tensors, .npy reading) run here with `js` stubbed out."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import json
import shutil
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import edgewasm
from edgewasm.bundle import TensorSpec
from edgewasm.cli import main
from edgewasm.webpage import SHELL_DIR, Widget, render_page, widget_for
from models import make_flatten_reshape, make_mlp


def spec(shape, dtype="float32", name="x"):
    size = int(np.prod(shape))
    return TensorSpec(name, dtype, tuple(shape), 0, size * 4)


@pytest.mark.parametrize("shape, dtype, widget", [
    ([1, 1, 28, 28], "float32", Widget("canvas", "NCHW", 28, 28, 1)),
    ([1, 3, 32, 48], "float32", Widget("image", "NCHW", 32, 48, 3)),
    ([1, 224, 224, 3], "uint8", Widget("image", "NHWC", 224, 224, 3)),
    ([1, 16, 16, 1], "float16", Widget("canvas", "NHWC", 16, 16, 1)),
    ([1, 28, 28], "float32", Widget("canvas", "HW", 28, 28, 1)),
    ([1, 3, 4, 4], "float32", Widget("numbers")),  # too small to be an image: 48 fields
    ([1, 6], "int64", Widget("numbers")),
    ([], "bool", Widget("numbers")),
    ([1, 65], "float32", Widget("file")),
    ([1, 1, 28, 28], "int32", Widget("file")),  # not a pixel dtype
    ([1, 4], "bfloat16", Widget("file")),  # no number type in the page's struct
])
def test_the_control_follows_the_shape_and_dtype(shape, dtype, widget):
    assert widget_for(spec(shape, dtype)) == widget


class Fields(html.parser.HTMLParser):
    """Every element with a data-widget, and the number fields inside each."""

    def __init__(self):
        super().__init__()
        self.widgets, self.numbers, self.current = {}, {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-widget" in attrs:
            self.current = (attrs["data-model"], attrs["data-input"])
            self.widgets[self.current] = attrs["data-widget"]
        if tag == "input" and attrs.get("type") == "number":
            self.numbers[self.current] = self.numbers.get(self.current, 0) + 1


def test_the_page_has_one_control_per_input_and_escapes_names():
    entries = [{"name": "m1", "url": "models/m1/", "title": "<b>net</b>", "variant": "fp32", "sample": "seeded", "inputs": [
        {"name": "x<1>", "dtype": "float32", "shape": [1, 3], "nbytes": 12, "widget": "numbers"},
        {"name": "img", "dtype": "float32", "shape": [1, 1, 9, 9], "nbytes": 324, "widget": "canvas",
         "layout": "NCHW", "height": 9, "width": 9, "channels": 1}], "outputs": []}]
    page = render_page("T & <i>", entries)
    assert "<title>T &amp; &lt;i&gt;</title>" in page and "&lt;b&gt;net&lt;/b&gt;" in page and "<b>net" not in page
    parser = Fields()
    parser.feed(page)
    assert parser.widgets == {("m1", "x<1>"): "numbers", ("m1", "img"): "canvas"}
    assert parser.numbers == {("m1", "x<1>"): 3}
    for testid in ('data-testid="status"', 'data-testid="outputs" data-model="m1"', 'data-testid="progress"',
                   'src="app.js"', 'src="pyodide/pyodide.js"',
                   '<link rel="preload" as="fetch" crossorigin href="models/m1/manifest.json" data-edgewasm-model="fp32">'):
        assert testid in page


@pytest.fixture(autouse=True)
def baked(monkeypatch):
    """The sites whose snapshot would be baked (in Node: tests/test_snapshot.py and the browser tests
    cover that), recorded instead, so these tests stay fast."""
    sites = []
    monkeypatch.setattr("edgewasm.webpage.bake_snapshot", lambda site, log: sites.append(Path(site)))
    return sites


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    (out / "mlp.onnx").write_bytes(make_mlp([6, 5, 4]).SerializeToString())
    (out / "img.onnx").write_bytes(make_flatten_reshape(1, 12, 12, 10).SerializeToString())
    edgewasm.compile(out / "mlp.onnx", out / "mlp", batch=1)
    edgewasm.compile(out / "img.onnx", out / "img", batch=1)
    return out


def test_edgewasm_web_stages_a_site_that_pins_and_samples_each_bundle(bundles, tmp_path, capsys, baked):
    x = np.arange(6, dtype=np.float32) / 7
    (bundles / "mlp" / "samples.json").write_text(json.dumps({"samples": [{"x": [1, 2]}, {"x": [x.tolist()]}]}))
    site = tmp_path / "deep" / "site"
    try:
        assert main(["web", str(bundles / "mlp"), str(bundles / "img"), "-o", str(site), "--title", "Mine"]) == 0
    finally:
        (bundles / "mlp" / "samples.json").unlink()
    assert "wrote" in capsys.readouterr().out
    assert baked == [site]
    index = json.loads((site / "models" / "index.json").read_text())
    assert index["models"] == ["mlp", "img"] and index["title"] == "Mine"
    for entry in index["bundles"]:
        source = bundles / entry["name"] / "manifest.json"
        assert entry["manifest_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        assert (site / "models" / entry["name"] / "manifest.json").read_bytes() == source.read_bytes()
        edgewasm.load(site / "models" / entry["name"])  # every listed file copied, and it verifies
    mlp, img = index["bundles"]
    assert [i["widget"] for i in mlp["inputs"]] == ["numbers"] and [i["widget"] for i in img["inputs"]] == ["canvas"]
    # the first sample that fits the input is used; without one, a seeded fill of pixels in [0, 1)
    page = json.loads((site / "models" / "mlp" / "samples.json").read_text())["page"]
    assert base64.b64decode(page["inputs"]["x"]) == x.tobytes() and "samples.json" in page["source"]
    page = json.loads((site / "models" / "img" / "samples.json").read_text())["page"]
    pixels = np.frombuffer(base64.b64decode(page["inputs"]["x"]), np.float32)
    assert pixels.size == 144 and 0 <= pixels.min() and pixels.max() < 1 and len(set(pixels.tolist())) > 100
    # the shell: boot code, the generated page, the runtime in the lockfile, and the precache list
    for name in ("index.html", "app.js", "app.py", "style.css", "snapshot-worker.mjs"):
        assert (site / name).is_file(), name
    assert (site / "app.py").read_text() == (SHELL_DIR / "page.py").read_text()
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    assert (site / "pyodide" / lock["packages"]["edgewasm"]["file_name"]).is_file()
    sw = (site / "sw.js").read_text()
    assert "self.__EDGEWASM_PRECACHE" not in sw and '"models/img/samples.json"' in sw and '"app.py"' in sw
    assert (site / "_headers").read_text() == (  # every path: isolated, revalidated
        "/*\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n"
        "  Cross-Origin-Resource-Policy: same-origin\n  Cache-Control: no-cache\n")


def test_a_second_run_restages_the_same_site(bundles, tmp_path):
    site = tmp_path / "site"
    assert main(["web", str(bundles / "mlp"), "-o", str(site)]) == 0
    first = {p.relative_to(site): p.read_bytes() for p in (site / "models").rglob("*") if p.is_file()}
    assert main(["web", str(bundles / "mlp") + "/manifest.json", "-o", str(site)]) == 0  # a manifest path works too
    assert {p.relative_to(site): p.read_bytes() for p in (site / "models").rglob("*") if p.is_file()} == first


def test_refusals_are_one_line_and_write_nothing(bundles, tmp_path, capsys):
    def refused(*args) -> str:
        assert main(["web", *map(str, args)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("edgewasm web: error: ") and "\n" not in err
        return err

    site = tmp_path / "site"
    assert "no such bundle" in refused(tmp_path / "nope", "-o", site)
    (tmp_path / "empty").mkdir()
    assert "not a bundle (no manifest.json)" in refused(tmp_path / "empty", "-o", site)
    broken = tmp_path / "broken" / "mlp"
    broken.parent.mkdir()
    shutil.copytree(bundles / "mlp", broken)
    module = broken / "fp32" / "model.wasm"
    module.write_bytes(module.read_bytes()[:-1] + b"\0")
    assert "sha256 does not match" in refused(broken, "-o", site)
    (broken / "manifest.json").write_text("{")
    assert "not valid JSON" in refused(broken, "-o", site)
    twin = tmp_path / "twin" / "mlp"
    shutil.copytree(bundles / "mlp", twin)
    assert "models/mlp/" in refused(bundles / "mlp", twin, "-o", site)  # two bundles, one name
    assert not site.exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert "exists and is not a directory" in refused(bundles / "mlp", "-o", blocker)
    assert "cannot write the site" in refused(bundles / "mlp", "-o", blocker / "site")
    assert "inside the output" in refused(bundles / "mlp", "-o", bundles)
    assert main(["web", "-o", str(site)]) == 2  # no bundle at all: argparse's usage error


def test_without_the_browser_extra_the_refusal_says_what_to_install(bundles, tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyodide_lock" else real(name, *a))
    assert main(["web", str(bundles / "mlp"), "-o", str(tmp_path / "site")]) == 2
    assert "pip install 'edgewasm[browser]'" in capsys.readouterr().err


# -- the page's helpers, outside the browser ------------------------------------------------------


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """page.py's functions, with `js` and `pyodide.ffi` stubbed (the final top-level await left out)."""
    source = (SHELL_DIR / "page.py").read_text()
    body, last = source.rstrip().rsplit("\n", 1)
    assert last.startswith("panels = await main()")
    stubs = {"js": types.ModuleType("js"), "pyodide": types.ModuleType("pyodide"),
             "pyodide.ffi": types.ModuleType("pyodide.ffi")}
    stubs["pyodide.ffi"].create_proxy = stubs["pyodide.ffi"].to_js = lambda *a, **k: None
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        namespace: dict = {"__name__": "page"}
        exec(compile(body, "page.py", "exec"), namespace)
    finally:
        sys.modules.pop("edgewasm.runtime.dom", None)  # imported over the stubs
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name)
            else:
                sys.modules[name] = module
    return types.SimpleNamespace(**namespace)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_pixels_land_where_the_layout_says(page, layout):
    h, w = 2, 3
    rgba = bytes(range(7, 7 + 4 * h * w))
    spec = {"layout": layout, "height": h, "width": w, "channels": 3, "dtype": "float32"}
    rgb = np.frombuffer(rgba, np.uint8).reshape(h, w, 4)[..., :3]
    in_layout = rgb.transpose(2, 0, 1) if layout == "NCHW" else rgb
    floats = page.pixels_to_tensor(rgba, spec, lambda ch: ch)
    assert floats == (in_layout.astype(np.float64) * (1 / 255)).astype(np.float32).tobytes()
    uint8 = page.pixels_to_tensor(rgba, {**spec, "dtype": "uint8"}, lambda ch: ch)
    assert uint8 == np.ascontiguousarray(in_layout).tobytes()
    # and back: a preview stretches each channel over 0..255 and puts it where it came from
    preview = np.frombuffer(page.tensor_to_pixels(uint8, {**spec, "dtype": "uint8"}), np.uint8).reshape(h, w, 4)
    assert (preview[..., 3] == 255).all()
    low, high = rgb.min(axis=(0, 1)).astype(float), rgb.max(axis=(0, 1)).astype(float)
    stretched = (rgb - low) * 255 / (high - low)
    assert np.array_equal(preview[..., :3], np.round(stretched).astype(np.uint8))


def test_a_drawing_is_read_from_its_alpha(page):
    spec = {"layout": "HW", "height": 2, "width": 2, "channels": 1, "dtype": "float32"}
    rgba = bytes([0, 0, 0, 0, 0, 0, 0, 255, 9, 9, 9, 51, 0, 0, 0, 102])
    assert np.frombuffer(page.pixels_to_tensor(rgba, spec, lambda ch: 3), np.float32).tolist() == \
        [0.0, 1.0, np.float32(51 / 255), np.float32(102 / 255)]


def test_npy_files_are_read_without_numpy(page, tmp_path):
    spec = {"name": "x", "dtype": "float32", "shape": [1, 2, 3], "nbytes": 24}
    value = np.arange(6, dtype=np.float32).reshape(1, 2, 3) - 2.5
    np.save(tmp_path / "x.npy", value)
    assert page.read_npy((tmp_path / "x.npy").read_bytes(), spec) == value.tobytes()
    np.save(tmp_path / "flat.npy", value.reshape(6))  # same count, another shape: accepted
    assert page.read_npy((tmp_path / "flat.npy").read_bytes(), spec) == value.tobytes()
    for wrong, message in ((value.astype(np.float64), "<f8"), (value[:, :1], "shape"),
                           (np.asfortranarray(value.reshape(2, 3)), "Fortran")):
        np.save(tmp_path / "w.npy", wrong)
        with pytest.raises(ValueError, match=message):
            page.read_npy((tmp_path / "w.npy").read_bytes(), spec)
    with pytest.raises(ValueError, match="not a .npy"):
        page.read_npy(b"hello", spec)


def test_number_fields_round_trip_each_dtype(page):
    for dtype, values in (("float32", [0.1, -2.5e-8, 3.0]), ("float16", [0.5, -1.0]), ("int64", [-3, 2 ** 40]),
                          ("bool", [True, False]), ("uint8", [0, 255])):
        data = page.pack(values, dtype)
        assert page.unpack(data, dtype) == [struct.unpack("<" + page.STRUCT_CODES[dtype], struct.pack(
            "<" + page.STRUCT_CODES[dtype], v))[0] for v in values]
    # the text a field shows packs back to the same float32 bits
    for bits in (0x3DCCCCCD, 0x33D6BF95, 0x7F7FFFFF, 0x00000001):
        value = struct.unpack("<f", struct.pack("<I", bits))[0]
        assert struct.pack("<f", float(f"{value:.9g}")) == struct.pack("<I", bits)

"""`edgewasm web`: a static site for your own bundles, with a page generated from their manifests.

The site is the shell every edgewasm site shares (webshell.py: Pyodide, the runtime wheel, the
boot code, `_headers`, the service worker) plus, per bundle, a copy of its files under models/NAME/
and a panel on the page. Each input gets the control its shape suggests (a drawing canvas for one
image channel, an image picker for three, number fields for a few values, a file picker otherwise);
the first inference runs on a sample (the bundle's samples.json, else a seeded fill) so the page
shows real outputs as soon as it is ready. The page pins each manifest's sha256, so a bundle edited
on the host after the build is refused in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Callable

from .bundle import LOW_PRECISION, BundleSpec, TensorSpec, parse_manifest, verify_bytes
from .errors import BundleError, EdgewasmError
from .snapshot import bake_snapshot
from .webshell import SHELL_DIR, SiteError, seal, stage_shell

# dtypes the page can read from and write to number fields (struct codes, little-endian)
STRUCT_CODES = {"float32": "f", "float64": "d", "float16": "e", "int8": "b", "uint8": "B", "int16": "h",
                "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q", "bool": "?"}
IMAGE_DTYPES = ("float32", "float64", "float16", "uint8")  # pixels in [0, 1] (floats) or 0..255 (uint8)
MIN_IMAGE_SIDE = 8  # smaller "images" are more likely feature grids: number fields or a file
MAX_NUMBER_FIELDS = 64
SAMPLE_SEED = 0
PAGE_FILES = {"page.html": "index.html", "page.py": "app.py", "page.css": "style.css"}  # package -> site

Log = Callable[[str], None]


@dataclass(frozen=True)
class Widget:
    """How the page asks for one input: `kind` is numbers, canvas, image or file; images keep
    their layout (NCHW, NHWC, or HW for [1, H, W]) so the page can place the pixels."""

    kind: str
    layout: str | None = None
    height: int = 0
    width: int = 0
    channels: int = 0


def widget_for(spec: TensorSpec) -> Widget:
    """The control a tensor's shape and dtype suggest."""
    shape, image = spec.shape, spec.dtype in IMAGE_DTYPES
    big = lambda *sides: all(s >= MIN_IMAGE_SIDE for s in sides)  # noqa: E731
    if image and len(shape) == 4 and shape[0] == 1:
        _, c, h, w = shape
        if c in (1, 3) and big(h, w):
            return Widget("canvas" if c == 1 else "image", "NCHW", h, w, c)
        _, h, w, c = shape
        if c in (1, 3) and big(h, w):
            return Widget("canvas" if c == 1 else "image", "NHWC", h, w, c)
    if image and len(shape) == 3 and shape[0] == 1 and big(shape[1], shape[2]):
        return Widget("canvas", "HW", shape[1], shape[2], 1)
    if spec.dtype in STRUCT_CODES and spec.size <= MAX_NUMBER_FIELDS:
        return Widget("numbers")
    return Widget("file")


# -- sample inputs -----------------------------------------------------------------------------


def _numpy_dtype(name: str):
    import numpy as np

    if hasattr(np, name) and name not in LOW_PRECISION:
        return np.dtype(name)
    import ml_dtypes  # onnx depends on it: bfloat16, float8, int4, ...

    return np.dtype(getattr(ml_dtypes, name))


def seeded_input(spec: TensorSpec, widget: Widget, rng) -> bytes:
    """Pixels in [0, 1) (0..255 for uint8) for images; floats ~ N(0, 1) and integers 0/1 otherwise
    (valid as token ids, indices and masks alike), as `edgewasm check` draws them."""
    import numpy as np

    dtype = _numpy_dtype(spec.dtype)
    if widget.kind in ("canvas", "image"):
        values = rng.integers(0, 256, spec.shape) if dtype == np.uint8 else rng.random(spec.shape)
    elif dtype.kind in "iub":
        values = rng.integers(0, 2, spec.shape)
    else:
        values = rng.standard_normal(spec.shape)
    data = np.asarray(values).astype(dtype).tobytes()
    return data if len(data) == spec.nbytes else data[:spec.nbytes]  # int4 & co: one code per byte


def bundle_sample(samples: dict, inputs: list[TensorSpec]) -> dict[str, bytes] | None:
    """The first entry of a bundle's samples.json that gives every input ({"samples": [{NAME: values}
    or {"inputs": {NAME: values}}]}) with the right number of values, as raw bytes; else None."""
    import numpy as np

    for entry in samples.get("samples", []) if isinstance(samples, dict) else []:
        values = entry.get("inputs", entry) if isinstance(entry, dict) else None
        if not isinstance(values, dict) or not all(t.name in values for t in inputs):
            continue
        try:
            arrays = {t.name: np.asarray(values[t.name]).astype(_numpy_dtype(t.dtype)).reshape(t.shape)
                      for t in inputs}
        except (ValueError, TypeError):
            continue
        encoded = {name: a.tobytes() for name, a in arrays.items()}
        if all(len(encoded[t.name]) == t.nbytes for t in inputs):
            return encoded
    return None


# -- one bundle ----------------------------------------------------------------------------------


def read_bundle(path: Path) -> tuple[bytes, BundleSpec, list[Path]]:
    """(manifest bytes, parsed manifest, every file it lists) of a bundle whose files all verify."""
    path = Path(path)
    manifest = path / "manifest.json" if path.is_dir() else path
    if not path.exists():
        raise BundleError(f"{path}: no such bundle (a directory with a manifest.json)")
    if manifest.name != "manifest.json" or not manifest.is_file():
        raise BundleError(f"{path} is not a bundle (no manifest.json)")
    data = manifest.read_bytes()
    try:
        spec = parse_manifest(data)
    except BundleError as exc:
        raise BundleError(f"{manifest}: {exc}") from None
    root, files = manifest.parent, []
    for variant in spec.variants.values():
        for entry in [variant.module, *variant.weights, *([variant.reference] if variant.reference else [])]:
            file = root / entry.file
            if ".." in Path(entry.file).parts or Path(entry.file).is_absolute():
                raise BundleError(f"{manifest}: file {entry.file!r} is outside the bundle")
            if not file.is_file():
                raise BundleError(f"{root}: {entry.file} is missing (listed in manifest.json)")
            try:
                verify_bytes(entry, file.read_bytes())
            except EdgewasmError as exc:
                raise type(exc)(f"{root}: {exc}") from None
            files.append(file)
    return data, spec, sorted(set(files))


def site_name(path: Path) -> str:
    """The bundle's directory name as a URL path segment."""
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.resolve().name).strip(".-") or "model"
    return name


def stage_bundle(path: Path, models: Path, name: str) -> dict:
    """Copy a verified bundle to models/NAME/ and describe its panel (the page's models/index.json entry)."""
    import numpy as np

    data, spec, files = read_bundle(path)
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    variant = spec.variant()
    target = models / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "manifest.json").write_bytes(data)
    for file in files:
        copy = target / file.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, copy)
    widgets = {t.name: widget_for(t) for t in variant.inputs}
    original = {}
    if (root / "samples.json").is_file():
        try:
            original = json.loads((root / "samples.json").read_text())
        except ValueError as exc:
            raise BundleError(f"{root}/samples.json is not valid JSON: {exc}") from None
    sample = bundle_sample(original, variant.inputs)
    source = "the bundle's samples.json (its first sample)"
    if sample is None:
        rng = np.random.default_rng(SAMPLE_SEED)
        sample = {t.name: seeded_input(t, widgets[t.name], rng) for t in variant.inputs}
        source = f"a seeded fill (numpy default_rng({SAMPLE_SEED}))"
    page_sample = {"source": source, "variant": variant.name,
                   "inputs": {k: base64.b64encode(v).decode() for k, v in sample.items()}}
    extra = original if isinstance(original, dict) else {"samples": original}
    (target / "samples.json").write_text(json.dumps({**extra, "page": page_sample}) + "\n")
    return {
        "name": name, "url": f"models/{name}/", "title": spec.name,
        "manifest_sha256": hashlib.sha256(data).hexdigest(), "variant": variant.name,
        "variants": list(spec.variants), "sample": source,
        "inputs": [_input_entry(t, widgets[t.name]) for t in variant.inputs],
        "outputs": [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape)} for t in variant.outputs],
    }


def _input_entry(spec: TensorSpec, widget: Widget) -> dict:
    entry = {"name": spec.name, "dtype": spec.dtype, "shape": list(spec.shape), "nbytes": spec.nbytes,
             "widget": widget.kind}
    if widget.layout:
        entry.update(layout=widget.layout, height=widget.height, width=widget.width, channels=widget.channels)
    return entry


# -- the page ------------------------------------------------------------------------------------


def _input_html(model: str, spec: dict) -> str:
    name, kind = spec["name"], spec["widget"]
    shape = "\u00d7".join(map(str, spec["shape"])) or "scalar"
    attrs = (f'class="input {kind}" data-model="{html.escape(model)}" data-input="{html.escape(name)}" '
             f'data-widget="{kind}" data-testid="input-{html.escape(model)}-{html.escape(name)}"')
    legend = f"<legend><code>{html.escape(name)}</code> {spec['dtype']} [{shape}]</legend>"
    if kind == "numbers":
        step = "any" if spec["dtype"].startswith("float") else "1"
        count = math.prod(spec["shape"])
        fields = "".join(f'<input type="number" step="{step}" data-index="{i}" aria-label="{html.escape(name)}[{i}]">'
                         for i in range(count))
        return f'<fieldset {attrs}>{legend}<div class="numbers">{fields}</div></fieldset>'
    if kind == "canvas":
        side = 192
        return (f'<fieldset {attrs}>{legend}<canvas class="draw" width="{side}" height="{side}" '
                f'aria-label="Draw the {html.escape(name)} image"></canvas>'
                f'<button type="button" class="clear">Clear</button></fieldset>')
    if kind == "image":
        return (f'<fieldset {attrs}>{legend}<input type="file" accept="image/*" aria-label="Pick an image">'
                f'<canvas class="preview" width="{spec["width"]}" height="{spec["height"]}"></canvas></fieldset>')
    return (f'<fieldset {attrs}>{legend}<input type="file" accept=".npy,.bin,application/octet-stream" '
            f'aria-label="Pick a .npy or raw file"><p class="caption">a .npy of {spec["dtype"]} [{shape}] or its '
            f'{spec["nbytes"]} raw bytes</p></fieldset>')


def _panel_html(entry: dict) -> str:
    name = html.escape(entry["name"])
    inputs = "".join(_input_html(entry["name"], spec) for spec in entry["inputs"])
    return (f'<section class="model" data-testid="model-{name}" data-model="{name}">'
            f'<h2>{html.escape(entry["title"])} <span class="caption">({name}, {html.escape(entry["variant"])}; '
            f'sample: {html.escape(entry["sample"])})</span></h2>'
            f'<form class="inputs">{inputs}</form>'
            f'<div class="buttons"><button type="button" class="run" disabled>Run</button>'
            f'<button type="button" class="sample" disabled>Sample</button></div>'
            f'<table data-testid="outputs" data-model="{name}"><thead><tr><th>output</th><th>dtype</th>'
            f'<th>shape</th><th>values</th></tr></thead><tbody></tbody></table>'
            f'<p class="facts">latency <span data-testid="latency" data-model="{name}">&ndash;</span></p>'
            f'</section>')


def render_page(title: str, entries: list[dict]) -> str:
    template = Template((SHELL_DIR / "page.html").read_text())
    # app.js fetches each manifest and compiles its module while Python starts (the loader then takes them)
    preloads = "\n".join(f'  <link rel="preload" as="fetch" crossorigin href="{html.escape(e["url"])}manifest.json" '
                         f'data-edgewasm-model="{html.escape(e["variant"])}">' for e in entries)
    return template.substitute(title=html.escape(title), preloads=preloads,
                               panels="\n".join(_panel_html(e) for e in entries))


# -- the site -----------------------------------------------------------------------------------


def build_site(bundles: list[Path], site: Path, title: str | None = None, log: Log = print) -> dict:
    """Stage the site: check every bundle first (nothing is written for a bad one), then the shell,
    the bundles, the page and the service worker. Returns models/index.json's content."""
    if not bundles:
        raise BundleError("give at least one bundle")
    names: dict[str, Path] = {}
    for bundle in bundles:
        read_bundle(bundle)  # fail before any download or copy
        name = site_name(bundle)
        source = (Path(bundle) if Path(bundle).is_dir() else Path(bundle).parent).resolve()
        if source.is_relative_to(Path(site).resolve()):
            raise SiteError(f"{bundle} is inside the output {site}; write the site somewhere else")
        if name in names:
            raise SiteError(f"two bundles would be served as models/{name}/ ({names[name]} and {bundle}); "
                            "rename one directory")
        names[name] = Path(bundle)
    site = Path(site)
    stage_shell(site, log=log)
    models = site / "models"
    entries = []
    for name, bundle in names.items():
        log(f"staging {bundle} as models/{name}/")
        entries.append(stage_bundle(bundle, models, name))
    title = title or "edgewasm \u00b7 " + ", ".join(e["title"] for e in entries)
    index = {"models": [e["name"] for e in entries], "title": title, "bundles": entries}
    (models / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    (site / "index.html").write_text(render_page(title, entries))
    for package_name, site_file in PAGE_FILES.items():
        if package_name != "page.html":
            shutil.copyfile(SHELL_DIR / package_name, site / site_file)
    snapshot = bake_snapshot(site, log=log)  # a first visit restores Python from it (as the demo's does)
    if snapshot:
        log(f"Python memory snapshot: {snapshot.relative_to(site)} ({snapshot.stat().st_size / 1e6:.1f} MB gzip)")
    seal(site, log=log)
    return index

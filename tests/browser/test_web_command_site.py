"""The deploy kit from a pip install: edgewasm's wheel (`pip wheel --no-deps` of the sources) installed
into a venv of its own (no source checkout, no system site-packages), `edgewasm web` run there, the
site served by a plain static server that applies its `_headers`, and the page driven in Chromium:
ready on the bundles' samples with wasmtime's bits, online and then offline. `edgewasm check` and
`edgewasm run --engine browser` run from that venv too.

Installing the dependencies into a new venv takes ~50 s here (venv 10 s, pip 40 s), so the venv with
the dependencies is kept under ~/.cache/edgewasm/venvs/ (keyed by the wheel's requirements and the
Python version) and only edgewasm itself is reinstalled from the new wheel each session (~3 s).
"""

from __future__ import annotations

import base64
import fcntl
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import edgewasm
from models import make_flatten_reshape, make_mlp

pytestmark = pytest.mark.browser

EXTRAS = "browser"
READY = re.compile(r"^(ready|error.*)$")
MODELS = ("mlp", "img", "pic", "vec")


def _log(message: str) -> None:
    print(f"[installed venv] {message}", file=sys.stderr, flush=True)


def _requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata).decode().splitlines()
    wanted = (f'extra == "{EXTRAS}"', f"extra == '{EXTRAS}'")  # the other extras do not change this venv
    return sorted(line for line in lines if line.startswith("Requires-Dist:")
                  and ("extra ==" not in line or any(w in line for w in wanted)))


@pytest.fixture(scope="module")
def venv():
    """A venv with edgewasm installed from its wheel; its dependencies are cached, edgewasm is not."""
    from edgewasm.webassets import build_wheel, cache_dir

    wheel = build_wheel(_log)
    key = hashlib.sha256(json.dumps([sys.version, EXTRAS, _requirements(wheel)]).encode()).hexdigest()[:16]
    root = cache_dir() / "venvs"
    root.mkdir(parents=True, exist_ok=True)
    path = root / key
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one session (re)installs at a time ...
        python = path / "bin" / "python"
        if not (path / ".ready").is_file():
            shutil.rmtree(path, ignore_errors=True)
            started = time.monotonic()
            subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(path)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", f"{wheel}[{EXTRAS}]"], check=True)
            _log(f"made {path} in {time.monotonic() - started:.0f} s")
            (path / ".ready").write_text("")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
                       check=True)
        fcntl.flock(lock, fcntl.LOCK_SH)  # ... and none replaces edgewasm while this module uses it
        _prune(root, keep=path)
        yield path


def _prune(root: Path, keep: Path) -> None:
    """Remove the venvs of other requirements (~400 MB each) that no session is using."""
    for other in root.iterdir():
        if other.is_dir() and other != keep:
            with open(root / f"{other.name}.lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                shutil.rmtree(other, ignore_errors=True)


def in_venv(venv: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def bundles(venv, tmp_path_factory):
    """Bundles compiled by the installed edgewasm, one per control: an MLP (number fields), a 12x12
    one-channel image model (a drawing canvas), a 3x8x8 one (an image picker) and an MLP on 80 values
    (a file picker)."""
    out = tmp_path_factory.mktemp("installed")
    (out / "mlp.onnx").write_bytes(make_mlp([6, 5, 4]).SerializeToString())
    (out / "img.onnx").write_bytes(make_flatten_reshape(1, 12, 12, 10).SerializeToString())
    (out / "pic.onnx").write_bytes(make_flatten_reshape(3, 8, 8, 6, seed=1).SerializeToString())
    (out / "vec.onnx").write_bytes(make_mlp([80, 5, 3], seed=2).SerializeToString())
    where = in_venv(venv, out, "python", "-c", "import edgewasm; print(edgewasm.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), "edgewasm must come from the venv, not the checkout"
    for name in MODELS:
        done = in_venv(venv, out, "edgewasm", "compile", f"{name}.onnx", "-o", name)
        assert done.returncode == 0, done.stderr
    return out


class HeadersHandler(http.server.SimpleHTTPRequestHandler):
    """A plain static file server that adds what the site's `_headers` file says (Netlify's format)."""

    rules: list[tuple[str, dict[str, str]]] = []

    def end_headers(self) -> None:
        path = self.path.split("?", 1)[0]
        for pattern, headers in self.rules:
            if re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), path):
                for name, value in headers.items():
                    self.send_header(name, value)
        super().end_headers()

    def log_message(self, *args) -> None:
        pass


def serve_static(site: Path):
    rules: list[tuple[str, dict[str, str]]] = []
    for line in (site / "_headers").read_text().splitlines():
        if line.strip() and not line[0].isspace():
            rules.append((line.strip(), {}))
        elif ":" in line:
            name, value = line.strip().split(":", 1)
            rules[-1][1][name.strip()] = value.strip()
    handler = type("SiteHandler", (HeadersHandler,), {"rules": rules})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def page_sample(site: Path, name: str) -> dict[str, bytes]:
    page = json.loads((site / "models" / name / "samples.json").read_text())["page"]
    return {k: base64.b64decode(v) for k, v in page["inputs"].items()}


def wasmtime_bytes(bundle: Path, inputs: dict[str, bytes]) -> dict[str, bytes]:
    model = edgewasm.load(bundle)
    arrays = {t.name: np.frombuffer(inputs[t.name], t.dtype).reshape(t.shape) for t in model.inputs}
    return {name: np.asarray(value).tobytes() for name, value in model.run(arrays).items()}


def shown_bytes(page, model: str) -> dict[str, bytes]:
    rows = page.locator(f'[data-testid="outputs"][data-model="{model}"] tr[data-output]')
    return {rows.nth(i).get_attribute("data-output"): base64.b64decode(rows.nth(i).get_attribute("data-bytes"))
            for i in range(rows.count())}


def png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of an [H, W, 3] uint8 array (no colour profile: sRGB, as the canvas is)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    h, w, _ = rgb.shape
    rows = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))
    header = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def wait_ready(page) -> None:
    status = page.get_by_test_id("status")
    status.filter(has_text=READY).wait_for(timeout=120_000)
    assert status.text_content() == "ready"


def wait_runs(page, model: str, runs: int) -> None:
    page.wait_for_function(f"Number(document.querySelector('[data-testid=outputs][data-model={model}]')"
                           f".getAttribute('data-runs')) >= {runs}", timeout=30_000)


def test_a_site_from_the_installed_wheel_predicts_online_and_offline(venv, bundles, browser, tmp_path):
    site = tmp_path / "site"
    done = in_venv(venv, tmp_path, "edgewasm", "web", *(str(bundles / name) for name in MODELS), "-o", str(site),
                   "--title", "Installed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "service worker:" in done.stderr and "staging" in done.stderr  # progress of the long steps
    expected = {name: wasmtime_bytes(bundles / name, page_sample(site, name)) for name in MODELS}
    server = serve_static(site)
    page = browser.new_page(f"http://127.0.0.1:{server.server_address[1]}")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        wait_ready(page)
        assert page.evaluate("crossOriginIsolated"), "the static server's _headers should isolate the page"
        assert page.title() == "Installed"
        for name in MODELS:
            assert shown_bytes(page, name) == expected[name], name
            assert re.fullmatch(r"\d+\.\d{3} ms \(fp32\)", page.locator(
                f'[data-testid="latency"][data-model="{name}"]').text_content())
        assert page.get_by_test_id("progress-mlp-module").get_attribute("data-state") == "done"
        assert [page.locator(f'[data-widget="{kind}"]').count() for kind in ("numbers", "canvas", "image", "file")] \
            == [1, 1, 1, 1]
        assert page.locator('[data-widget="numbers"] input[type=number]').count() == 6

        # an edited number field predicts again, with wasmtime's bits for the edited input
        field = page.locator('[data-model="mlp"][data-input="x"] input[data-index="2"]')
        field.fill("1.25")
        field.dispatch_event("change")
        wait_runs(page, "mlp", 2)
        edited = bytearray(page_sample(site, "mlp")["x"])
        edited[8:12] = np.float32(1.25).tobytes()
        assert shown_bytes(page, "mlp") == wasmtime_bytes(bundles / "mlp", {"x": bytes(edited)})

        # a stroke on the canvas is a new input
        box = page.locator('[data-widget="canvas"] canvas').bounding_box()
        page.mouse.move(box["x"] + 40, box["y"] + 40)
        page.mouse.down()
        page.mouse.move(box["x"] + 150, box["y"] + 160, steps=8)
        page.mouse.up()
        wait_runs(page, "img", 2)
        assert shown_bytes(page, "img") != expected["img"]

        # a picked image, RGB / 255 in NCHW, and a picked .npy: wasmtime's bits for exactly those inputs
        rgb = np.random.default_rng(5).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        (tmp_path / "pic.png").write_bytes(png(rgb))
        page.locator('[data-model="pic"][data-input="x"] input[type=file]').set_input_files(tmp_path / "pic.png")
        wait_runs(page, "pic", 2)
        pixels = (rgb.transpose(2, 0, 1).astype(np.float64) * (1 / 255)).astype(np.float32)
        assert shown_bytes(page, "pic") == wasmtime_bytes(bundles / "pic", {"x": pixels.tobytes()})
        values = np.random.default_rng(6).standard_normal((1, 80)).astype(np.float32)
        np.save(tmp_path / "vec.npy", values)
        page.locator('[data-model="vec"][data-input="x"] input[type=file]').set_input_files(tmp_path / "vec.npy")
        wait_runs(page, "vec", 2)
        assert shown_bytes(page, "vec") == wasmtime_bytes(bundles / "vec", {"x": values.tobytes()})

        page.wait_for_function("navigator.serviceWorker.ready.then(() => true)", timeout=60_000)
        page.context.set_offline(True)
        page.reload()
        wait_ready(page)
        for name in MODELS:
            assert shown_bytes(page, name) == expected[name], f"{name} offline"
        assert errors == []
    finally:
        page.context.close()
        server.shutdown()


def test_edgewasm_check_passes_from_the_installed_wheel(venv, bundles):
    done = in_venv(venv, bundles, "edgewasm", "check", "mlp", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "browser vs wasmtime bit-identical: yes" in done.stdout and "check passed" in done.stdout


def test_edgewasm_run_on_the_browser_engine_from_the_installed_wheel(venv, bundles):
    x = np.random.default_rng(3).standard_normal((1, 1, 12, 12)).astype(np.float32)
    np.save(bundles / "x.npy", x)
    done = in_venv(venv, bundles, "edgewasm", "run", "img", "--engine", "browser", "--input", "x=x.npy",
                   "-o", "out.npz", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    with np.load(bundles / "out.npz") as out:
        assert out["y"].tobytes() == wasmtime_bytes(bundles / "img", {"x": x.tobytes()})["y"]

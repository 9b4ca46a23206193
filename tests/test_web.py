"""The deploy kit without a browser: pinned manifests on the wasmtime host, the runtime wheel made
from an installed package, and the static site `edgewasm web` stages (its page, headers, pins).

The site's page itself runs in tests/browser/test_web_site.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

import edgewasm
from edgewasm.errors import BundleError, IntegrityError, ManifestDigestError

from models import make_mlp


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    (root / "m.onnx").write_bytes(make_mlp([6, 5, 4]).SerializeToString())
    edgewasm.compile(root / "m.onnx", root / "mlp", batch=1)
    return root / "mlp"


def _digest(bundle: Path) -> str:
    return hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()


def _edited_copy(bundle: Path, tmp_path: Path) -> Path:
    """The bundle with its output pointed at the input's bytes: a manifest that still parses and runs."""
    edited = tmp_path / "edited"
    shutil.copytree(bundle, edited)
    manifest = json.loads((edited / "manifest.json").read_text())
    for variant in manifest["variants"].values():
        variant["outputs"][0]["offset"] = variant["inputs"][0]["offset"]
    (edited / "manifest.json").write_text(json.dumps(manifest))
    return edited


# -- pinning the manifest --------------------------------------------------------------------------


def test_a_pinned_manifest_loads_and_runs_the_same(bundle):
    x = np.random.default_rng(1).standard_normal((1, 6)).astype(np.float32)
    want = edgewasm.load(bundle).run({"x": x})["y"]
    for pin in (_digest(bundle), _digest(bundle).upper(), f"  {_digest(bundle)}\n"):
        for source in (bundle, bundle / "manifest.json", str(bundle)):
            got = edgewasm.load(source, manifest_sha256=pin).run({"x": x})["y"]
            assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_an_edited_manifest_runs_unpinned_and_is_refused_pinned(bundle, tmp_path):
    edited = _edited_copy(bundle, tmp_path)
    x = np.random.default_rng(2).standard_normal((1, 6)).astype(np.float32)
    assert edgewasm.load(edited).run({"x": x})["y"].shape == (1, 4)  # what pinning is for: this runs
    with pytest.raises(ManifestDigestError) as caught:
        edgewasm.load(edited, manifest_sha256=_digest(bundle))
    message = str(caught.value)
    assert "\n" not in message and _digest(bundle) in message and _digest(edited) in message
    assert "pinned" in message
    assert isinstance(caught.value, IntegrityError) and isinstance(caught.value, BundleError)


@pytest.mark.parametrize("pin", ["abc", "g" * 64, "", 12345, _digest.__name__])
def test_a_malformed_pin_is_a_bundle_error(bundle, pin):
    with pytest.raises(BundleError, match="manifest_sha256 must be 64 hex digits"):
        edgewasm.load(bundle, manifest_sha256=pin)


def test_a_bare_module_cannot_be_pinned(bundle):
    with pytest.raises(BundleError, match="bare module"):
        edgewasm.load(bundle / "fp32" / "model.wasm", manifest_sha256=_digest(bundle))


# -- the runtime wheel of an installed package ---------------------------------------------------


def _fake_package(root: Path) -> Path:
    package = root / "site-packages" / "edgewasm"
    (package / "runtime").mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "runtime" / "core.py").write_text("def f():\n    return 2\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.cpython-313.pyc").write_bytes(b"junk")
    return package


METADATA = ("Metadata-Version: 2.4\nName: edgewasm\nVersion: 9.8.7\n"
            "Requires-Dist: numpy>=1.26; sys_platform != \"emscripten\"\n"
            "Requires-Dist: playwright>=1.45; extra == \"browser\"\n\n# edgewasm\n\nName: not a header\n")


def test_the_installed_wheel_is_reproducible_and_registers_in_pyodides_lockfile(tmp_path, monkeypatch):
    from pyodide_lock import PyodideLockSpec
    from pyodide_lock.utils import add_wheels_to_spec

    from edgewasm.webassets import build_installed_wheel

    monkeypatch.setenv("EDGEWASM_CACHE", str(tmp_path / "cache"))
    package = _fake_package(tmp_path)
    logged = []
    wheel = build_installed_wheel(logged.append, package=package, metadata=(METADATA, "[console_scripts]\nx = y\n"))
    assert wheel.name == "edgewasm-9.8.7-py3-none-any.whl" and logged
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
        assert archive.read("edgewasm/runtime/core.py") == b"def f():\n    return 2\n"
        record = archive.read("edgewasm-9.8.7.dist-info/RECORD").decode()
        assert archive.read("edgewasm-9.8.7.dist-info/METADATA").decode() == METADATA
    assert not any("__pycache__" in n for n in names)
    assert "edgewasm/__init__.py,sha256=" in record and "edgewasm-9.8.7.dist-info/entry_points.txt" in names
    first = wheel.read_bytes()
    again = build_installed_wheel(logged.append, package=package, metadata=(METADATA, "[console_scripts]\nx = y\n"))
    assert again == wheel and len(logged) == 1  # cached by content
    shutil.rmtree(wheel.parent)
    assert build_installed_wheel(logged.append, package=package, metadata=(METADATA, "[console_scripts]\nx = y\n")
                                 ).read_bytes() == first  # the same bytes when made again
    (package / "runtime" / "core.py").write_text("def f():\n    return 3\n")
    changed = build_installed_wheel(logged.append, package=package, metadata=(METADATA, ""))
    assert changed.parent != wheel.parent

    lock = {"info": {"arch": "wasm32", "platform": "emscripten_4_0_9", "version": "0.0.0", "python": "3.13.2",
                     "abi_version": "2025_0"}, "packages": {}}
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    spec = add_wheels_to_spec(PyodideLockSpec.from_json(tmp_path / "lock.json"), [changed], base_path=changed.parent)
    entry = spec.packages["edgewasm"]
    assert entry.version == "9.8.7" and entry.depends == []  # numpy's marker keeps it out of the page
    assert entry.sha256 == hashlib.sha256(changed.read_bytes()).hexdigest()


def test_the_wheel_of_this_install_holds_the_runtime(tmp_path, monkeypatch):
    """build_installed_wheel over the package edgewasm was imported from (the checkout here)."""
    from edgewasm.webassets import build_installed_wheel

    monkeypatch.setenv("EDGEWASM_CACHE", str(tmp_path / "cache"))
    wheel = build_installed_wheel(lambda m: None)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    package = Path(edgewasm.__file__).parent
    assert {f"edgewasm/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")
            if "__pycache__" not in p.parts} <= names
    assert "edgewasm/runtime/browser_host.py" in names and any(n.startswith("edgewasm/wat/") for n in names)

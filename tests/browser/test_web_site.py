"""The deploy kit in Chromium: a pinned manifest loads, an edited one is refused with a typed error."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

import edgewasm
from models import make_mlp

pytestmark = pytest.mark.browser


def test_the_browser_refuses_a_manifest_that_is_not_the_pinned_one(browser, tmp_path):
    (tmp_path / "m.onnx").write_bytes(make_mlp([6, 5, 4]).SerializeToString())
    bundle = tmp_path / "mlp"
    edgewasm.compile(tmp_path / "m.onnx", bundle, batch=1)
    pin = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    edited = tmp_path / "edited"
    shutil.copytree(bundle, edited)
    manifest = json.loads((edited / "manifest.json").read_text())
    for variant in manifest["variants"].values():
        variant["outputs"][0]["offset"] = variant["inputs"][0]["offset"]
    (edited / "manifest.json").write_text(json.dumps(manifest))
    good, bad = browser.register(bundle), browser.register(edited)
    code = f"""
import edgewasm
from edgewasm.errors import ManifestDigestError
model = await edgewasm.load({good!r}, manifest_sha256={pin!r}, cache=False)
unpinned = await edgewasm.load({bad!r}, cache=False)
try:
    await edgewasm.load({bad!r}, manifest_sha256={pin!r}, cache=False)
    refused = None
except ManifestDigestError as exc:
    refused = str(exc)
[model.variant.name, unpinned.variant.name, refused]
"""
    name, unpinned, refused = browser.evaluate_python(code)
    assert name == unpinned == "fp32"
    assert refused is not None and pin in refused and "pinned" in refused and "\n" not in refused

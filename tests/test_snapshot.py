"""edgewasm.snapshot: the Python memory snapshot baked into a staged site (Node + the site's Pyodide).

The page restoring it is tested in tests/browser/test_fast_start.py; here, what the bake writes,
that its name is the key the page computes, that it is made once per input, and why it is skipped.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil

import pytest

from edgewasm import snapshot
from edgewasm.offline import precache_list
from edgewasm.snapshot import SNAPSHOT_DIR, bake_snapshot, snapshot_name
from edgewasm.webassets import stage_runtime

PAGE_SOURCE = "import edgewasm  # the page's Python, compiled into the snapshot: 7f3c9e\n"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js (it stages Pyodide too)")


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    stage_runtime(site, log=lambda message: None)
    for name in ("index.html", "app.js", "app.py", "style.css", "snapshot-worker.mjs", "models/index.json"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(PAGE_SOURCE if name == "app.py" else "")  # the shell files precache_list wants
    return site


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "cache_dir", lambda: tmp_path / "cache")
    return tmp_path / "cache"


def test_the_snapshot_is_pyodides_memory_named_by_its_build_and_the_wheel_and_made_once(staged, own_cache):
    messages: list[str] = []
    stale = staged / SNAPSHOT_DIR / "emscripten_0-3.0.0-2000_0-00.bin.gz"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"an older build's snapshot")

    path = bake_snapshot(staged, log=messages.append)

    lock = json.loads((staged / "pyodide" / "pyodide-lock.json").read_text())
    info, wheel = lock["info"], lock["packages"]["edgewasm"]
    assert path.name == f"{info['platform']}-{info['python']}-{info['abi_version']}-{wheel['sha256']}.bin.gz"
    assert path.parent == staged / SNAPSHOT_DIR and not stale.exists()
    memory = gzip.decompress(path.read_bytes())
    assert int.from_bytes(memory[:4], "little") == snapshot.MAGIC
    build_id = "".join(f"{int.from_bytes(memory[i:i + 4], 'little'):08x}" for i in range(16, 48, 4))
    mjs = (staged / "pyodide" / "pyodide.mjs").read_text()
    assert re.search(r'BUILD_ID:"([0-9a-f]{64})"', mjs).group(1) == build_id  # what Pyodide checks on restore
    assert len(memory) > 16 << 20 and path.stat().st_size < len(memory) / 3
    assert b"/home/pyodide/this.program" in memory and str(staged).encode() not in memory  # no build paths
    assert PAGE_SOURCE.encode() in memory  # the site's app.py, compiled in (app.js checks it is the same source)
    assert [m for m in messages if m.startswith("making")]
    assert f"{SNAPSHOT_DIR}/{path.name}" in precache_list(staged)

    messages.clear()
    path.unlink()
    assert bake_snapshot(staged, log=messages.append) == path and path.is_file()
    assert not [m for m in messages if m.startswith("making")], "the same inputs are baked once (cached)"


def test_without_node_there_is_no_snapshot_and_the_build_says_why(staged, own_cache, monkeypatch):
    monkeypatch.setattr(snapshot.shutil, "which", lambda name: None)
    messages: list[str] = []
    assert bake_snapshot(staged, log=messages.append) is None
    assert messages == ["no Python snapshot: Node.js is needed to make it (a first visit will boot Python instead)"]


def test_a_site_without_the_wheel_in_its_lockfile_gets_no_snapshot(tmp_path):
    (tmp_path / "pyodide").mkdir()
    (tmp_path / "pyodide" / "pyodide-lock.json").write_text(json.dumps({"info": {}, "packages": {}}))
    messages: list[str] = []
    assert bake_snapshot(tmp_path, log=messages.append) is None
    assert "no edgewasm wheel registered" in messages[0]
    assert snapshot_name({"info": {}, "packages": {}}) is None

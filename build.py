"""Build the demo site into dist/: the digits model bundle, the browser runtime and the page.

    python build.py [--dist DIR]                      build
    python build.py serve [--dist DIR] [--host H] [--port P]   build, then serve it locally
    python build.py test [PYTEST ARGS]                run the test suite

On a fresh machine the dependencies are missing: build.py then makes .venv/ (Python >= 3.12),
installs edgewasm with its dev extra into it, and re-runs itself there. It reinstalls when
pyproject.toml changes.

dist/ gets models/digits/ (the compiled bundle, fp32 + fp16 + int8, plus samples.json with held-out
digits and the accuracy), models/index.json, pyodide/ (vendored Pyodide with the edgewasm wheel in
its lockfile), the shell (boot code, `_headers`: edgewasm/webshell.py, the same as `edgewasm web`
stages), web/'s page, and sw.js with its precache list.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_DIST = ROOT / "dist"
SAMPLES_PER_CLASS = 2
DEMO_VARIANTS = "fp32,fp16,int8"  # what the page's adaptive policy chooses from
DEMO_CHUNK_BYTES = 4096  # small chunks, so the page shows the chunk loader at work on a 10 KiB model
VENV = ROOT / ".venv"
VENV_STAMP = VENV / ".edgewasm-installed"
NEEDED = {
    "build": ["numpy", "onnx", "wasmtime", "sklearn", "starlette", "uvicorn", "pyodide_lock"],
    "test": ["pytest", "onnxruntime", "playwright", "hypothesis", "httpx"],
}


# ---- environment: use this interpreter if it has everything, else .venv ----

# EDGEWASM_EXTRAS=torch,jax,keras (set by .ci/run) also installs those extras, so the front-door
# tests run; a plain checkout installs only dev (the frameworks are large).
EXTRA_MODULES = {"torch": ["torch", "onnxscript"], "jax": ["jax", "jax2onnx", "flax"],
                 "keras": ["keras", "tensorflow", "tf2onnx"]}


def _extras() -> list[str]:
    return ["dev"] + [e.strip() for e in os.environ.get("EDGEWASM_EXTRAS", "").split(",") if e.strip()]


def _wanted_stamp() -> str:
    stamp = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return stamp if _extras() == ["dev"] else f"{stamp} {','.join(_extras())}"


def _environment_ready(command: str) -> bool:
    if sys.version_info < (3, 12):
        return False
    modules = NEEDED["build"] + (NEEDED["test"] if command == "test" else [])
    modules += [m for extra in _extras() for m in EXTRA_MODULES.get(extra, [])]
    if not all(importlib.util.find_spec(m) for m in modules):
        return False
    spec = importlib.util.find_spec("edgewasm")  # tests run the CLI in subprocesses: it must be installed
    return command != "test" or (spec is not None and spec.origin is not None
                                 and Path(spec.origin).resolve().is_relative_to(ROOT / "toolkit"))


def _find_python() -> str:
    """A Python >= 3.12: this one, one on PATH, or one pyenv has installed."""
    if sys.version_info >= (3, 12):
        return sys.executable
    candidates = [shutil.which(f"python3.{minor}") for minor in range(20, 11, -1)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                                 capture_output=True, text=True, timeout=30).stdout
        except OSError:
            continue
        if out.strip() == "True":
            return candidate
    raise SystemExit("build.py needs Python >= 3.12 (none found; install python3.12 or newer)")


def ensure_environment(command: str) -> None:
    """Re-run inside .venv unless this interpreter already has everything the command needs."""
    in_venv = Path(sys.prefix).resolve() == VENV.resolve()
    if not in_venv and _environment_ready(command):
        return
    python = VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {VENV} ...")
        subprocess.run([_find_python(), "-m", "venv", str(VENV)], check=True)
    if not VENV_STAMP.exists() or VENV_STAMP.read_text() != _wanted_stamp():
        extras = ",".join(_extras())
        log(f"installing edgewasm[{extras}] into .venv (pip) ...")
        started = time.monotonic()
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "-e", f"{ROOT}[{extras}]"], check=True)
        log(f"installed in {time.monotonic() - started:.0f} s")
        VENV_STAMP.write_text(_wanted_stamp())
    if not in_venv:
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])

# ---- third-party imports (numpy, scikit-learn, onnx, edgewasm) happen inside functions only ----


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


def _import_paths() -> None:
    """Let a plain checkout build without installing: edgewasm from toolkit/, the examples."""
    for path in (ROOT / "toolkit", ROOT / "examples"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def build_model(models: Path) -> Path:
    """Train, export, compile; check the compiled bundle on wasmtime; write samples.json."""
    import numpy as np

    import edgewasm
    from edgewasm.compiler import compile_model
    from edgewasm.evaluation import Dataset
    from train_digits import check_export, export_onnx, load_digits_split, model_input, train_mlp

    log("training the digits MLP (scikit-learn's 8x8 digits)")
    digits = load_digits_split()
    classifier = train_mlp(digits)
    model = export_onnx(classifier)
    diff = check_export(model, classifier, digits.test_pixels)
    log(f"exported to ONNX: max |onnx - predict_proba| = {diff:.1e}")

    bundle = models / "digits"
    shutil.rmtree(bundle, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "digits.onnx"
        onnx_path.write_bytes(model.SerializeToString())
        held_out = Dataset({"pixels": model_input(digits.test_pixels)}, digits.test_labels)
        compile_model(onnx_path, bundle, batch=1, name="digits", variants=DEMO_VARIANTS, eval_data=held_out,
                      chunk_bytes=DEMO_CHUNK_BYTES, log=lambda m: log(f"compile: {m}"))

    compiled = edgewasm.load(bundle)
    x = model_input(digits.test_pixels)
    probabilities = np.concatenate([compiled.run({"pixels": row[None]})["probabilities"] for row in x])
    worst = float(np.abs(probabilities - classifier.predict_proba(x)).max())
    if worst > 1e-5:
        raise SystemExit(f"the compiled model differs from scikit-learn by {worst:g} on held-out digits")
    predicted = probabilities.argmax(axis=1)
    accuracy = {"edgewasm": float((predicted == digits.test_labels).mean()),
                "sklearn": float(classifier.score(x, digits.test_labels)),
                "held_out": int(len(digits.test_labels))}
    log(f"compiled model: held-out accuracy {accuracy['edgewasm']:.4f} on {accuracy['held_out']} digits "
        f"(max |edgewasm - sklearn| = {worst:.1e})")

    chosen = [i for digit in range(10) for i in np.flatnonzero(digits.test_labels == digit)[:SAMPLES_PER_CLASS]]
    samples = [{"pixels": [int(p) for p in digits.test_pixels[i]], "label": int(digits.test_labels[i]),
                "predicted": int(predicted[i])} for i in chosen]
    (bundle / "samples.json").write_text(json.dumps({"accuracy": accuracy, "samples": samples}) + "\n")
    return bundle


def build(dist: Path) -> Path:
    _import_paths()
    from edgewasm.snapshot import bake_snapshot
    from edgewasm.webshell import seal, stage_shell

    started = time.monotonic()
    dist.mkdir(parents=True, exist_ok=True)
    build_model(dist / "models")
    stage_shell(dist, log=log)  # Pyodide + wheel, boot code, _headers: the same as `edgewasm web`
    (dist / "models" / "index.json").write_text(json.dumps({"models": ["digits"]}) + "\n")
    for page_file in sorted((ROOT / "web").iterdir()):  # the hand-written demo page
        if page_file.is_file():
            shutil.copyfile(page_file, dist / page_file.name)
    snapshot = bake_snapshot(dist, log=log)  # a first visit restores Python from it, not booting it
    if snapshot:
        log(f"Python memory snapshot: {snapshot.relative_to(dist)} ({snapshot.stat().st_size / 1e6:.1f} MB gzip)")
    seal(dist, log=log)  # last: sw.js lists the files above
    log(f"built {dist} in {time.monotonic() - started:.1f} s")
    return dist


def run_tests(pytest_args: list[str]) -> None:
    os.chdir(ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *pytest_args])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["test"]:
        ensure_environment("test")
        run_tests(argv[1:])
    ensure_environment("build")
    parser = argparse.ArgumentParser(description="Build (and optionally serve) the edgewasm demo site.")
    parser.add_argument("command", nargs="?", choices=["build", "serve", "test"], default="build")
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST, help=f"output directory (default {DEFAULT_DIST})")
    parser.add_argument("--host", default="127.0.0.1", help="serve: address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="serve: port to listen on")
    args = parser.parse_args(argv)
    dist = build(args.dist.resolve())
    if args.command == "serve":
        from edgewasm.serve import serve

        serve(dist, host=args.host, port=args.port)


if __name__ == "__main__":
    main()

"""Build the demo site into dist/: the digits model bundle, the browser runtime and the page.

    python build.py [--dist DIR]                      build
    python build.py serve [--dist DIR] [--host H] [--port P]   build, then serve it locally

dist/ gets models/digits/ (the compiled bundle plus samples.json with held-out digits and the
accuracy), pyodide/ (vendored Pyodide with the edgewasm wheel in its lockfile) and web/'s files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_DIST = ROOT / "dist"
SAMPLES_PER_CLASS = 2

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
        compile_model(onnx_path, bundle, batch=1, name="digits", log=lambda m: log(f"compile: {m}"))

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
    from edgewasm.webassets import stage_runtime

    started = time.monotonic()
    dist.mkdir(parents=True, exist_ok=True)
    build_model(dist / "models")
    stage_runtime(dist, log=log)
    for page_file in sorted((ROOT / "web").iterdir()):
        if page_file.is_file():
            shutil.copyfile(page_file, dist / page_file.name)
    log(f"built {dist} in {time.monotonic() - started:.1f} s")
    return dist


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build (and optionally serve) the edgewasm demo site.")
    parser.add_argument("command", nargs="?", choices=["build", "serve"], default="build")
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

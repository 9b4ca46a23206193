"""Per-model report for the zoo: does each model compile, run on wasmtime and match onnxruntime?

    python tests/zoo/report.py [--only NAME ...] [--markdown docs/models.md] [--timeout 300] [--jobs 1]
    cd tests && python -m zoo.report ...

Runs the same pipeline as tests/test_zoo.py (restore, compile with the zoo's shapes, run on
wasmtime, compare with onnxruntime on the restored graph), each model in a subprocess of its own
with a timeout, so a crash or hang costs one row. Prints per model: exporter, task, op types,
FLOPs (where edgewasm's importer gets that far), compile seconds, module and weight bytes (from
the bundle's manifest), max difference vs onnxruntime and status (pass, or the one-line error);
then, over the failing models, the op types edgewasm reported as unsupported.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:                                    # python -m zoo.report (from tests/)
    from . import zoo
except ImportError:                     # python tests/zoo/report.py
    import zoo

HERE = Path(__file__).resolve().parent
ATOL, RTOL = 1e-4, 1e-3
UNSUPPORTED = re.compile(r"unsupported ONNX operator\(s\): (.*)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:400]


def _flops(proto, shapes):
    """FLOPs from edgewasm's own importer and op units, where that works; else None."""
    try:
        from edgewasm.frontend.onnx import import_onnx
        from edgewasm.ops import flops
        try:
            graph = import_onnx(proto, shapes=shapes)
        except TypeError:
            graph = import_onnx(proto, batch=1)
        return int(flops(graph))
    except Exception:
        return None


def worker(name: str) -> dict:
    """The pipeline for one model; returns a JSON-able result (never raises)."""
    import numpy as np

    info = zoo.meta(name)
    result = {"name": name, "exporter": info["exporter"], "task": info["task"], "status": "error",
              "shapes": info["shapes"]}
    stage = "restore"
    try:
        proto = zoo.load(name)
        ops = zoo.op_types(proto)
        result["ops"] = ops
        result["nodes"] = sum(ops.values())
        stage = "onnxruntime"
        import onnxruntime as ort
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = zoo.inputs(name)
        names = [o.name for o in session.get_outputs()]
        want = dict(zip(names, session.run(names, feeds)))
        with tempfile.TemporaryDirectory(prefix=f"zoo-report-{name}-") as tmp:
            source = Path(tmp) / f"{name}.onnx"
            source.write_bytes(proto.SerializeToString())
            stage = "compile"
            import edgewasm
            t0 = time.perf_counter()
            try:
                edgewasm.compile(str(source), str(Path(tmp) / "bundle"), shapes=info["shapes"])
            except TypeError as exc:            # a compiler without shapes= yet: batch=1 at least
                if "shapes" not in str(exc):
                    raise
                result["fallback"] = "compiled with batch=1: this edgewasm.compile takes no shapes="
                t0 = time.perf_counter()
                edgewasm.compile(str(source), str(Path(tmp) / "bundle"), batch=1)
            result["compile_s"] = round(time.perf_counter() - t0, 2)
            manifest = json.loads((Path(tmp) / "bundle" / "manifest.json").read_text())
            variant = manifest["variants"][manifest["default_variant"]]
            result["module_bytes"] = variant["module"]["nbytes"]
            result["weight_bytes"] = sum(c["nbytes"] for c in variant["weights"])
            result["flops"] = _flops(proto, info["shapes"])
            stage = "run"
            model = edgewasm.load(str(Path(tmp) / "bundle"))
            t0 = time.perf_counter()
            got = model.run(feeds)
            result["run_s"] = round(time.perf_counter() - t0, 3)
        stage = "compare"
        problems, max_diff = zoo.compare(got, want, atol=ATOL, rtol=RTOL)
        result["max_diff"] = max_diff
        result["status"] = "pass" if not problems else "mismatch: " + "; ".join(problems)[:400]
        if result.get("fallback"):
            result["status"] += " [batch=1 fallback: no shapes= yet]"
    except BaseException as exc:  # noqa: BLE001 -- a report row, not a crash
        result["status"] = f"{stage}: {_one_line(exc)}"
        if result.get("fallback"):
            result["status"] += " [batch=1 fallback: no shapes= yet]"
        match = UNSUPPORTED.search(str(exc))
        if match:
            result["unsupported"] = sorted({part.split(" (nodes:")[0].strip() for part in match.group(1).split("; ")})
        result["traceback"] = traceback.format_exc(limit=-3)
    return result


def run_model(name: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="zoo-report-") as tmp:
        out = Path(tmp) / "result.json"
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", name, "--result", str(out)],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            info = zoo.meta(name)
            return {"name": name, "exporter": info["exporter"], "task": info["task"],
                    "status": f"timeout after {timeout:.0f} s", "wall_s": round(time.perf_counter() - t0, 1)}
        if out.exists():
            result = json.loads(out.read_text())
        else:
            info = zoo.meta(name)
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            result = {"name": name, "exporter": info["exporter"], "task": info["task"],
                      "status": f"crashed (exit {proc.returncode}): {tail[0][:300]}"}
        result["wall_s"] = round(time.perf_counter() - t0, 1)
        return result


def _fmt_bytes(n):
    return "" if n is None else f"{n:,}"


def _fmt_flops(n):
    if n is None:
        return ""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def _short_exporter(text: str) -> str:
    return text.split(",")[0].replace("torch.onnx ", "").replace(" (torch 2.14.1)", "")


def rows(results):
    for r in results:
        ops = r.get("ops") or {}
        yield [r["name"], _short_exporter(r["exporter"]), r["task"], f"{len(ops)} ({r.get('nodes', '')})" if ops else "",
               _fmt_flops(r.get("flops")), "" if r.get("compile_s") is None else f"{r['compile_s']:.1f}",
               _fmt_bytes(r.get("module_bytes")), _fmt_bytes(r.get("weight_bytes")),
               "" if r.get("max_diff") is None else f"{r['max_diff']:.2g}", r["status"]]


HEADER = ["model", "exporter", "task", "op types (nodes)", "FLOPs", "compile s", "module B", "weights B",
          "max diff", "status"]


def summary(results) -> list[str]:
    passed = sum(r["status"].startswith("pass") for r in results)
    lines = [f"{passed} of {len(results)} models pass (atol {ATOL}, rtol {RTOL})"]
    counts: dict[str, list[str]] = {}
    for r in results:
        for op in r.get("unsupported", []):
            counts.setdefault(op, []).append(r["name"])
    if counts:
        lines.append("unsupported op types reported by edgewasm, over the failing models:")
        for op, models in sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines.append(f"  {op}: {len(models)} model(s) ({', '.join(models)})")
    other: dict[str, int] = {}
    for r in results:
        if not r["status"].startswith("pass") and not r.get("unsupported"):
            key = r["status"].split(":")[0] + ": " + (r["status"].split(":", 2)[1].strip() if r["status"].count(":") > 1 else "")
            other[key] = other.get(key, 0) + 1
    if other:
        lines.append("other failures, by stage and error type:")
        for key, n in sorted(other.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {key}: {n}")
    return lines


def markdown(results) -> str:
    out = ["# Model zoo report", "",
           "Generated by `python tests/zoo/report.py --markdown ...`: every model in `tests/zoo/` compiled with "
           "its zoo shapes, run on wasmtime and compared with onnxruntime on the original graph.", "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows(results):
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    out += ["", *(f"    {line}" if line.startswith("  ") else line for line in summary(results)), ""]
    return "\n".join(out)


def op_histogram(names) -> list[str]:
    """Op type -> number of models using it (and total nodes), over the given zoo models."""
    import onnx
    models: dict[str, int] = {}
    nodes: dict[str, int] = {}
    for name in names:
        proto = onnx.load(str(zoo.MODELS / f"{name}.onnx"))
        for op, count in zoo.op_types(proto).items():
            models[op] = models.get(op, 0) + 1
            nodes[op] = nodes.get(op, 0) + count
    lines = [f"{len(models)} op types over {len(names)} models (models using it, nodes):"]
    for op, n in sorted(models.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {op:28s} {n:3d} {nodes[op]:6d}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Run every zoo model through edgewasm and report.")
    ap.add_argument("--only", nargs="+", metavar="NAME")
    ap.add_argument("--markdown", metavar="PATH", help="also write the table as markdown")
    ap.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per model (default 300)")
    ap.add_argument("--jobs", type=int, default=1, help="models at a time (default 1)")
    ap.add_argument("--ops", action="store_true",
                    help="only print which ONNX op types appear in how many models (no compiling)")
    ap.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    ap.add_argument("--result", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        Path(args.result).write_text(json.dumps(worker(args.worker)))
        return 0
    names = args.only or zoo.names()
    unknown = sorted(set(names) - set(zoo.names()))
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}")
    if args.ops:
        for line in op_histogram(names):
            print(line)
        return 0
    widths = [30, 22, 20, 16, 8, 9, 11, 12, 8]
    print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths)) + "  status", flush=True)
    results = []

    def one(name):
        return run_model(name, args.timeout)

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for r in pool.map(one, names):
            results.append(r)
            row = list(rows([r]))[0]
            print("  ".join(str(c)[:w].ljust(w) for c, w in zip(row, widths)) + "  " + row[-1], flush=True)
    print()
    for line in summary(results):
        print(line)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown(results))
        print(f"wrote {args.markdown}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The bench report as text: the terminal tables, and the JSON file.

Every figure comes from the report dict the runner returns (the JSON is that dict), so the
terminal, the JSON and the HTML can never disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

from .engines import ENGINE_LABELS

MiB = 1 << 20
REASON_WIDTH = 70


def write_json(report: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(report, indent=1, default=str) + "\n")


def fmt(value, spec: str = ".3g", missing: str = "-") -> str:
    if value is None:
        return missing
    return format(value, spec)


def ms(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Aligned columns; a row shorter than the header ends in one cell that spans the rest
    (a skipped model's reason) and does not widen the columns."""
    def width(i: int) -> int:
        return max(len(str(r[i])) for r in [headers] + rows if len(r) == len(headers) or i < len(r) - 1)

    widths = [width(i) for i in range(len(headers))]

    def line(cells):
        spans = len(cells) < len(headers)
        return "  ".join(str(c) if spans and i == len(cells) - 1 else str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def count(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def peak_lines(report: dict) -> list[str]:
    if not report.get("peak"):
        return []
    rows = [[host, fmt(v.get("f32_gflops"), ".1f"), fmt(v.get("f32_gflops_best"), ".1f"), fmt(v.get("i8_gmacs"), ".1f"),
             fmt(v.get("i8_gmacs_best"), ".1f")] for host, v in report["peak"].items()]
    return (["SIMD128 peak, one thread (median and best sample; percentages below use the best)"]
            + _table(["host", "f32 GFLOP/s", "best", "i8 GMAC/s", "best"], rows, {1, 2, 3, 4}))


def kernel_lines(report: dict) -> list[str]:
    if not report.get("kernels"):
        return []
    hosts = list(report.get("peak", {}))
    rows = []
    for row in report["kernels"]:
        if row.get("status") == "skipped":
            rows.append([row["kernel"], row["shape"], f"skipped: {row['reason']}"])
            continue
        cells = [row["kernel"], row["shape"]]
        for host in hosts:
            entry = row["hosts"].get(host, {})
            if entry.get("status") != "ok":
                cells.append(entry.get("status", "-"))
            else:
                cells.append(f"{entry['gflops']:.1f} ({fmt(entry.get('percent_of_peak'), '.0f')}%)")
        rows.append(cells)
    return (["GEMM-heavy kernels standalone: GFLOP/s (% of the engine's f32 peak; wasmtime's without epochs)"]
            + _table(["kernel", "shape"] + hosts, rows, set(range(2, 2 + len(hosts)))))


def overhead_lines(report: dict) -> list[str]:
    overhead = report.get("host_overhead", {}).get("wasmtime")
    if not overhead:
        return []
    return [f"wasmtime host overhead per inference: call {overhead['call_us']:.1f} us ({overhead['call_path']} call "
            f"path; the generic Func call path: {overhead['generic_call_us']:.1f} us); whole Model.run of an empty "
            f"model with one input and output: {overhead['model_run_us']:.1f} us"]


def model_lines(report: dict) -> tuple[list[str], list[str]]:
    """The models table and its footnotes (the full reasons of skipped/failed rows)."""
    headers = ["model", "engine", "p50 ms", "p95 ms", "items/s", "GFLOP/s", "%peak", "mem MiB", "shipped MB",
               "gzip MB", "cold ms", "x ort-web", "x native", "x litert"]
    base = next((m["variant"] for m in report["models"] if m.get("variant")), None)
    if base:  # --variants: how many times faster than the model's first variant on the same engine
        headers.append(f"x {base}")
    rows, notes = [], []
    for model in report["models"]:
        first = True
        for engine_id, r in model["results"].items():
            name = model["name"] if first else ""
            first = False
            label = ENGINE_LABELS.get(engine_id, engine_id)
            if r["status"] != "ok":
                reason = f"{r['status']}: {r['reason']}" if r["status"] != "skipped" else r["reason"]
                reason = " ".join(reason.split())  # one line: page errors carry consoles and stacks
                if len(reason) > REASON_WIDTH:
                    notes.append(f"[{len(notes) + 1}] {model['name']} on {label}: {reason}")
                    reason = reason[:REASON_WIDTH - 8].rstrip() + f"... [{len(notes)}]"
                rows.append([name, label, reason])
                continue
            shipped = r.get("bytes_shipped") or {}
            speedups = r.get("speedup_vs", {})
            rows.append([
                name, label, ms(r["p50_ms"]), ms(r["p95_ms"]), count(r["items_per_s"]), fmt(r.get("gflops"), ".1f"),
                fmt(r.get("percent_of_peak"), ".0f"), fmt(r["memory_bytes"] / MiB if r.get("memory_bytes") else None, ".1f"),
                fmt(shipped["total"] / 1e6 if shipped else None, ".2f"),
                fmt(shipped["total_gzip"] / 1e6 if shipped.get("total_gzip") else None, ".2f"),
                fmt(r.get("cold_start_ms"), ".0f"),
                fmt(speedups.get("onnxruntime-web"), ".2f"), fmt(speedups.get("onnxruntime"), ".2f"),
                fmt(speedups.get("litert"), ".2f"),
            ] + ([fmt(r.get("speedup_vs_variant", {}).get(base), ".2f")] if base else []))
    return _table(headers, rows, set(range(2, len(headers)))), notes


def deadline_lines(report: dict) -> list[str]:
    """What the default RuntimeConfig's deadline costs the server host, model by model (when the run
    had both `wasmtime` (deadline=None) and `wasmtime-deadline`)."""
    rows = []
    for model in report["models"]:
        plain, bounded = (model["results"].get(e, {}) for e in ("wasmtime", "wasmtime-deadline"))
        if plain.get("status") == "ok" and bounded.get("status") == "ok":
            rows.append([model["name"], ms(plain["p50_ms"]), ms(bounded["p50_ms"]),
                         f"{100.0 * (bounded['p50_ms'] / plain['p50_ms'] - 1):+.1f}%"])
    if not rows:
        return []
    return (["The default RuntimeConfig (10 s deadline) against deadline=None, wasmtime, p50"]
            + _table(["model", "no deadline ms", "deadline ms", "cost"], rows, {1, 2, 3}))


def render_text(report: dict) -> str:
    models, footnotes = model_lines(report)
    from .threads import threads_lines

    blocks = [peak_lines(report), kernel_lines(report), overhead_lines(report),
              ["Models (x ort-web, x native, x litert: how many times faster than that engine at p50 (LiteRT.js's default "
              "build, on the model's .tflite twin); with --variants, x <first "
              "variant>: than the model's first variant on the same engine)"] + models + footnotes,
              deadline_lines(report), threads_lines(report)]
    unavailable = [f"{e}: unavailable: {v['reason'].splitlines()[0]}" for e, v in report.get("engines", {}).items()
                   if v.get("status") == "unavailable"]
    if unavailable:
        blocks.append(unavailable)
    return "\n\n".join("\n".join(b) for b in blocks if b) + "\n"

"""The bench report as one self-contained HTML file: inline CSS and SVG bar charts, no scripts,
no external assets (it can be mailed, attached to CI, or opened offline)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from .engines import ENGINE_LABELS
from .report import render_text

COLORS = {"wasmtime": "#2b6cb0", "browser": "#2f855a", "onnxruntime": "#718096", "onnxruntime-web": "#c05621",
          "litert": "#805ad5", "litert-compat": "#b794f4",
          "wasmtime-no-epoch": "#90cdf4", "chromium": "#2f855a"}
LABEL_WIDTH, BAR_WIDTH, NOTE_WIDTH = 250, 400, 170
ROW, GAP = 18, 10

CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:880px;color:#1a202c}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}pre{background:#f7fafc;padding:1em;overflow-x:auto;font-size:12px}
svg text{font:12px system-ui,sans-serif}.muted{color:#718096}code{background:#edf2f7;padding:0 .3em}"""


@dataclass
class Bar:
    label: str
    value: float
    color: str
    note: str = ""
    tick: float | None = None  # a secondary value marked on the bar (p95)


def bar_chart(title: str, groups: list[tuple[str, list[Bar]]], unit: str,
              references: list[tuple[str, float]] | None = None) -> str:
    """Horizontal bars grouped under labels, one linear scale, optional vertical reference lines."""
    references = [r for r in references or [] if r[1]]
    bars = [b for _, group in groups for b in group]
    if not bars:
        return ""
    top = max([b.value for b in bars] + [b.tick or 0 for b in bars] + [v for _, v in references]) or 1.0
    scale = BAR_WIDTH / (top * 1.05)
    y, parts = 24, []
    for group_label, group in groups:
        parts.append(f'<text x="0" y="{y + 12}" font-weight="bold">{escape(group_label)}</text>')
        y += ROW
        for bar in group:
            width = max(1.0, bar.value * scale)
            parts.append(f'<text x="12" y="{y + 12}">{escape(bar.label)}</text>')
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{width:.1f}" height="{ROW - 5}" '
                         f'fill="{bar.color}"><title>{escape(bar.label)}: {bar.value:.4g} {escape(unit)}</title></rect>')
            if bar.tick is not None:
                x = LABEL_WIDTH + bar.tick * scale
                parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + ROW - 1}" stroke="#1a202c"/>')
            parts.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 12}">{escape(bar.note)}</text>')
            y += ROW
        y += GAP
    for i, (label, value) in enumerate(references):
        x = LABEL_WIDTH + value * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="20" y2="{y + 14 * i}" stroke="#e53e3e" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x + 3:.1f}" y="{y + 12 + 14 * i}" fill="#e53e3e">{escape(label)}</text>')
    height = y + 20 + 14 * len(references)
    width = LABEL_WIDTH + BAR_WIDTH + NOTE_WIDTH
    return (f'<figure><figcaption><b>{escape(title)}</b> <span class="muted">({escape(unit)})</span></figcaption>'
            f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'{"".join(parts)}</svg></figure>')


def _ok(model: dict) -> list[tuple[str, dict]]:
    return [(e, r) for e, r in model["results"].items() if r.get("status") == "ok"]


def latency_charts(report: dict) -> list[str]:
    charts = []
    for model in report["models"]:
        bars = [Bar(ENGINE_LABELS[e], r["p50_ms"], COLORS[e], f"p50 {r['p50_ms']:.3g}, p95 {r['p95_ms']:.3g}",
                    tick=r["p95_ms"]) for e, r in _ok(model)]
        if bars:
            charts.append(bar_chart(f"{model['name']}: latency, p50 bar and p95 tick (lower is better)",
                                    [("", bars)], "ms"))
    return charts


def throughput_chart(report: dict) -> str:
    groups = [(m["name"], [Bar(ENGINE_LABELS[e], r["gflops"], COLORS[e], f"{r['gflops']:.1f}"
                               + (f" ({r['percent_of_peak']:.0f}% of peak)" if r.get("percent_of_peak") else ""))
                           for e, r in _ok(m) if r.get("gflops")]) for m in report["models"]]
    peak = report.get("peak", {})
    references = [(f"{label} peak", peak[host].get("f32_gflops_best")) for label, host in
                  (("wasmtime", "wasmtime-no-epoch"), ("chromium", "chromium")) if host in peak]
    return bar_chart("Throughput per model (higher is better; dashed: SIMD128 f32 peak)",
                     [g for g in groups if g[1]], "GFLOP/s", references)


def speedup_chart(report: dict) -> str:
    groups = []
    for model in report["models"]:
        bars = [Bar(ENGINE_LABELS[e], r["speedup_vs"]["onnxruntime-web"], COLORS[e],
                    f"{r['speedup_vs']['onnxruntime-web']:.2f}x") for e, r in _ok(model)
                if "onnxruntime-web" in r.get("speedup_vs", {})]
        if bars:
            groups.append((model["name"], bars))
    return bar_chart("Speed relative to onnxruntime-web in the same Chromium (>1: faster)", groups, "x",
                     [("onnxruntime-web", 1.0)])


def kernel_chart(report: dict) -> str:
    groups = []
    for row in report.get("kernels", []):
        if row.get("status") == "skipped":
            continue
        bars = [Bar(host, entry["percent_of_peak"], COLORS.get(host, "#4a5568"),
                    f"{entry['gflops']:.1f} GFLOP/s, {entry['percent_of_peak']:.0f}%")
                for host, entry in row["hosts"].items() if entry.get("percent_of_peak") is not None]
        if bars:
            groups.append((f"{row['kernel']} {row['shape']}", bars))
    return bar_chart("GEMM-heavy kernels standalone, % of the engine's SIMD128 f32 peak (wasmtime's: no epochs)",
                     groups, "%",
                     [("100% of peak", 100.0)])


def cold_start_charts(report: dict) -> list[str]:
    cold, shipped = [], []
    for model in report["models"]:
        browser = [(e, r) for e, r in _ok(model) if r.get("bytes_shipped")]
        cold += [(model["name"], [Bar(ENGINE_LABELS[e], r["cold_start_ms"], COLORS[e], f"{r['cold_start_ms']:.0f} ms")
                                  for e, r in browser])]
        shipped += [(model["name"], [Bar(ENGINE_LABELS[e], r["bytes_shipped"]["total"] / 1e6, COLORS[e],
                                         f"model {r['bytes_shipped']['model'] / 1e6:.2f} + runtime "
                                         f"{r['bytes_shipped']['runtime'] / 1e6:.1f}") for e, r in browser])]
    return [bar_chart("Browser cold start: page open to first result (fresh context)",
                      [g for g in cold if g[1]], "ms"),
            bar_chart("Bytes shipped on a cold start (uncompressed)", [g for g in shipped if g[1]], "MB")]


def render_html(report: dict) -> str:
    machine = report.get("machine", {})
    facts = "".join(f"<li>{escape(str(k))}: {escape(str(v))}</li>" for k, v in machine.items())
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.get("notes", []))
    charts = ([throughput_chart(report), speedup_chart(report)] + latency_charts(report)
              + cold_start_charts(report) + [kernel_chart(report)])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgewasm bench</title><style>{CSS}</style></head><body>
<h1>edgewasm bench</h1>
<p>Reproduce with <code>{escape(report.get("command") or "edgewasm bench")}</code>
<span class="muted">({escape(report.get("created", ""))}, {report.get("seconds", 0):.0f} s)</span></p>
<h2>Charts</h2>
{"".join(c for c in charts if c)}
<h2>Tables</h2>
<pre>{escape(render_text(report))}</pre>
<h2>Machine</h2><ul>{facts}</ul>
<h2>How to read it</h2><ul>{notes}</ul>
</body></html>
"""


def write_html(report: dict, path: Path) -> None:
    Path(path).write_text(render_html(report), encoding="utf-8")

"""`edgewasm bench`: the model suite on every engine side by side, the SIMD128 peak of each wasm
engine, and reports (terminal, JSON, self-contained HTML) that say how to reproduce them.

Needs the host-side dependencies (numpy, onnx, wasmtime; onnxruntime, Playwright + Chromium and
npm for the other engines); never imported inside Pyodide.
"""

from .html_report import write_html
from .report import render_text, write_json
from .runner import BenchOptions, run_bench
from .suite import SUITE_NAMES

__all__ = ["BenchOptions", "run_bench", "render_text", "write_json", "write_html", "SUITE_NAMES"]

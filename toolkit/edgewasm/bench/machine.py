"""What the numbers were measured on: CPU, core count and every engine's version, so a reader
can tell whether a run is comparable with theirs."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .. import __version__


def describe_machine(onnxruntime_version: str | None = None, page_info: dict | None = None) -> dict:
    info = {"platform": platform.platform(), "machine": platform.machine(), "cpu": cpu_model(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "python": sys.version.split()[0], "edgewasm": __version__, "wasmtime_py": _dist_version("wasmtime")}
    if onnxruntime_version:
        info["onnxruntime"] = onnxruntime_version
    if page_info is not None:
        from ..webassets import PYODIDE_VERSION

        info["chromium_user_agent"] = page_info["userAgent"]
        info["cross_origin_isolated"] = page_info["crossOriginIsolated"]
        info["page_timer_resolution_ms"] = page_info["timerResolutionMs"]
        info["pyodide"] = PYODIDE_VERSION
        if page_info.get("ort"):
            info["onnxruntime_web"] = page_info["ort"].get("web")
    return info


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _dist_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None

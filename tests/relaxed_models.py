"""The relaxed-SIMD tier's test model: a static-int8 CNN whose convolutions take the relaxed-dot
GEMM (at least 4 output pixels and more than 4 output channels) and whose dense head (2 rows) its
1-row form, compiled with `--simd relaxed`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from quant_models import static_cnn

LAYERS = [{"m": 16, "kernel": [3, 3], "pads": [1, 1, 1, 1]},
          {"m": 24, "kernel": [3, 3], "pads": [1, 1, 1, 1], "pool": True},
          {"m": 20, "kernel": [1, 1]},
          {"m": 12, "kernel": [3, 3], "strides": [2, 2], "relu": False}]
SHAPE = (2, 3, 12, 12)


def relaxed_bundle(root: Path) -> Path:
    """fp32, int8 and int8-relaxed of the CNN, through the CLI (`--simd relaxed`)."""
    from edgewasm.cli import main

    (root / "m.onnx").write_bytes(static_cnn(LAYERS, list(SHAPE), head=10).SerializeToString())
    rng = np.random.default_rng(1)
    np.savez(root / "cal.npz", x=rng.standard_normal((16, *SHAPE[1:])).astype(np.float32))
    assert main(["compile", str(root / "m.onnx"), "-o", str(root / "b"), "--batch", str(SHAPE[0]),
                 "--variants", "fp32,int8", "--simd", "relaxed", "--calibrate", str(root / "cal.npz")]) == 0
    return root / "b"


def inputs(count: int = 3, seed: int = 2) -> list[dict]:
    """Inside and past the calibrated range (saturation)."""
    rng = np.random.default_rng(seed)
    return [{"x": (rng.standard_normal(SHAPE) * scale).astype(np.float32)} for scale in (0.5, 1.0, 4.0)[:count]]

"""Static int8 keeps a squeeze-excitation product in uint8: Mul(Dequantize(h), s) -> Quantize, s a
run-time float per channel, becomes one pass (QLinearMulChannels, qu8_vmul_channels), and
onnxruntime gives the module's bits on the variant's reference graph."""

from __future__ import annotations

import numpy as np

import edgewasm
from edgewasm.engines import bit_identical, run_onnxruntime
from edgewasm.variants import Options

from quant_models import se_cnn


def test_squeeze_excitation_product_runs_on_uint8_with_onnxruntimes_bits(tmp_path):
    (tmp_path / "m.onnx").write_bytes(se_cnn().SerializeToString())
    calibration = {"x": np.random.default_rng(1).standard_normal((16, 3, 7, 7)).astype(np.float32)}
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", variants="int8", options=Options(calibrate=calibration))
    model = edgewasm.load(tmp_path / "b")
    assert {"qu8_vmul_channels", "x8_lut"} <= set(model.variant.kernels)
    assert not {"f32_vbinary_nd", "f32_vhswish", "f32_vhsigmoid"} & set(model.variant.kernels)
    step = next(s for s in model.variant.report["steps"] if s["pass"] == "int8 static")
    assert step["channel_products"] == ["se_mul"]
    rng = np.random.default_rng(2)
    for scale in (0.5, 1.0, 4.0):
        x = (rng.standard_normal((1, 3, 7, 7)) * scale).astype(np.float32)
        assert bit_identical(model.run({"x": x})["y"], run_onnxruntime(tmp_path / "b", {"x": x})["y"])

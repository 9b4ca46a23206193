"""Models for the compression tests: MatMul MLPs (what onnxruntime's quantizer rewrites), their
onnxruntime-quantized forms, and helpers to run onnxruntime at its default optimization level."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from models import make_model


def matmul_mlp(sizes: list[int], batch="N", seed: int = 0, bias: bool = True, activation: str = "Relu",
               rank3: int | None = None) -> onnx.ModelProto:
    """x -> [MatMul -> Add -> act]* -> MatMul -> Add: the dense layers TensorFlow/Keras export and
    onnxruntime's quantize_dynamic turns into MatMulInteger. rank3 = T gives x the shape [N, T, K]."""
    rng = np.random.default_rng(seed)
    nodes, constants, x = [], {}, "x"
    layers = list(zip(sizes[:-1], sizes[1:]))
    for i, (k, n) in enumerate(layers):
        constants[f"w{i}"] = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        y = f"mm{i}"
        nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [y], name=f"dense{i}"))
        if bias:
            constants[f"b{i}"] = (0.1 * rng.standard_normal(n)).astype(np.float32)
            nodes.append(helper.make_node("Add", [y, f"b{i}"], [f"z{i}"], name=f"bias{i}"))
            y = f"z{i}"
        if i < len(layers) - 1 and activation:
            if activation == "Clip":
                constants["lo"], constants["hi"] = np.float32(0), np.float32(6)
                nodes.append(helper.make_node("Clip", [y, "lo", "hi"], [f"a{i}"], name=f"act{i}"))
            else:
                nodes.append(helper.make_node(activation, [y], [f"a{i}"], name=f"act{i}"))
            y = f"a{i}"
        x = y
    nodes.append(helper.make_node("Identity", [x], ["y"], name="out"))
    lead = [batch] if rank3 is None else [batch, rank3]
    return make_model(nodes, [("x", lead + [sizes[0]])], [("y", lead + [sizes[-1]])], constants, "matmul_mlp")


def ort_quantize_dynamic(model: onnx.ModelProto, per_channel: bool = True, weights: str = "QInt8",
                         **kwargs) -> onnx.ModelProto:
    """onnxruntime.quantization.quantize_dynamic on an in-memory model (int8 weights; weights="QUInt8":
    asymmetric uint8 ones, as transformers.js's q8 quantizes every model with a convolution)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(model.SerializeToString())
        quantize_dynamic(src, dst, per_channel=per_channel, weight_type=getattr(QuantType, weights), **kwargs)
        return onnx.load(dst)


def ort_session(model: onnx.ModelProto | bytes) -> ort.InferenceSession:
    """onnxruntime at its default optimization level (it fuses quantized chains), one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def ort_outputs(model, inputs: dict) -> dict[str, np.ndarray]:
    session = ort_session(model)
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))


def input_batches(shape, count: int, seed: int = 0) -> list[np.ndarray]:
    """Inputs of varied range and sign: the dynamic scale and zero point cover many values."""
    rng = np.random.default_rng(seed)
    batches = []
    for i in range(count):
        x = rng.standard_normal(shape) * [0.01, 1.0, 30.0][i % 3]
        x = np.abs(x) if i % 5 == 3 else -np.abs(x) if i % 5 == 4 else x
        batches.append(x.astype(np.float32))
    return batches


def ort_quantize_static(model: onnx.ModelProto, calibration: np.ndarray, batch: int, fmt: str = "QDQ",
                        activation: str = "QUInt8", per_channel: bool = True) -> onnx.ModelProto:
    """onnxruntime.quantization.quantize_static (MinMax, int8 weights, per channel unless told)
    fed `calibration` in slices of `batch` rows."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.slices = iter([{"x": calibration[i:i + batch]} for i in range(0, len(calibration), batch)])

        def get_next(self):
            return next(self.slices, None)

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(model.SerializeToString())
        quantize_static(src, dst, Reader(), quant_format=getattr(QuantFormat, fmt), per_channel=per_channel,
                        activation_type=getattr(QuantType, activation), weight_type=QuantType.QInt8)
        return onnx.load(dst)


def _conv(nodes: list, constants: dict, rng, i: int, x: str, channels: int, spatial: list, m: int, kernel,
          attrs: dict, bias: bool, scales: tuple[float, float]) -> tuple[str, list]:
    """Append Conv layer i (weights and bias drawn from `rng` times `scales`); returns its output
    name and spatial size."""
    constants[f"w{i}"] = (rng.standard_normal((m, channels // attrs.get("group", 1), *kernel)) * scales[0]).astype(np.float32)
    inputs = [x, f"w{i}"]
    if bias:
        constants[f"b{i}"] = (scales[1] * rng.standard_normal(m)).astype(np.float32)
        inputs.append(f"b{i}")
    nodes.append(helper.make_node("Conv", inputs, [f"c{i}"], kernel_shape=list(kernel), name=f"conv{i}", **attrs))
    pads = attrs.get("pads", [0] * (2 * len(spatial)))
    strides = attrs.get("strides", [1] * len(spatial))
    dilations = attrs.get("dilations", [1] * len(spatial))
    spatial = [(s + pads[d] + pads[d + len(spatial)] - dilations[d] * (k - 1) - 1) // strides[d] + 1
               for d, (s, k) in enumerate(zip(spatial, kernel))]
    return f"c{i}", spatial


def small_cnn(layers: list[dict], in_shape: list, seed: int = 0, relu: bool = True) -> onnx.ModelProto:
    """A chain of Conv (+ Relu) layers; each layer dict gives out channels `m`, `kernel` and any
    Conv attributes (pads, strides, dilations, group); `bias` False leaves it out."""
    rng = np.random.default_rng(seed)
    nodes, constants, x, channels = [], {}, "x", in_shape[1]
    spatial = list(in_shape[2:])
    for i, layer in enumerate(layers):
        layer = dict(layer)
        m, kernel, bias = layer.pop("m"), layer.pop("kernel"), layer.pop("bias", True)
        x, spatial = _conv(nodes, constants, rng, i, x, channels, spatial, m, kernel, layer, bias, (0.3, 0.1))
        if relu and i < len(layers) - 1:
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"], name=f"relu{i}"))
            x = f"r{i}"
        channels = m
    nodes.append(helper.make_node("Identity", [x], ["y"], name="out"))
    return make_model(nodes, [("x", in_shape)], [("y", [in_shape[0], channels, *spatial])], constants, "small_cnn")


def static_cnn(layers: list[dict], in_shape: list, seed: int = 0, head: int | None = 4) -> onnx.ModelProto:
    """Conv layers (dicts of out channels `m`, `kernel`, Conv attributes, `relu` (default True),
    `bias` (default True), `pool` (a 2x2 MaxPool after it)), then GlobalAveragePool -> Flatten ->
    Gemm to `head` classes, or (head None) the last map as the output."""
    rng = np.random.default_rng(seed)
    nodes, constants, x, channels, spatial = [], {}, "x", in_shape[1], list(in_shape[2:])
    for i, layer in enumerate(layers):
        layer = dict(layer)
        m, kernel = layer.pop("m"), layer.pop("kernel")
        relu, bias, pool = layer.pop("relu", True), layer.pop("bias", True), layer.pop("pool", False)
        x, spatial = _conv(nodes, constants, rng, i, x, channels, spatial, m, kernel, layer, bias, (0.4, 0.2))
        if relu:
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"], name=f"relu{i}"))
            x = f"r{i}"
        channels = m
        if pool:
            nodes.append(helper.make_node("MaxPool", [x], [f"p{i}"], kernel_shape=[2] * len(spatial),
                                          strides=[2] * len(spatial), name=f"pool{i}"))
            x, spatial = f"p{i}", [s // 2 for s in spatial]
    if head is None:
        nodes.append(helper.make_node("Identity", [x], ["y"], name="out"))
        return make_model(nodes, [("x", in_shape)], [("y", [in_shape[0], channels, *spatial])], constants, "static_cnn")
    constants["wf"] = (rng.standard_normal((channels, head)) * 0.5).astype(np.float32)
    constants["bf"] = (0.1 * rng.standard_normal(head)).astype(np.float32)
    nodes += [helper.make_node("GlobalAveragePool", [x], ["g"], name="gap"),
              helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
              helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc")]
    return make_model(nodes, [("x", in_shape)], [("y", [in_shape[0], head])], constants, "static_cnn")


def activation_cnn(seed: int = 0):
    """conv0 -> HardSwish -> depthwise conv1 -> LeakyRelu -> conv2 -> HardSigmoid -> Clip -> conv3,
    plus conv0's float output added to conv3's (a float reader beside the table)."""
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) * 0.4).astype(np.float32)  # noqa: E731
    constants = {"w0": w(8, 3, 3, 3), "b0": w(8), "w1": w(8, 1, 3, 3), "w2": w(8, 8, 1, 1), "w3": w(8, 8, 1, 1),
                 "lo": np.float32(0.1), "hi": np.float32(0.7)}
    nodes = [helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1]),
             helper.make_node("HardSwish", ["c0"], ["h0"], name="hswish"),
             helper.make_node("Conv", ["h0", "w1"], ["c1"], group=8, pads=[1, 1, 1, 1]),
             helper.make_node("LeakyRelu", ["c1"], ["h1"], alpha=0.15, name="lrelu"),
             helper.make_node("Conv", ["h1", "w2"], ["c2"]),
             helper.make_node("HardSigmoid", ["c2"], ["s2"], alpha=0.3, beta=0.45, name="hsigmoid"),
             helper.make_node("Clip", ["s2", "lo", "hi"], ["h2"], name="clip"),
             helper.make_node("Conv", ["h2", "w3"], ["c3"]),
             helper.make_node("Add", ["c3", "c0"], ["y"])]
    return make_model(nodes, [("x", [2, 3, 9, 9])], [("y", [2, 8, 9, 9])], constants, "activation_cnn")


def residual_cnn(seed: int = 0):
    """conv0 -> Relu -> conv1 -> Relu -> conv2, + conv0's output -> Relu -> conv3, + that sum -> y:
    two residual Adds (one with a Relu, one without), as a ResNet block chain."""
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) * 0.3).astype(np.float32)  # noqa: E731
    constants = {f"w{i}": w(6, 6 if i else 3, 3, 3) for i in range(4)} | {f"b{i}": w(6) for i in range(4)}
    conv = lambda x, i: helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1])  # noqa: E731
    nodes = [conv("x", 0), helper.make_node("Relu", ["c0"], ["r0"]), conv("r0", 1),
             helper.make_node("Relu", ["c1"], ["r1"]), conv("r1", 2),
             helper.make_node("Add", ["c2", "r0"], ["s0"], name="add0"), helper.make_node("Relu", ["s0"], ["r2"]),
             conv("r2", 3), helper.make_node("Add", ["c3", "r2"], ["y"], name="add1")]
    return make_model(nodes, [("x", [2, 3, 8, 8])], [("y", [2, 6, 8, 8])], constants, "residual_cnn")


def se_cnn(seed: int = 0, shape=(1, 3, 7, 7), channels: int = 8, residual: bool = False):
    """MobileNetV3's squeeze-excitation block: conv0 -> HardSwish -> h; GlobalAveragePool(h) -> conv1
    -> Relu -> conv2 -> HardSigmoid -> s; Mul(h, s) -> conv3 -> y. With `residual`, conv3 keeps the
    channels, its output is added to h and a last 1x1 conv makes y (so the sum stays uint8)."""
    rng = np.random.default_rng(seed)
    w = lambda *dims: (rng.standard_normal(dims) * 0.4).astype(np.float32)  # noqa: E731
    out = channels if residual else 5
    constants = {"w0": w(channels, shape[1], 3, 3), "b0": w(channels), "w1": w(channels // 2, channels, 1, 1),
                 "b1": w(channels // 2), "w2": w(channels, channels // 2, 1, 1), "b2": w(channels),
                 "w3": w(out, channels, 1, 1), "b3": w(out)}
    nodes = [helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1]),
             helper.make_node("HardSwish", ["c0"], ["h"]),
             helper.make_node("GlobalAveragePool", ["h"], ["m"]),
             helper.make_node("Conv", ["m", "w1", "b1"], ["c1"]), helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]), helper.make_node("HardSigmoid", ["c2"], ["s"]),
             helper.make_node("Mul", ["h", "s"], ["p"], name="se_mul"),
             helper.make_node("Conv", ["p", "w3", "b3"], ["c3" if residual else "y"])]
    if residual:
        constants |= {"w4": w(5, channels, 1, 1), "b4": w(5)}
        nodes += [helper.make_node("Add", ["c3", "h"], ["a"], name="residual"),
                  helper.make_node("Conv", ["a", "w4", "b4"], ["y"])]
    return make_model(nodes, [("x", list(shape))], [("y", [shape[0], 5, *shape[2:]])], constants, "se_cnn")


def static_int8_bundle(root: Path, model: onnx.ModelProto, batch: int = 2, rows: int = 16) -> Path:
    """`model` compiled to a static int8 variant, calibrated on `rows` seeded normal rows of its input."""
    import edgewasm
    from edgewasm.variants import Options

    (root / "m.onnx").write_bytes(model.SerializeToString())
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    calibration = {model.graph.input[0].name: np.random.default_rng(1).standard_normal((rows, *dims)).astype(np.float32)}
    edgewasm.compile(root / "m.onnx", root / "b", batch=batch, variants="int8", options=Options(calibrate=calibration))
    return root / "b"

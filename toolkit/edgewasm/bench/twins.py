"""`.tflite` twins of bench models, for LiteRT.js: the same function with the same weights.

A twin is built in Keras 3 from the bench model's own ONNX graph (its weights copied in, NCHW
convolutions laid out NHWC as TFLite wants them), then exported twice: to `.tflite` with
`tf.lite.TFLiteConverter` (what LiteRT.js runs) and to ONNX with `model.export(format="onnx")`
(Keras' own ONNX, through tf2onnx). Every twin is checked before it is used: the `.tflite` and the
Keras ONNX must agree with onnxruntime on the original graph (max |difference| recorded), and the
op counts of both are recorded, since an exporter can agree in value and still be slow (tf2onnx
leaves a Transpose around every hard-swish of a MobileNetV3).

The bench's other engines keep running the original ONNX: each runtime gets its own format of
one function. Graphs with ops the builder does not know have no twin, and the row says why.
TensorFlow is needed only here (the `keras` extra); files are cached under
~/.cache/edgewasm/twins/<name>-<digest of the ONNX>/.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from ..webassets import cache_dir

TWIN_VERSION = 1  # bump when the builder changes what it emits: cached twins are rebuilt
TFLITE_FILE, KERAS_ONNX_FILE, TWIN_FILE = "model.tflite", "keras.onnx", "twin.json"
NCHW_TO_NHWC, NHWC_TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)
AGREE_ATOL, AGREE_RTOL = 1e-3, 1e-3  # float32 in another operation order, through 50-odd layers


class NoTwin(Exception):
    """The model has no twin (an op the builder does not know, no TensorFlow, a failed check)."""


@dataclass
class Twin:
    directory: Path
    info: dict  # twin.json: input/output permutations, max differences, op counts, versions

    @property
    def tflite(self) -> Path:
        return self.directory / TFLITE_FILE

    def inputs(self, inputs: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
        """The bench model's inputs in the twin's order and layout."""
        return [(name, np.ascontiguousarray(np.transpose(inputs[name], perm) if perm else inputs[name]))
                for name, perm in self.info["inputs"]]


def _inverse(perm) -> list[int]:
    return [int(i) for i in np.argsort(perm)]


def twin_for(proto: onnx.ModelProto, name: str, inputs: dict[str, np.ndarray], log=print) -> Twin:
    """The cached twin of `proto`, built and checked on first use; NoTwin says why there is none."""
    data = proto.SerializeToString()
    digest = hashlib.sha256(data + f"twin{TWIN_VERSION}".encode()).hexdigest()[:16]
    directory = cache_dir() / "twins" / f"{name}-{digest}"
    refusal = directory / "refused.txt"
    if (directory / TWIN_FILE).is_file() and (directory / TFLITE_FILE).is_file():
        return Twin(directory, json.loads((directory / TWIN_FILE).read_text()))
    if refusal.is_file():
        raise NoTwin(refusal.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    try:
        log(f"{name}: building its Keras/.tflite twin (once; cached in {directory})")
        info = _build(proto, inputs, directory)
    except NoTwin as exc:
        if "tensorflow" not in str(exc):  # a missing package is not a property of the model
            refusal.write_text(str(exc))
        raise
    (directory / TWIN_FILE).write_text(json.dumps(info, indent=1) + "\n")
    return Twin(directory, info)


def _build(proto: onnx.ModelProto, inputs: dict[str, np.ndarray], directory: Path) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
        import tensorflow as tf
    except ImportError:
        raise NoTwin("no twin: building one needs tensorflow and keras (pip install 'edgewasm[keras]')") from None
    if keras.backend.backend() != "tensorflow":
        raise NoTwin(f"no twin: Keras runs on {keras.backend.backend()}; the .tflite export needs KERAS_BACKEND=tensorflow")
    model, in_perms, out_perms = KerasBuilder(proto).build()
    feeds = [np.transpose(inputs[n], p) if p else inputs[n] for n, p in in_perms]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    try:
        with _quiet():
            flat = converter.convert()
    except Exception as exc:  # noqa: BLE001 - TF's converter raises several kinds, with pages of MLIR
        lines = [line for line in str(exc).splitlines() if "TF Select ops" in line or "not supported" in line]
        raise NoTwin(f"no twin: TFLiteConverter failed: {' '.join(lines[:2]) or str(exc).splitlines()[0]}") from None
    (directory / TFLITE_FILE).write_bytes(flat)
    tflite_out, tflite_ops = run_tflite(flat, feeds)

    import onnxruntime as ort

    want = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)
    keras_onnx = directory / KERAS_ONNX_FILE
    keras_onnx_ops, keras_onnx_error, onnx_out = None, None, None
    try:  # Keras' own ONNX (tf2onnx): reported beside the twin, not needed by it
        with _quiet():
            model.export(str(keras_onnx), format="onnx", verbose=False)
        keras_onnx_ops = _onnx_ops(onnx.load(str(keras_onnx)))
        session = ort.InferenceSession(str(keras_onnx), providers=["CPUExecutionProvider"])
        onnx_out = session.run(None, {i.name: f for i, f in zip(session.get_inputs(), feeds)})
    except Exception as exc:  # noqa: BLE001 - tf2onnx and onnxruntime raise many kinds
        keras_onnx_error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"

    def undo(values):
        return [np.transpose(v, _inverse(p)) if p else v for v, (_, p) in zip(values, out_perms)]

    diffs = {"tflite": _max_diff(undo(tflite_out), want),
             "keras_onnx": None if onnx_out is None else _max_diff(undo(onnx_out), want)}
    scale = max(float(np.max(np.abs(w))) for w in want)
    for which, diff in diffs.items():
        if diff is not None and not diff <= AGREE_ATOL + AGREE_RTOL * scale:
            raise NoTwin(f"no twin: its {which} export disagrees with onnxruntime on the original graph "
                         f"(max |diff| {diff:.3g}, outputs up to {scale:.3g})")
    return {"version": TWIN_VERSION, "inputs": in_perms, "outputs": out_perms, "max_abs_diff": diffs,
            "max_abs_output": scale, "tflite_ops": tflite_ops, "keras_onnx_ops": keras_onnx_ops, "keras_onnx_error": keras_onnx_error,
            "original_ops": _onnx_ops(proto), "tflite_bytes": len(flat),
            "tensorflow": tf.__version__, "keras": keras.__version__}


def run_tflite(flat: bytes, feeds: list[np.ndarray]) -> tuple[list[np.ndarray], dict[str, int]]:
    """TensorFlow's own interpreter on the `.tflite` (the twin's reference outputs) and its op counts."""
    import tensorflow as tf

    with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated": it is TF's reference here
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=flat, num_threads=1)
    interpreter.allocate_tensors()
    for detail, value in zip(sorted(interpreter.get_input_details(), key=lambda d: d["index"]), feeds):
        interpreter.set_tensor(detail["index"], value.astype(detail["dtype"]))
    interpreter.invoke()
    outputs = [interpreter.get_tensor(d["index"]).copy()
               for d in sorted(interpreter.get_output_details(), key=lambda d: d["index"])]
    counts: dict[str, int] = {}
    for op in interpreter._get_ops_details():  # noqa: SLF001 - the only op listing TF exposes
        counts[op["op_name"]] = counts.get(op["op_name"], 0) + 1
    return outputs, dict(sorted(counts.items()))


def _onnx_ops(proto: onnx.ModelProto) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in proto.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def _max_diff(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want)):
        raise NoTwin(f"no twin: output shapes {[g.shape for g in got]} != {[w.shape for w in want]}")
    return max(float(np.max(np.abs(g.astype(np.float64) - w))) for g, w in zip(got, want))


@contextlib.contextmanager
def _quiet():
    """TF's converter and tf2onnx print pages of progress; keep them out of the bench's output."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


class KerasBuilder:
    """ONNX graph -> Keras functional model with the same weights.

    Values are (tensor, nhwc): a rank-4 value that came from an NCHW graph tensor is kept NHWC
    (nhwc=True) so convolutions, pools and elementwise ops need no transposes; anything that
    needs the ONNX layout (Reshape, a generic Transpose) converts it back first.
    """

    def __init__(self, proto: onnx.ModelProto):
        self.proto = onnx.shape_inference.infer_shapes(proto, data_prop=True)  # Shape->Concat->Reshape too
        graph = self.proto.graph
        self.consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.shapes = {}
        for value in list(graph.value_info) + list(graph.input) + list(graph.output):
            dims = value.type.tensor_type.shape.dim
            self.shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        self.values: dict[str, tuple] = {}
        self.uses: dict[str, int] = {}
        for node in graph.node:
            for name in node.input:
                self.uses[name] = self.uses.get(name, 0) + 1

    def build(self):
        import keras

        self.keras, self.ops = keras, keras.ops
        graph = self.proto.graph
        inputs, in_perms = [], []
        for value in graph.input:
            if value.name in self.consts:
                continue
            shape = self.shapes[value.name]
            if value.type.tensor_type.elem_type != onnx.TensorProto.FLOAT or None in shape:
                raise NoTwin(f"no twin: input {value.name!r} is not a static float32 tensor")
            nhwc = len(shape) == 4
            layout = [shape[i] for i in NCHW_TO_NHWC] if nhwc else shape
            tensor = keras.Input(shape=tuple(layout[1:]), batch_size=layout[0], name=_keras_name(value.name))
            inputs.append(tensor)
            in_perms.append((value.name, list(NCHW_TO_NHWC) if nhwc else None))
            self.values[value.name] = (tensor, nhwc)
        self._find_gelus()
        if len(inputs) != 1:
            raise NoTwin("no twin: the LiteRT.js engine feeds one input; this graph has "
                         f"{len(inputs)} non-constant inputs")
        for node in graph.node:
            if node.output[0] in self.skip:
                continue
            if node.output[0] in self.gelus:
                x, nhwc = self.get(self.gelus[node.output[0]])
                self.values[node.output[0]] = (keras.activations.gelu(x, approximate=False), nhwc)
                continue
            if self._fold_constant(node):
                continue
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None or node.domain not in ("", "ai.onnx"):
                raise NoTwin(f"no twin: the Keras builder has no {node.op_type} (node {node.name!r})")
            result = handler(node, {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute})
            if result is not None:
                self.values[node.output[0]] = result
            for name in node.output:  # shapes inference left open are known once the layer is built
                if name in self.values and None in (self.shapes.get(name) or [None]):
                    tensor, nhwc = self.values[name]
                    dims = list(tensor.shape)
                    self.shapes[name] = [dims[i] for i in NHWC_TO_NCHW] if nhwc else dims
        outputs, out_perms = [], []
        for value in graph.output:
            tensor, nhwc = self.values[value.name]
            outputs.append(tensor)
            out_perms.append((value.name, list(NCHW_TO_NHWC) if nhwc else None))
        return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0]), in_perms, out_perms

    # -- helpers ---------------------------------------------------------------------------------

    def _find_gelus(self) -> None:
        """x * 0.5 * (1 + erf(x / sqrt 2)), as PyTorch exports nn.GELU: one GELU (TFLite has no Erf)."""
        nodes = self.proto.graph.node
        producer = {o: n for n in nodes for o in n.output}
        consumers: dict[str, list] = {}
        for n in nodes:
            for i in n.input:
                consumers.setdefault(i, []).append(n)
        self.gelus, self.skip = {}, set()

        def scalar(name):
            value = self.consts.get(name)
            return float(value) if value is not None and value.size == 1 else None

        def other(node, name):
            return node.input[1] if node.input[0] == name else node.input[0]

        def only(name, op):
            users = consumers.get(name, [])
            return users[0] if len(users) == 1 and users[0].op_type == op else None

        for erf in [n for n in nodes if n.op_type == "Erf"]:
            pre = producer.get(erf.input[0])
            if pre is None or pre.op_type not in ("Div", "Mul"):
                continue
            c = scalar(pre.input[1])
            if c is None or not np.isclose(c, np.sqrt(2.0) if pre.op_type == "Div" else 1 / np.sqrt(2.0), rtol=1e-5):
                continue
            x = pre.input[0]
            add = only(erf.output[0], "Add")
            if add is None or scalar(other(add, erf.output[0])) != 1.0:
                continue
            chain = [pre, erf, add]
            mul = only(add.output[0], "Mul")
            if mul is None:
                continue
            if other(mul, add.output[0]) == x:  # x * (1 + erf) then * 0.5
                last = only(mul.output[0], "Mul")
                if last is None or scalar(other(last, mul.output[0])) != 0.5:
                    continue
            else:  # (0.5 * x) * (1 + erf)
                half = producer.get(other(mul, add.output[0]))
                if half is None or half.op_type != "Mul" or x not in half.input or scalar(other(half, x)) != 0.5:
                    continue
                if len(consumers.get(half.output[0], [])) != 1:
                    continue
                chain.append(half)
                last = mul
            if len(consumers.get(pre.output[0], [])) != 1:
                continue
            chain += [mul] if last is not mul else []
            self.skip.update(n.output[0] for n in chain if n is not last)
            self.gelus[last.output[0]] = x

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name) if name else None

    def get(self, name: str, nhwc: bool | None = None):
        """The value `name` (a Keras tensor, or a numpy constant), in the layout asked for (None:
        as stored); returns (value, nhwc)."""
        if name in self.consts:
            value = self.consts[name]
            if nhwc and value.ndim == 4:
                value = np.transpose(value, NCHW_TO_NHWC)
            return value, bool(nhwc and value.ndim == 4)
        tensor, is_nhwc = self.values[name]
        if nhwc is False and is_nhwc:
            return self.ops.transpose(tensor, NHWC_TO_NCHW), False
        return tensor, is_nhwc

    def plain(self, name: str):
        return self.get(name, nhwc=False)[0]

    def _fold_constant(self, node) -> bool:
        """Index math on static shapes (Shape, Gather, Concat, Range... of constants): computed here,
        with onnx's reference evaluator, so the twin holds only the layers."""
        if node.op_type == "Shape" and None not in (self.shapes.get(node.input[0]) or [None]):
            attrs = {a.name: a.i for a in node.attribute}
            shape = np.array(self.shapes[node.input[0]], np.int64)
            self.consts[node.output[0]] = shape[attrs.get("start", 0):attrs.get("end")]
            return True
        if node.op_type == "Constant":
            attr = node.attribute[0]
            self.consts[node.output[0]] = (numpy_helper.to_array(attr.t) if attr.name == "value"
                                           else np.array(onnx.helper.get_attribute_value(attr)))
            return True
        inputs = [n for n in node.input if n]
        if not inputs or any(n not in self.consts for n in inputs) or any(
                a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            return False
        from onnx.reference import ReferenceEvaluator

        graph = onnx.helper.make_graph(
            [node], "fold", [onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(
                self.consts[n].dtype), self.consts[n].shape) for n in dict.fromkeys(inputs)],
            [onnx.helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in node.output if o])
        opsets = [onnx.helper.make_opsetid(o.domain, o.version) for o in self.proto.opset_import]
        folded = ReferenceEvaluator(onnx.helper.make_model(graph, opset_imports=opsets)).run(
            None, {n: self.consts[n] for n in dict.fromkeys(inputs)})
        for name, value in zip([o for o in node.output if o], folded):
            self.consts[name] = np.asarray(value)
        return True

    def fold(self, node, value: np.ndarray) -> None:
        """A node whose inputs are all constants becomes a constant."""
        self.consts[node.output[0]] = value

    # -- ops -------------------------------------------------------------------------------------

    def op_Identity(self, node, attrs):
        if node.input[0] in self.consts:
            return self.fold(node, self.consts[node.input[0]])
        return self.values[node.input[0]]

    def op_Conv(self, node, attrs):
        keras = self.keras
        w = self.const(node.input[1])
        if w is not None and w.ndim == 3:
            return self._conv1d(node, attrs, w)
        x, nhwc = self.get(node.input[0], nhwc=True)
        if w is None or w.ndim != 4 or not nhwc:
            raise NoTwin(f"no twin: only 2-D convolutions with constant weights ({node.name!r})")
        b = self.const(node.input[2]) if len(node.input) > 2 else None
        cout, cin_g, kh, kw = w.shape
        group = attrs.get("group", 1)
        strides = tuple(attrs.get("strides", (1, 1)))
        dilations = tuple(attrs.get("dilations", (1, 1)))
        pads = list(attrs.get("pads", (0, 0, 0, 0)))
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise NoTwin(f"no twin: Conv auto_pad ({node.name!r})")
        cin = cin_g * group
        same = (strides == (1, 1) and pads[0] == pads[2] == dilations[0] * (kh - 1) // 2
                and pads[1] == pads[3] == dilations[1] * (kw - 1) // 2 and kh % 2 == 1 and kw % 2 == 1)
        if not same and any(pads):
            x = keras.layers.ZeroPadding2D(((pads[0], pads[2]), (pads[1], pads[3])))(x)
        padding = "same" if same else "valid"
        common = dict(strides=strides, padding=padding, dilation_rate=dilations, use_bias=b is not None)
        if group == 1:
            layer = keras.layers.Conv2D(cout, (kh, kw), **common)
            weights = [np.transpose(w, (2, 3, 1, 0))]
        elif group == cin and cin_g == 1:
            multiplier = cout // cin
            layer = keras.layers.DepthwiseConv2D((kh, kw), depth_multiplier=multiplier, **common)
            weights = [np.transpose(w.reshape(cin, multiplier, kh, kw), (2, 3, 0, 1))]
        else:
            layer = keras.layers.Conv2D(cout, (kh, kw), groups=group, **common)
            weights = [np.transpose(w, (2, 3, 1, 0))]
        y = layer(x)
        layer.set_weights(weights + ([b] if b is not None else []))
        return y, True

    def _conv1d(self, node, attrs, w):
        """Conv1d (a Whisper stem): NCL kept as the graph has it, transposed around a Conv1D."""
        keras = self.keras
        if attrs.get("group", 1) != 1 or tuple(attrs.get("dilations", (1,))) != (1,):
            raise NoTwin(f"no twin: grouped or dilated Conv1d ({node.name!r})")
        b = self.const(node.input[2]) if len(node.input) > 2 else None
        pads = list(attrs.get("pads", (0, 0)))
        x = self.ops.transpose(self.plain(node.input[0]), (0, 2, 1))
        if any(pads):
            x = keras.layers.ZeroPadding1D((pads[0], pads[1]))(x)
        layer = keras.layers.Conv1D(w.shape[0], w.shape[2], strides=tuple(attrs.get("strides", (1,))),
                                    padding="valid", use_bias=b is not None)
        y = layer(x)
        layer.set_weights([np.transpose(w, (2, 1, 0))] + ([b] if b is not None else []))
        return self.ops.transpose(y, (0, 2, 1)), False

    def op_ConvTranspose(self, node, attrs):
        keras = self.keras
        x, nhwc = self.get(node.input[0], nhwc=True)
        w = self.const(node.input[1])
        b = self.const(node.input[2]) if len(node.input) > 2 else None
        if (w is None or w.ndim != 4 or not nhwc or attrs.get("group", 1) != 1 or any(attrs.get("pads", (0,)))
                or any(attrs.get("output_padding", (0,))) or tuple(attrs.get("dilations", (1, 1))) != (1, 1)
                or "output_shape" in attrs):
            raise NoTwin(f"no twin: only unpadded, ungrouped 2-D ConvTranspose ({node.name!r})")
        cin, cout, kh, kw = w.shape
        layer = keras.layers.Conv2DTranspose(cout, (kh, kw), strides=tuple(attrs.get("strides", (1, 1))),
                                             padding="valid", use_bias=b is not None)
        y = layer(x)
        layer.set_weights([np.transpose(w, (2, 3, 1, 0))] + ([b] if b is not None else []))
        return y, True

    def op_Resize(self, node, attrs):
        """Bilinear (half-pixel) to any size, nearest (asymmetric floor) by integer factors."""
        x, nhwc = self.get(node.input[0], nhwc=True)
        out = self.shapes.get(node.output[0])
        sizes = self.const(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        if (not out or None in out) and sizes is not None:
            out = [int(d) for d in sizes]
        if not nhwc or not out or None in out:
            raise NoTwin(f"no twin: Resize of a non-image or to a run-time size ({node.name!r})")
        text = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
        mode = text.get("mode", "nearest")
        transform = text.get("coordinate_transformation_mode", "half_pixel")
        size = (out[2], out[3])
        if mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel") and not text.get("antialias", 0):
            return self.ops.image.resize(x, size, interpolation="bilinear"), True
        height, width = self.shapes[node.input[0]][2:]
        factors = (size[0] // height, size[1] // width)
        nearest_ok = (transform == "asymmetric" and text.get("nearest_mode", "round_prefer_floor") == "floor") or (
            transform in ("half_pixel", "pytorch_half_pixel") and text.get("nearest_mode", "round_prefer_floor")
            == "round_prefer_floor")
        if mode == "nearest" and nearest_ok and factors[0] * height == size[0] and factors[1] * width == size[1]:
            return self.keras.layers.UpSampling2D(factors, interpolation="nearest")(x), True
        raise NoTwin(f"no twin: Resize mode {mode} / {transform} ({node.name!r})")

    def op_BatchNormalization(self, node, attrs):
        x, nhwc = self.get(node.input[0])
        scale, bias, mean, var = (self.const(n) for n in node.input[1:5])
        layer = self.keras.layers.BatchNormalization(axis=-1 if nhwc else 1, epsilon=attrs.get("epsilon", 1e-5))
        y = layer(x)
        layer.set_weights([scale, bias, mean, var])
        return y, nhwc

    def _pool(self, node, attrs, kind):
        keras = self.keras
        x, nhwc = self.get(node.input[0], nhwc=True)
        kh, kw = attrs["kernel_shape"]
        strides = tuple(attrs.get("strides", (1, 1)))
        pads = list(attrs.get("pads", (0, 0, 0, 0)))
        if attrs.get("ceil_mode", 0) or tuple(attrs.get("dilations", (1, 1))) != (1, 1):
            raise NoTwin(f"no twin: {node.op_type} with ceil_mode or dilations ({node.name!r})")
        if any(pads):
            if kind == "avg" and not attrs.get("count_include_pad", 0):
                raise NoTwin(f"no twin: padded AveragePool without count_include_pad ({node.name!r})")
            fill = -np.inf if kind == "max" else 0.0
            x = self.ops.pad(x, [(0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)], constant_values=fill)
        cls = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
        return cls((kh, kw), strides=strides, padding="valid")(x), True

    def op_MaxPool(self, node, attrs):
        if len(node.output) > 1 and node.output[1]:
            raise NoTwin("no twin: MaxPool with indices")
        return self._pool(node, attrs, "max")

    def op_AveragePool(self, node, attrs):
        return self._pool(node, attrs, "avg")

    def op_GlobalAveragePool(self, node, attrs):
        x, nhwc = self.get(node.input[0], nhwc=True)
        return self.ops.mean(x, axis=(1, 2), keepdims=True), True

    def op_Flatten(self, node, attrs):
        x, nhwc = self.get(node.input[0])
        shape = self.shapes.get(node.input[0]) or []
        axis = attrs.get("axis", 1)
        if nhwc and not (axis == 1 and shape[2:] == [1, 1]):
            x, nhwc = self.get(node.input[0], nhwc=False)
        dims = [d for d in shape]
        rows = int(np.prod(dims[:axis])) if axis else 1
        return self.ops.reshape(x, (rows, int(np.prod(dims[axis:])))), False

    def op_Gemm(self, node, attrs):
        x = self.plain(node.input[0])
        w = self.const(node.input[1])
        b = self.const(node.input[2]) if len(node.input) > 2 else None
        if w is None or attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
            raise NoTwin(f"no twin: Gemm with a run-time B, transA, alpha or beta ({node.name!r})")
        w = w.T if attrs.get("transB", 0) else w
        return self._dense(x, w, b), False

    def _dense(self, x, w: np.ndarray, b: np.ndarray | None):
        layer = self.keras.layers.Dense(w.shape[1], use_bias=b is not None)
        y = layer(x)
        layer.set_weights([w] + ([np.broadcast_to(b, (w.shape[1],)).astype(np.float32)] if b is not None else []))
        return y

    def op_MatMul(self, node, attrs):
        w = self.const(node.input[1])
        if w is not None and w.ndim == 2:
            x = self.plain(node.input[0])
            consumers = [n for n in self.proto.graph.node if node.output[0] in n.input]
            # MatMul + Add(bias) as nn.Linear exports them: one Dense layer with its bias
            if len(consumers) == 1 and consumers[0].op_type == "Add" and self.uses.get(node.output[0]) == 1:
                add = consumers[0]
                other = add.input[1] if add.input[0] == node.output[0] else add.input[0]
                bias = self.const(other)
                if bias is not None and bias.shape in ((w.shape[1],), (1, w.shape[1])):
                    self.values[add.output[0]] = (self._dense(x, w, bias.reshape(-1)), False)
                    return None
            return self._dense(x, w, None), False
        return self.ops.matmul(self.plain(node.input[0]), self.plain(node.input[1])), False

    def _binary(self, node, fn, folded):
        a_name, b_name = node.input[0], node.input[1]
        if node.output[0] in self.values:  # already made by a fused producer (MatMul + Add)
            return None
        if a_name in self.consts and b_name in self.consts:
            return self.fold(node, folded(self.consts[a_name], self.consts[b_name]))
        layouts = [self.values[n][1] for n in (a_name, b_name) if n in self.values]
        want_nhwc = all(layouts)
        a, a_nhwc = self.get(a_name, nhwc=want_nhwc)
        b, b_nhwc = self.get(b_name, nhwc=want_nhwc)
        if want_nhwc:  # a broadcast constant of lower rank follows the NHWC layout too
            a, b = (self._nhwc_const(v, name) for v, name in ((a, a_name), (b, b_name)))
        return fn(a, b), want_nhwc

    def _nhwc_const(self, value, name):
        """A constant broadcast against an NHWC-stored tensor: numpy's broadcast to rank 4, then NHWC."""
        if not isinstance(value, np.ndarray) or value.ndim in (0, 4):  # scalars; rank 4: get() did it
            return value
        if value.ndim > 4:
            raise NoTwin(f"no twin: a rank-{value.ndim} constant {name!r} broadcast against an image tensor")
        if value.ndim < 4:
            value = value.reshape((1,) * (4 - value.ndim) + value.shape)
            return np.transpose(value, NCHW_TO_NHWC)
        return value

    def op_Add(self, node, attrs):
        return self._binary(node, self.ops.add, np.add)

    def op_Sub(self, node, attrs):
        return self._binary(node, self.ops.subtract, np.subtract)

    def op_Mul(self, node, attrs):
        return self._binary(node, self.ops.multiply, np.multiply)

    def op_Div(self, node, attrs):
        return self._binary(node, self.ops.divide, np.divide)

    def _unary(self, node, fn):
        x, nhwc = self.get(node.input[0])
        return fn(x), nhwc

    def op_Relu(self, node, attrs):
        return self._unary(node, self.keras.layers.ReLU())

    def op_Clip(self, node, attrs):
        lo = self.const(node.input[1]) if len(node.input) > 1 and node.input[1] else attrs.get("min")
        hi = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else attrs.get("max")
        lo = None if lo is None else float(lo)
        hi = None if hi is None else float(hi)
        if lo == 0.0 and hi is not None:
            return self._unary(node, self.keras.layers.ReLU(max_value=hi))
        return self._unary(node, lambda x: self.ops.clip(x, -np.inf if lo is None else lo,
                                                           np.inf if hi is None else hi))

    def op_Sigmoid(self, node, attrs):
        return self._unary(node, self.ops.sigmoid)

    def op_HardSigmoid(self, node, attrs):
        alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
        if np.isclose(alpha, 1 / 6) and beta == 0.5:
            return self._unary(node, self.ops.hard_sigmoid)
        return self._unary(node, lambda x: self.ops.clip(x * alpha + beta, 0.0, 1.0))

    def op_HardSwish(self, node, attrs):
        return self._unary(node, self.ops.hard_silu)

    def op_Tanh(self, node, attrs):
        return self._unary(node, self.ops.tanh)

    def op_Erf(self, node, attrs):
        return self._unary(node, self.ops.erf)

    def op_Gelu(self, node, attrs):
        approximate = attrs.get("approximate", b"none") in (b"tanh", "tanh")
        return self._unary(node, lambda x: self.keras.activations.gelu(x, approximate=approximate))

    def op_ReduceMean(self, node, attrs):
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self.const(node.input[1])
            if axes is None:
                raise NoTwin(f"no twin: ReduceMean over run-time axes ({node.name!r})")
        rank = len(self.shapes[node.input[0]])
        axes = list(range(rank)) if axes is None else [int(a) % rank for a in np.atleast_1d(axes)]
        keep = bool(attrs.get("keepdims", 1))
        x, nhwc = self.get(node.input[0])
        if nhwc and keep:
            return self.ops.mean(x, axis=tuple(NCHW_TO_NHWC.index(a) for a in axes), keepdims=True), True
        return self.ops.mean(self.plain(node.input[0]), axis=tuple(axes), keepdims=keep), False

    def op_Concat(self, node, attrs):
        rank = len(self.shapes[node.output[0]])
        axis = attrs["axis"] % rank
        nhwc = rank == 4 and all(self.values[n][1] for n in node.input if n in self.values)
        parts = [self.get(n, nhwc=nhwc)[0] for n in node.input]
        return self.ops.concatenate(parts, axis=NCHW_TO_NHWC.index(axis) if nhwc else axis), nhwc

    def op_Gather(self, node, attrs):
        indices = self.const(node.input[1])
        if indices is None:
            raise NoTwin(f"no twin: Gather with run-time indices ({node.name!r})")
        rank = len(self.shapes[node.input[0]])
        axis = attrs.get("axis", 0) % rank
        sizes = self.shapes[node.input[0]]
        indices = np.where(indices < 0, indices + sizes[axis], indices)
        return self.ops.take(self.plain(node.input[0]), indices.astype(np.int32), axis=axis), False

    def op_Softmax(self, node, attrs):
        x = self.plain(node.input[0])
        return self.ops.softmax(x, axis=attrs.get("axis", -1)), False

    def op_LayerNormalization(self, node, attrs):
        x = self.plain(node.input[0])
        axis = attrs.get("axis", -1)
        rank = len(self.shapes[node.input[0]])
        if axis not in (-1, rank - 1):
            raise NoTwin(f"no twin: LayerNormalization over axis {axis} ({node.name!r})")
        gamma, beta = self.const(node.input[1]), self.const(node.input[2]) if len(node.input) > 2 else None
        layer = self.keras.layers.LayerNormalization(epsilon=attrs.get("epsilon", 1e-5), center=beta is not None)
        y = layer(x)
        layer.set_weights([gamma] + ([beta] if beta is not None else []))
        return y, False

    def op_Reshape(self, node, attrs):
        out = self.shapes.get(node.output[0])  # static after shape inference, even if computed at run time
        target = self.const(node.input[1])
        if (not out or None in out) and target is not None and None not in self.shapes[node.input[0]]:
            source = self.shapes[node.input[0]]
            dims = [source[i] if d == 0 and not attrs.get("allowzero", 0) else int(d) for i, d in enumerate(target)]
            out = list(np.empty(source, np.uint8).reshape(dims).shape)
        if not out or None in out:
            raise NoTwin(f"no twin: Reshape to a run-time shape ({node.name!r})")
        if node.input[0] in self.consts:
            return self.fold(node, self.consts[node.input[0]].reshape(out))
        return self.ops.reshape(self.plain(node.input[0]), tuple(out)), False

    def op_Transpose(self, node, attrs):
        perm = tuple(attrs["perm"])
        if node.input[0] in self.consts:
            return self.fold(node, np.transpose(self.consts[node.input[0]], perm))
        tensor, nhwc = self.values[node.input[0]]
        if nhwc and perm == NCHW_TO_NHWC:  # already stored that way (ConvNeXt's permute to channels-last)
            return tensor, False
        x = self.plain(node.input[0])
        if perm == NHWC_TO_NCHW and len(self.shapes[node.input[0]]) == 4:  # back to NCHW: keep it NHWC
            return x, True
        return self.ops.transpose(x, perm), False


def _keras_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return cleaned if cleaned[:1].isalpha() else f"x_{cleaned}"


def twin_summary(info: dict) -> str:
    """One line for logs and docs: max differences and the op counts that matter."""
    tfl, kox, orig = info["tflite_ops"], info["keras_onnx_ops"], info["original_ops"]
    diff = info["max_abs_diff"]
    keras_onnx = (f"keras-onnx max|diff| {diff['keras_onnx']:.2g}, {sum(kox.values())} nodes "
                  f"({kox.get('Transpose', 0)} Transpose)" if kox and diff["keras_onnx"] is not None
                  else f"keras-onnx unusable ({info['keras_onnx_error']})")
    return (f"tflite max|diff| {diff['tflite']:.2g} (outputs up to {info['max_abs_output']:.3g}), "
            f"{sum(tfl.values())} ops ({tfl.get('TRANSPOSE', 0)} TRANSPOSE); {keras_onnx}; original "
            f"{sum(orig.values())} nodes ({orig.get('Transpose', 0)} Transpose)")


__all__ = ["NoTwin", "Twin", "twin_for", "twin_summary", "run_tflite"]


def _self_check() -> None:  # pragma: no cover - a developer's loop: python -m edgewasm.bench.twins
    import sys

    from .prepare import random_inputs
    from .suite import suite_model

    for name in sys.argv[1:]:
        entry = suite_model(name)
        proto = entry.build()
        inputs = entry.inputs() if entry.inputs else random_inputs(proto)
        try:
            print(name, twin_summary(twin_for(proto, name, inputs).info))
        except NoTwin as exc:
            print(name, exc)


if __name__ == "__main__":  # pragma: no cover
    _self_check()

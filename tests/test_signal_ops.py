"""Signal and miscellaneous ops through the public API (compile, load, run in wasmtime) against
onnxruntime on the original graph (or numpy where onnxruntime lacks the op): DFT, STFT, the window
functions, Hardmax, CumProd, Mean; typed errors for what is refused."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.errors import ModelFormatError, UnsupportedModelError
from oracles import ort_outputs

ONNX_TYPES = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE, "float16": TensorProto.FLOAT16,
              "bfloat16": TensorProto.BFLOAT16, "int32": TensorProto.INT32, "int64": TensorProto.INT64,
              "uint32": TensorProto.UINT32, "uint64": TensorProto.UINT64}


def np_dtype(name):
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def model(nodes, inputs: dict, outputs: dict, inits: dict | None = None, opset: int = 17) -> onnx.ModelProto:
    """inputs/outputs: name -> (dtype, shape or None)."""
    graph = helper.make_graph(
        nodes if isinstance(nodes, list) else [nodes], "g",
        [helper.make_tensor_value_info(n, ONNX_TYPES[d], s) for n, (d, s) in inputs.items()],
        [helper.make_tensor_value_info(n, ONNX_TYPES[d], s) for n, (d, s) in outputs.items()],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in (inits or {}).items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    inferred_graph = onnx.shape_inference.infer_shapes(proto).graph
    inferred = {v.name: v for v in (*inferred_graph.value_info, *inferred_graph.output)}
    for output in proto.graph.output:
        if output.name in inferred and inferred[output.name].type.tensor_type.HasField("shape"):
            output.type.CopyFrom(inferred[output.name].type)
        else:  # a shape inference cannot find: its rank from the caller, sizes symbolic
            rank = outputs[output.name][1]
            shape = output.type.tensor_type.shape
            for i in range(rank if isinstance(rank, int) else 0):
                shape.dim.add().dim_param = f"{output.name}_{i}"
            shape.SetInParent()
    return proto


def run_edgewasm(tmp_path, proto, feeds):
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    return edgewasm.load(tmp_path / "bundle").run(feeds)


def assert_close(got, want, atol=1e-5, rtol=1e-4):
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    if want.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=atol, rtol=rtol)


def check(tmp_path, proto, feeds, want=None, **tol):
    got = run_edgewasm(tmp_path, proto, feeds)
    want = want if want is not None else ort_outputs(proto, feeds)
    assert set(got) == set(want)
    for name in want:
        assert_close(got[name], want[name], **tol)
    return got


def compile_error(tmp_path, proto):
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bad_bundle")


def randn(shape, dtype="float32", seed=0):
    return (np.random.default_rng(seed).standard_normal(shape)).astype(np_dtype(dtype))


# -- DFT -----------------------------------------------------------------------------------------

def numpy_dft(x, length, axis, inverse, onesided):
    """The spec's DFT in float64 with numpy's FFTs (onnx's reference semantics)."""
    signal = x[..., 0].astype(np.float64) if x.shape[-1] == 1 else x[..., 0] + 1j * x[..., 1].astype(np.float64)
    if inverse and onesided:
        return np.fft.irfft(signal, n=length, axis=axis)[..., None]
    spectrum = np.fft.ifft(signal, n=length, axis=axis) if inverse else np.fft.fft(signal, n=length, axis=axis)
    if onesided:
        spectrum = np.take(spectrum, np.arange(length // 2 + 1), axis=axis)
    return np.stack([spectrum.real, spectrum.imag], -1)


def dft_model(shape, dtype, opset, axis, inverse, onesided, length):
    inputs = ["x", "n" if length is not None else ""]
    inits = {} if length is None else {"n": np.array(length, np.int64)}
    attrs = {"inverse": int(inverse), "onesided": int(onesided)}
    if opset >= 20:
        inputs.append("axis")
        inits["axis"] = np.array(axis, np.int64)
    else:
        attrs["axis"] = axis
    while inputs and not inputs[-1]:
        inputs.pop()
    node = helper.make_node("DFT", inputs, ["y"], **attrs)
    return model(node, {"x": (dtype, list(shape))}, {"y": (dtype, None)}, inits, opset)


DFT_CASES = [  # shape, axis, inverse, onesided, dft_length
    ((2, 8, 1), 1, 0, 0, None), ((2, 8, 2), 1, 0, 0, None), ((3, 7, 1), 1, 0, 1, None), ((2, 9, 2), 1, 1, 0, None),
    ((2, 5, 1), 1, 0, 0, 8), ((2, 12, 2), 1, 0, 0, 5), ((2, 6, 3, 2), 1, 0, 0, None), ((4, 3, 2), 0, 1, 0, 6),
    ((2, 5, 2), 1, 1, 1, None), ((2, 6, 2), 1, 1, 1, 9), ((3, 4, 5, 1), -3, 0, 1, 7), ((1, 16, 2), -2, 1, 0, None),
]


@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("shape, axis, inverse, onesided, length", DFT_CASES)
def test_dft_matches_numpy(tmp_path, opset, shape, axis, inverse, onesided, length):
    x = randn(shape, seed=len(shape) + shape[1])
    rank = len(shape)
    a = axis % rank
    n = length if length is not None else (2 * (shape[a] - 1) if inverse and onesided else shape[a])
    want = numpy_dft(x, n, a, inverse, onesided).astype(np.float32)
    got = run_edgewasm(tmp_path, dft_model(shape, "float32", opset, axis, inverse, onesided, length), {"x": x})
    assert_close(got["y"], want, atol=1e-5 * n, rtol=1e-4)


@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("shape, axis, inverse, onesided, length", [c for c in DFT_CASES if not (c[2] and c[3])])
def test_dft_matches_onnxruntime(tmp_path, opset, shape, axis, inverse, onesided, length):
    x = randn(shape, seed=3)
    check(tmp_path, dft_model(shape, "float32", opset, axis, inverse, onesided, length), {"x": x}, atol=2e-5)


def test_dft_float64_computes_in_float64(tmp_path):
    x = randn((2, 64, 2), "float64", seed=5)
    got = run_edgewasm(tmp_path, dft_model((2, 64, 2), "float64", 20, 1, 0, 0, None), {"x": x})
    want = numpy_dft(x, 64, 1, False, False)
    assert got["y"].dtype == np.float64
    np.testing.assert_allclose(got["y"], want, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_dft_half_dtypes_through_float32(tmp_path, dtype):
    x = randn((2, 8, 1), dtype, seed=6)
    got = run_edgewasm(tmp_path, dft_model((2, 8, 1), dtype, 20, 1, 0, 1, None), {"x": x})
    want = numpy_dft(x.astype(np.float32), 8, 1, False, True)
    assert got["y"].dtype == np_dtype(dtype)
    np.testing.assert_allclose(got["y"].astype(np.float64), want, atol=0.05, rtol=0.02)


def test_dft_refusals(tmp_path):
    node = helper.make_node("DFT", ["x", "n"], ["y"])
    with pytest.raises(UnsupportedModelError, match="dft_length must be a constant"):
        compile_error(tmp_path, model(node, {"x": ("float32", [2, 8, 1]), "n": ("int64", [])},
                                      {"y": ("float32", None)}))
    with pytest.raises(ModelFormatError, match="component axis"):
        compile_error(tmp_path, dft_model((2, 8, 1), "float32", 20, -1, 0, 0, None))
    with pytest.raises(ModelFormatError, match="must end in a real"):
        compile_error(tmp_path, dft_model((2, 8, 3), "float32", 20, 1, 0, 0, None))


# -- STFT ----------------------------------------------------------------------------------------

def numpy_stft(x, step, window, frame, onesided):
    frames = 1 + (x.shape[1] - frame) // step
    out = []
    for f in range(frames):
        chunk = x[:, f * step:f * step + frame].astype(np.float64)
        if window is not None:
            chunk = chunk * window.astype(np.float64)[None, :, None]
        out.append(numpy_dft(chunk, frame, 1, False, onesided))
    return np.stack(out, 1)


@pytest.mark.parametrize("c", [1, 2])
@pytest.mark.parametrize("window_kind", ["none", "constant", "runtime"])
@pytest.mark.parametrize("step, frame, onesided", [(4, 16, 1), (3, 10, 0), (5, 7, 1)])
def test_stft(tmp_path, c, window_kind, step, frame, onesided):
    if onesided and c == 2:
        onesided = 0
    x = randn((2, 40, c), seed=7)
    window = np.hanning(frame).astype(np.float32)
    inits = {"step": np.array(step, np.int64), "frame": np.array(frame, np.int64)}
    inputs = {"x": ("float32", [2, 40, c])}
    feeds = {"x": x}
    if window_kind == "constant":
        inits["w"] = window
    elif window_kind == "runtime":
        inputs["w"] = ("float32", [frame])
        feeds["w"] = window
    names = ["x", "step", "w" if window_kind != "none" else "", "frame"]
    node = helper.make_node("STFT", names, ["y"], onesided=onesided)
    proto = model(node, inputs, {"y": ("float32", None)}, inits)
    want = numpy_stft(x, step, window if window_kind != "none" else None, frame, onesided).astype(np.float32)
    got = run_edgewasm(tmp_path, proto, feeds)
    assert_close(got["y"], want, atol=1e-4, rtol=1e-4)
    if c == 1:
        assert_close(got["y"], ort_outputs(proto, feeds)["y"], atol=1e-4, rtol=1e-4)


def test_stft_float64(tmp_path):
    x = randn((1, 33, 1), "float64", seed=8)
    inits = {"step": np.array(4, np.int64), "w": np.hamming(12)}
    proto = model(helper.make_node("STFT", ["x", "step", "w"], ["y"]), {"x": ("float64", [1, 33, 1])},
                  {"y": ("float64", None)}, inits)
    got = run_edgewasm(tmp_path, proto, {"x": x})
    np.testing.assert_allclose(got["y"], numpy_stft(x, 4, np.hamming(12), 12, 1), atol=1e-12, rtol=1e-12)


def test_stft_refuses_runtime_step(tmp_path):
    proto = model(helper.make_node("STFT", ["x", "step"], ["y"]),
                  {"x": ("float32", [1, 16, 1]), "step": ("int64", [])}, {"y": ("float32", None)})
    with pytest.raises(UnsupportedModelError, match="frame_step must be a constant"):
        compile_error(tmp_path, proto)


# -- windows -------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
@pytest.mark.parametrize("periodic", [0, 1])
@pytest.mark.parametrize("size", [1, 2, 10, 17])
@pytest.mark.parametrize("out_dtype", ["float32", "float64"])
def test_window_with_a_constant_size_folds(tmp_path, op, periodic, size, out_dtype):
    # the window (folded) scales a run-time input, so the graph computes something
    nodes = [helper.make_node(op, ["size"], ["w"], periodic=periodic, output_datatype=ONNX_TYPES[out_dtype]),
             helper.make_node("Mul", ["x", "w"], ["y"])]
    proto = model(nodes, {"x": (out_dtype, [3, size])}, {"y": (out_dtype, None)}, {"size": np.array(size, np.int32)})
    check(tmp_path, proto, {"x": randn((3, size), out_dtype, seed=size)}, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
def test_window_with_a_runtime_size_is_refused(tmp_path, op):
    proto = model(helper.make_node(op, ["size"], ["w"]), {"size": ("int64", [])}, {"w": ("float32", None)})
    with pytest.raises(UnsupportedModelError, match="must be a constant"):
        compile_error(tmp_path, proto)


def test_melweightmatrix_with_constants_folds_and_runtime_is_refused(tmp_path):
    inits = {"bins": np.array(8, np.int64), "dft": np.array(64, np.int64), "rate": np.array(8000, np.int64),
             "lo": np.array(0.0, np.float32), "hi": np.array(4000.0, np.float32)}
    nodes = [helper.make_node("MelWeightMatrix", ["bins", "dft", "rate", "lo", "hi"], ["m"]),
             helper.make_node("MatMul", ["x", "m"], ["y"])]
    proto = model(nodes, {"x": ("float32", [2, 33])}, {"y": ("float32", None)}, inits)
    check(tmp_path, proto, {"x": randn((2, 33), seed=9)})
    runtime = model(helper.make_node("MelWeightMatrix", ["bins", "dft", "rate", "lo", "hi"], ["m"]),
                    {"bins": ("int64", [])}, {"m": ("float32", None)}, {k: v for k, v in inits.items() if k != "bins"})
    with pytest.raises(UnsupportedModelError, match="bins must be a constant"):
        compile_error(tmp_path, runtime)


# -- Hardmax -------------------------------------------------------------------------------------

@pytest.mark.parametrize("opset", [1, 11, 13])
@pytest.mark.parametrize("shape, axis", [((3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1),
                                         ((2, 1, 5, 3), 2), ((5,), 0)])
def test_hardmax(tmp_path, opset, shape, axis):
    x = randn(shape, seed=11)
    x.reshape(-1)[::5] = 0.5  # ties: the first maximum wins
    attrs = {} if axis is None else {"axis": axis}
    proto = model(helper.make_node("Hardmax", ["x"], ["y"], **attrs), {"x": ("float32", list(shape))},
                  {"y": ("float32", None)}, opset=opset)
    check(tmp_path, proto, {"x": x})


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_hardmax_dtypes(tmp_path, dtype):
    x = randn((3, 7), dtype, seed=12)
    proto = model(helper.make_node("Hardmax", ["x"], ["y"]), {"x": (dtype, [3, 7])}, {"y": (dtype, None)}, opset=13)
    want = (np.arange(7)[None, :] == np.argmax(x, axis=1)[:, None]).astype(x.dtype)  # onnxruntime lacks float64
    check(tmp_path, proto, {"x": x}, want={"y": want})


def test_hardmax_refuses_integers(tmp_path):
    proto = model(helper.make_node("Hardmax", ["x"], ["y"]), {"x": ("int32", [3])}, {"y": ("int32", None)}, opset=13)
    with pytest.raises(UnsupportedModelError, match="has dtype int32"):
        compile_error(tmp_path, proto)


# -- CumProd -------------------------------------------------------------------------------------

def numpy_cumprod(x, axis, exclusive, reverse):
    y = np.flip(x, axis) if reverse else x
    if exclusive:
        ones = np.ones_like(np.take(y, [0], axis))
        y = np.concatenate([ones, np.take(y, np.arange(y.shape[axis] - 1), axis)], axis)
    with np.errstate(over="ignore"):
        y = np.cumprod(y, axis=axis, dtype=x.dtype)
    return np.flip(y, axis) if reverse else y


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint32", "uint64"])
@pytest.mark.parametrize("exclusive, reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("shape, axis", [((7,), 0), ((3, 5), 1), ((3, 5), -2), ((2, 3, 4), 1)])
def test_cumprod(tmp_path, dtype, exclusive, reverse, shape, axis):
    rng = np.random.default_rng(13)
    x = (rng.integers(1, 4, shape) if dtype[0] in "iu" else rng.uniform(0.5, 1.5, shape)).astype(dtype)
    proto = model(helper.make_node("CumProd", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse),
                  {"x": (dtype, list(shape))}, {"y": (dtype, None)}, {"axis": np.array(axis, np.int32)}, opset=26)
    want = numpy_cumprod(x, axis % len(shape), exclusive, reverse)
    got = check(tmp_path, proto, {"x": x}, want={"y": want}, atol=1e-6, rtol=1e-6)
    if dtype in ("float32", "float64", "int32", "int64"):
        assert_close(got["y"], ort_outputs(proto, {"x": x})["y"], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cumprod_half(tmp_path, dtype):
    x = np.random.default_rng(14).uniform(0.5, 1.5, (4, 6)).astype(np_dtype(dtype))
    proto = model(helper.make_node("CumProd", ["x", "axis"], ["y"]), {"x": (dtype, [4, 6])}, {"y": (dtype, None)},
                  {"axis": np.array(1, np.int64)}, opset=26)
    want = np.cumprod(x.astype(np.float32), axis=1).astype(np_dtype(dtype))
    check(tmp_path, proto, {"x": x}, want={"y": want}, atol=1e-2, rtol=1e-2)


def test_cumprod_refuses_runtime_axis(tmp_path):
    proto = model(helper.make_node("CumProd", ["x", "axis"], ["y"]),
                  {"x": ("float32", [3]), "axis": ("int64", [])}, {"y": ("float32", None)}, opset=26)
    with pytest.raises(UnsupportedModelError, match="axis must be a constant"):
        compile_error(tmp_path, proto)


# -- Mean ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shapes", [[(3, 4)], [(3, 4), (3, 4)], [(2, 3, 4), (4,), (3, 1)], [(1,), (5, 2), (5, 1)]])
def test_mean(tmp_path, dtype, shapes):
    names = [f"x{i}" for i in range(len(shapes))]
    proto = model(helper.make_node("Mean", names, ["y"]), {n: (dtype, list(s)) for n, s in zip(names, shapes)},
                  {"y": (dtype, None)}, opset=13)
    feeds = {n: randn(s, dtype, seed=i) for i, (n, s) in enumerate(zip(names, shapes))}
    tol = {"atol": 1e-3, "rtol": 1e-3} if dtype == "float16" else {}
    if dtype == "float64":  # onnxruntime has no float64 Mean
        want = sum(np.broadcast_arrays(*feeds.values())) / len(feeds)
        check(tmp_path, proto, feeds, want={"y": want}, atol=1e-12, rtol=1e-12)
    else:
        check(tmp_path, proto, feeds, **tol)


def test_mean_refuses_integers(tmp_path):
    proto = model(helper.make_node("Mean", ["a", "b"], ["y"]), {"a": ("int32", [3]), "b": ("int32", [3])},
                  {"y": ("int32", None)}, opset=13)
    with pytest.raises(UnsupportedModelError, match="has dtype int32"):
        compile_error(tmp_path, proto)


# -- TensorScatter -------------------------------------------------------------------------------

def numpy_tensor_scatter(past, update, write, axis, mode):
    present = past.copy()
    for prefix in np.ndindex(past.shape[:axis]):
        for s in range(update.shape[axis]):
            at = int(write[prefix[0]]) + s if write is not None else s
            if mode == "circular":
                at %= past.shape[axis]
            present[(*prefix, at)] = update[(*prefix, s)]
    return present


@pytest.mark.parametrize("mode", ["linear", "circular"])
@pytest.mark.parametrize("write_kind", ["none", "runtime", "constant"])
@pytest.mark.parametrize("shape, update_len, axis", [((2, 3, 8, 4), 3, 2), ((3, 6, 5), 2, -2), ((2, 7), 4, 1),
                                                     ((2, 5, 3), 1, -1)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "float16"])
def test_tensor_scatter(tmp_path, mode, write_kind, shape, update_len, axis, dtype):
    a = axis % len(shape)
    update_shape = tuple(update_len if i == a else d for i, d in enumerate(shape))
    rng = np.random.default_rng(15)
    past = randn(shape, dtype, seed=16) if dtype != "int64" else rng.integers(-50, 50, shape)
    update = randn(update_shape, dtype, seed=17) if dtype != "int64" else rng.integers(-50, 50, update_shape)
    limit = shape[a] - update_len if mode == "linear" else shape[a] + 3
    write = rng.integers(0, limit, (shape[0],), endpoint=True).astype(np.int64)
    inputs, feeds, inits = {"past": (dtype, list(shape)), "update": (dtype, list(update_shape))}, \
        {"past": past, "update": update}, {}
    names = ["past", "update"]
    if write_kind == "runtime":
        inputs["write"] = ("int64", [shape[0]])
        feeds["write"] = write
        names.append("write")
    elif write_kind == "constant":
        inits["write"] = write
        names.append("write")
    proto = model(helper.make_node("TensorScatter", names, ["y"], axis=axis, mode=mode), inputs,
                  {"y": (dtype, list(shape))}, inits, opset=24)
    want = numpy_tensor_scatter(past, update, write if write_kind != "none" else None, a, mode)
    got = check(tmp_path, proto, feeds, want={"y": want}, atol=0, rtol=0)
    if dtype == "float32":
        assert_close(got["y"], ort_outputs(proto, feeds)["y"], atol=0, rtol=0)


def test_tensor_scatter_linear_overflow_is_a_run_time_error(tmp_path):
    proto = model(helper.make_node("TensorScatter", ["past", "update", "write"], ["y"]),
                  {"past": ("float32", [1, 4, 2]), "update": ("float32", [1, 2, 2]), "write": ("int64", [1])},
                  {"y": ("float32", [1, 4, 2])}, opset=24)
    with pytest.raises(edgewasm.errors.IndexOutOfRangeError):
        run_edgewasm(tmp_path, proto, {"past": randn((1, 4, 2)), "update": randn((1, 2, 2)),
                                       "write": np.array([3], np.int64)})
    with pytest.raises(ModelFormatError, match="batch axis"):
        compile_error(tmp_path, model(helper.make_node("TensorScatter", ["past", "update"], ["y"], axis=0),
                                      {"past": ("float32", [4, 2]), "update": ("float32", [2, 2])},
                                      {"y": ("float32", [4, 2])}, opset=24))


# -- Det -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 3), (1, 1), (4, 2, 2), (2, 3, 5, 5), (6, 6)])
def test_det(tmp_path, shape):
    x = randn(shape, seed=sum(shape))
    proto = model(helper.make_node("Det", ["x"], ["y"]), {"x": ("float32", list(shape))}, {"y": ("float32", None)})
    check(tmp_path, proto, {"x": x}, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_det_dtypes(tmp_path, dtype):
    x = randn((3, 4, 4), dtype, seed=18)
    proto = model(helper.make_node("Det", ["x"], ["y"]), {"x": (dtype, [3, 4, 4])}, {"y": (dtype, None)}, opset=22)
    want = np.linalg.det(x.astype(np.float64)).astype(np_dtype(dtype))
    tol = {"atol": 1e-12, "rtol": 1e-12} if dtype == "float64" else {"atol": 1e-2, "rtol": 1e-2}
    check(tmp_path, proto, {"x": x}, want={"y": want}, **tol)


def test_det_singular_and_refusals(tmp_path):
    x = np.array([[[1, 2], [2, 4]], [[0, 1], [1, 0]]], np.float32)
    proto = model(helper.make_node("Det", ["x"], ["y"]), {"x": ("float32", [2, 2, 2])}, {"y": ("float32", None)})
    assert run_edgewasm(tmp_path, proto, {"x": x})["y"].tolist() == [0.0, -1.0]
    with pytest.raises(ModelFormatError, match="is not"):
        compile_error(tmp_path, model(helper.make_node("Det", ["x"], ["y"]), {"x": ("float32", [2, 3])},
                                      {"y": ("float32", None)}))
    with pytest.raises(UnsupportedModelError, match="has dtype int32"):
        compile_error(tmp_path, model(helper.make_node("Det", ["x"], ["y"]), {"x": ("int32", [2, 2])},
                                      {"y": ("int32", None)}))


# -- TfIdfVectorizer -----------------------------------------------------------------------------

def tfidf_node(rng, mode, lo, hi, skip, weighted, duplicates=False):
    vocab = [2, 3, 5, 7, 11]
    counts, pool, n = [], [], 0
    for k in range(1, 4):
        counts.append(len(pool))
        grams = {tuple(int(v) for v in rng.choice(vocab, k)) for _ in range(4)}
        for gram in sorted(grams):
            pool += gram
            n += 1
    if duplicates:  # a repeated unigram: the last column wins
        pool.insert(counts[1], pool[0])
        counts = [0] + [c + 1 for c in counts[1:]]
        n += 1
    indexes = [int(i) for i in rng.permutation(n)]
    attrs = dict(mode=mode, min_gram_length=lo, max_gram_length=hi, max_skip_count=skip, ngram_counts=counts,
                 ngram_indexes=indexes, pool_int64s=pool)
    if weighted:
        attrs["weights"] = [float(w) for w in rng.uniform(0.5, 2.0, n)]
    return helper.make_node("TfIdfVectorizer", ["x"], ["y"], **attrs)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("mode", ["TF", "IDF", "TFIDF"])
@pytest.mark.parametrize("lo, hi, skip", [(1, 1, 0), (1, 2, 0), (2, 2, 3), (1, 3, 2), (3, 3, 5)])
@pytest.mark.parametrize("shape", [(12,), (3, 10)])
def test_tfidf_vectorizer(tmp_path, dtype, mode, lo, hi, skip, shape):
    rng = np.random.default_rng([lo, hi, skip, len(shape)])
    node = tfidf_node(rng, mode, lo, hi, skip, weighted=mode != "TF")
    proto = model(node, {"x": (dtype, list(shape))}, {"y": ("float32", None)}, opset=9)
    x = rng.choice([2, 3, 5, 7, 11, 13], shape).astype(dtype)
    check(tmp_path, proto, {"x": x}, atol=0, rtol=1e-6)
    from edgewasm.engines import run_onnxruntime
    assert_close(run_onnxruntime(tmp_path / "bundle", {"x": x})["y"], ort_outputs(proto, {"x": x})["y"], atol=0, rtol=1e-6)


@pytest.mark.parametrize("mode", ["TF", "TFIDF"])
def test_tfidf_vectorizer_repeated_ngram_keeps_the_last_column(tmp_path, mode):
    # onnxruntime refuses a repeated n-gram; onnx's reference (a trie) counts it in its last column
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(19)
    node = tfidf_node(rng, mode, 1, 2, 1, weighted=mode == "TFIDF", duplicates=True)
    proto = model(node, {"x": ("int64", [2, 9])}, {"y": ("float32", None)}, opset=9)
    x = rng.choice([2, 3, 5, 7, 11], (2, 9)).astype(np.int64)
    for a in proto.graph.node[0].attribute:  # the reference reads weights by column: make them agree
        if a.name == "weights":
            a.floats[:] = [1.5] * len(a.floats)
    want = ReferenceEvaluator(proto).run(None, {"x": x})[0]
    check(tmp_path, proto, {"x": x}, want={"y": want}, atol=0, rtol=1e-6)


def test_tfidf_vectorizer_refusals(tmp_path):
    strings = helper.make_node("TfIdfVectorizer", ["x"], ["y"], mode="TF", min_gram_length=1, max_gram_length=1,
                               max_skip_count=0, ngram_counts=[0], ngram_indexes=[0], pool_strings=["a"])
    with pytest.raises(UnsupportedModelError, match="string pools"):
        compile_error(tmp_path, model(strings, {"x": ("int32", [4])}, {"y": ("float32", None)}, opset=9))
    bad_mode = helper.make_node("TfIdfVectorizer", ["x"], ["y"], mode="BM25", min_gram_length=1, max_gram_length=1,
                                max_skip_count=0, ngram_counts=[0], ngram_indexes=[0], pool_int64s=[1])
    with pytest.raises(ModelFormatError, match="mode"):
        compile_error(tmp_path, model(bad_mode, {"x": ("int32", [4])}, {"y": ("float32", None)}, opset=9))

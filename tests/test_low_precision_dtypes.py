"""The low-precision dtypes (float8 x5, float4_e2m1fn, int4, uint4, int2, uint2) at the module
boundary, as constants and inside the module (Cast, CastLike, BitCast between every pair of dtypes),
through the public API against onnxruntime or, where it has no kernel, onnx.reference; on the
wasmtime host (numpy) and on the stdlib Tensor path the browser takes without numpy (sub-byte
tensors packed as ONNX packs them)."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm import dtypes
from edgewasm.conformance import _from_ort
from edgewasm.errors import InputError, UnsupportedModelError
from edgewasm.runtime.core import Model, Tensor, code_values, pack_codes, unpack_codes
from tests.kernels.test_x_cast import e8m0_spec

LOW = dtypes.LOW_PRECISION
SUB_BYTE = dtypes.SUB_BYTE_BITS


def model(nodes, inputs, outputs, inits=(), opset=25):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=11)


def build(tmp_path, proto, name="m"):
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / name)
    return edgewasm.load(tmp_path / name)


def stdlib(loaded):
    """The same instance read through the stdlib runtime (what the page does without numpy)."""
    return Model(loaded.variant, loaded.instance)


def every_code(dtype: str, n: int | None = None) -> np.ndarray:
    bits = SUB_BYTE.get(dtype, 8)
    codes = np.arange(n or 1 << bits) % (1 << bits)
    return codes.astype(np.uint8).view(dtypes.numpy_dtype(dtype))


def same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype, got.shape, want.shape)
    mask = (1 << SUB_BYTE.get(want.dtype.name, 8)) - 1
    np.testing.assert_array_equal(got.view(np.uint8) & mask, want.view(np.uint8) & mask)


@pytest.mark.parametrize("dtype", LOW)
def test_boundary_identity_and_constant(tmp_path, dtype):
    """Every code of the dtype in and out unchanged, and a constant of the dtype as an output,
    on the numpy host and on the stdlib path (raw packed bytes in, Tensor out)."""
    onnx_type = dtypes.to_onnx(dtype)
    n = 37  # not a multiple of 2 or 4: the packed tail byte
    x = every_code(dtype, n).reshape(1, n)
    const = every_code(dtype, 7)[::-1].copy()
    proto = model([helper.make_node("Identity", ["x"], ["y"])], [("x", onnx_type, [1, n])],
                  [("y", onnx_type, [1, n]), ("c", onnx_type, [7])],
                  inits=[numpy_helper.from_array(const, "c")])
    loaded = build(tmp_path, proto)
    variant = loaded.variant
    assert [t.dtype for t in variant.inputs + variant.outputs] == [dtype] * 3
    assert variant.inputs[0].nbytes == n  # one element per byte in memory
    got = loaded.run({"x": x})
    same_bits(got["y"], x)
    same_bits(got["c"], const)

    host = stdlib(loaded)
    bits = SUB_BYTE.get(dtype)
    raw = pack_codes(dtype, x.view(np.uint8).tobytes()) if bits else x.tobytes()
    assert len(raw) == (math.ceil(n * bits / 8) if bits else n)
    out = host.run({"x": raw})
    assert isinstance(out["y"], Tensor) and out["y"].dtype == dtype
    assert out["y"].tobytes() == raw
    np.testing.assert_array_equal(np.array(out["y"].tolist(), np.float64).reshape(-1),
                                  x.astype(np.float64).reshape(-1))
    assert unpack_codes(dtype, out["c"].tobytes(), 7) == (const.view(np.uint8) & ((1 << (bits or 8)) - 1)).tobytes()
    out2 = host.run({"x": Tensor(raw, (1, n), dtype)})  # a Tensor the stdlib path made goes back in
    assert out2["y"].tobytes() == raw
    if bits:  # one element per byte (as ml_dtypes holds them) is accepted too; high bits are ignored
        wide = bytes(b | (0xF0 if bits == 4 else 0xFC) for b in x.view(np.uint8).tobytes())
        assert host.run({"x": wide})["y"].tobytes() == raw
        with pytest.raises(InputError, match="packed"):
            host.run({"x": raw + b"\0"})
        with pytest.raises(InputError, match="packed"):
            host.run({"x": [[0] * n]})  # a nested list cannot encode it: the error says how to pass it


def test_pack_layout_is_onnx():
    """pack_codes writes what onnx's own packing writes (raw_data of a TensorProto)."""
    for dtype in SUB_BYTE:
        x = every_code(dtype, 11)
        want = numpy_helper.from_array(x, "t").raw_data
        assert pack_codes(dtype, x.view(np.uint8).tobytes()) == want
        assert unpack_codes(dtype, want, 11) == (x.view(np.uint8) & ((1 << SUB_BYTE[dtype]) - 1)).tobytes()


@pytest.mark.parametrize("dtype", LOW)
def test_code_values_match_ml_dtypes(dtype):
    codes = every_code(dtype)
    want = codes.astype(np.float64)
    got = np.array(code_values(dtype)[:len(codes)], np.float64)
    np.testing.assert_array_equal(got, want)


# -- Cast / CastLike between every pair that involves a low-precision dtype ----------------------------

ALL = list(dtypes.CAST_CODES)
SUB_BYTE_INTS = ("int4", "uint4", "int2", "uint2")


def values_of(dtype: str, n: int = 61) -> np.ndarray:
    """Every code of a low-precision dtype; floats with specials, ties, subnormals and range limits;
    integers across their range (all 1-D, n or more elements)."""
    if dtype in LOW:
        return every_code(dtype, max(n, 1 << SUB_BYTE.get(dtype, 8)))
    if dtype == "bool":
        return np.arange(n) % 3 == 0
    if dtypes.is_float(dtype):
        base = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0625, 1.1875, -2.5, 3.5, 0.75, 0.25, 6.5, 7.0,
                         448.0, 464.0, 465.0, 480.0, -500.0, 57344.0, 61440.0, 1e5, -1e9, 2.0 ** -9, 2.0 ** -10,
                         3 * 2.0 ** -11, 2.0 ** -17, 1e-30, 1.5 * 2.0 ** 20, 2.0 ** 127, 0.5, -7.9, 15.5])
        rng = np.random.default_rng(len(dtype))
        with np.errstate(over="ignore"):
            return np.concatenate([base, rng.standard_normal(n) * 20]).astype(dtypes.numpy_dtype(dtype))
    info = np.iinfo(dtype)
    ints = [info.min, info.max, 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 300, 448, 449, 65535, 1 << 31, (1 << 40) + 1]
    ints += [-v for v in ints]
    return np.array([i for i in ints if info.min <= i <= info.max] * 2, dtype=object).astype(dtype)


def expected_cast(x: np.ndarray, source: str, target: str, saturate: int = 1, round_mode: str = "up"):
    """onnxruntime on a one-node model where it has the kernel, else onnx.reference; float -> int4/int2
    out of range (ONNX: undefined) follows onnxruntime and onnx's test data (truncate, then wrap)."""
    import onnxruntime as ort
    from onnx.reference import ReferenceEvaluator

    attrs = {"saturate": saturate} if target.startswith("float8") and target != "float8_e8m0fnu" else {}
    if target == "float8_e8m0fnu":
        attrs = {"saturate": saturate, "round_mode": round_mode}
    proto = model([helper.make_node("Cast", ["x"], ["y"], to=dtypes.to_onnx(target), **attrs)],
                  [("x", dtypes.to_onnx(source), [x.size])], [("y", dtypes.to_onnx(target), [x.size])])
    if target in SUB_BYTE_INTS and dtypes.is_float(source):
        wide = x.astype(np.float64)
        with np.errstate(invalid="ignore"):
            t = np.where(np.isnan(wide), 0, np.trunc(wide))
            ints = np.where(t >= 2.0 ** 63, np.iinfo(np.int64).max,
                            np.where(t < -2.0 ** 63, np.iinfo(np.int64).min, np.clip(t, -2.0 ** 63, 2.0 ** 62).astype(np.int64)))
        return (ints & ((1 << SUB_BYTE[target]) - 1)).astype(np.uint8).view(dtypes.numpy_dtype(target))
    # onnxruntime saturates some values that round past the maximum (480 -> 448, against ONNX's table) and
    # casts a float8 -0 to True (against "+/- 0.0 to False"): onnx.reference decides those
    prefer_reference = (target.startswith("float8") and target != "float8_e8m0fnu" and not saturate) or \
        (target == "bool" and source in LOW)
    try:  # x as an initializer: onnxruntime's Python API takes no ml_dtypes arrays
        if prefer_reference:
            raise NotImplementedError
        constant = model(proto.graph.node, [], [("y", dtypes.to_onnx(target), [x.size])],
                         [numpy_helper.from_array(x, "x")])
        session = ort.InferenceSession(constant.SerializeToString(), providers=["CPUExecutionProvider"])
        return _from_ort(session.run_with_ort_values(["y"], {})[0])
    except Exception:  # noqa: BLE001 - onnxruntime lacks this cast (float4, int2, e8m0 ...)
        if target == "float8_e8m0fnu":  # ONNX's table, as onnxruntime computes it (onnx.reference differs)
            return e8m0_spec(x, saturate, round_mode)
        import warnings
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return ReferenceEvaluator(proto).run(None, {"x": x})[0]


def assert_cast_equal(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (what, got.dtype, want.dtype)
    name = want.dtype.name
    if name in LOW:
        mask = np.uint8((1 << SUB_BYTE.get(name, 8)) - 1)
        g, w = got.view(np.uint8).reshape(-1) & mask, want.view(np.uint8).reshape(-1) & mask
        if name not in SUB_BYTE:  # every NaN code of a float8 dtype is a NaN
            nan = (np.isnan(want.astype(np.float32)) & np.isnan(got.astype(np.float32))).reshape(-1)
            g, w = np.where(nan, 0, g), np.where(nan, 0, w)
        bad = np.flatnonzero(g != w)
        assert not bad.size, f"{what}: {bad.size} differ, first at {bad[0]}: got {g[bad[0]]:#x}, want {w[bad[0]]:#x}"
    elif dtypes.is_float(name):
        np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64), err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


@pytest.mark.parametrize("source", ALL)
def test_cast_every_pair(tmp_path, source):
    """One model per source dtype casts it to every dtype where either side is low-precision (Cast and
    CastLike), compiled and run, against onnxruntime / onnx.reference."""
    targets = [t for t in ALL if t != source and (t in LOW or source in LOW)]
    x = values_of(source)
    defined = {}  # a float out of an integer's range (NaN, Inf too) converts to something ONNX leaves undefined
    if dtypes.is_float(source):
        with np.errstate(invalid="ignore"):
            wide = np.trunc(x.astype(np.float64))
        for t in targets:
            if t in dtypes.INTEGERS:
                info = np.iinfo(t)
                end = 2.0 ** (info.bits - (1 if info.min < 0 else 0))  # exclusive, exact
                defined[t] = np.isfinite(wide) & (wide >= float(info.min)) & (wide < end)
    onnx_type = dtypes.to_onnx(source)
    nodes, outputs, inits = [], [], []
    for target in targets:
        nodes.append(helper.make_node("Cast", ["x"], [f"cast_{target}"], to=dtypes.to_onnx(target)))
        like = np.zeros(1, dtypes.numpy_dtype(target))
        inits.append(numpy_helper.from_array(like, f"like_{target}"))
        nodes.append(helper.make_node("CastLike", ["x", f"like_{target}"], [f"castlike_{target}"]))
        outputs += [(f"cast_{target}", dtypes.to_onnx(target), [x.size]),
                    (f"castlike_{target}", dtypes.to_onnx(target), [x.size])]
    loaded = build(tmp_path, model(nodes, [("x", onnx_type, [x.size])], outputs, inits))
    got = loaded.run({"x": x})
    for target in targets:
        want = expected_cast(x, source, target)
        for kind in ("cast", "castlike"):
            result, expect = got[f"{kind}_{target}"], want
            if target in defined:
                result, expect = result[defined[target]], expect[defined[target]]
            assert_cast_equal(result, expect, f"{kind} {source} -> {target}")


@pytest.mark.parametrize("target", ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"])
@pytest.mark.parametrize("source", ["float32", "float16", "float64", "bfloat16", "int32"])
def test_cast_saturate_false(tmp_path, source, target):
    """saturate=0: out of range gives NaN (or Inf for e5m2), in Cast and CastLike (opset 19+)."""
    x = values_of(source)
    onnx_type = dtypes.to_onnx(source)
    like = numpy_helper.from_array(np.zeros(1, dtypes.numpy_dtype(target)), "like")
    proto = model([helper.make_node("Cast", ["x"], ["a"], to=dtypes.to_onnx(target), saturate=0),
                   helper.make_node("CastLike", ["x", "like"], ["b"], saturate=0),
                   helper.make_node("Cast", ["x"], ["c"], to=dtypes.to_onnx(target), saturate=1)],
                  [("x", onnx_type, [x.size])], [(n, dtypes.to_onnx(target), [x.size]) for n in "abc"], [like])
    got = build(tmp_path, proto).run({"x": x})
    want = expected_cast(x, source, target, saturate=0)
    assert_cast_equal(got["a"], want, "saturate=0")
    assert_cast_equal(got["b"], want, "CastLike saturate=0")
    assert_cast_equal(got["c"], expected_cast(x, source, target, saturate=1), "saturate=1")
    assert not np.array_equal(got["a"].view(np.uint8), got["c"].view(np.uint8))


@pytest.mark.parametrize("source", ["float32", "float64", "float16", "bfloat16", "int64", "float8_e5m2"])
def test_cast_e8m0_round_modes(tmp_path, source):
    x = np.abs(values_of(source)) if source not in LOW else values_of(source)
    modes = [(mode, sat) for mode in ("up", "down", "nearest") for sat in (1, 0)]
    nodes = [helper.make_node("Cast", ["x"], [f"y_{m}_{s}"], to=TensorProto.FLOAT8E8M0, round_mode=m, saturate=s)
             for m, s in modes]
    nodes += [helper.make_node("CastLike", ["x", "like"], [f"z_{m}_{s}"], round_mode=m, saturate=s) for m, s in modes]
    outputs = [(f"{k}_{m}_{s}", TensorProto.FLOAT8E8M0, [x.size]) for k in "yz" for m, s in modes]
    like = numpy_helper.from_array(np.ones(1, ml_dtypes.float8_e8m0fnu), "like")
    proto = model(nodes, [("x", dtypes.to_onnx(source), [x.size])], outputs, [like])
    got = build(tmp_path, proto).run({"x": x})
    for m, s in modes:
        want = expected_cast(x, source, "float8_e8m0fnu", s, m)
        assert_cast_equal(got[f"y_{m}_{s}"], want, f"Cast {m} {s}")
        assert_cast_equal(got[f"z_{m}_{s}"], want, f"CastLike {m} {s}")
    # the reference graph the bundle ships keeps the attributes: onnxruntime runs it to the same bits
    import onnx
    import onnxruntime as ort

    reference = onnx.load(next((tmp_path / "m").glob("*/reference.onnx")))
    onnx.checker.check_model(reference)
    if source == "float32":
        session = ort.InferenceSession(reference.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [o.name for o in reference.graph.output]
        values = session.run_with_ort_values(names, {"x": ort.OrtValue.ortvalue_from_numpy(x)})
        for name, value in zip(names, values):
            assert_cast_equal(got[name], _from_ort(value), f"reference.onnx {name}")


def test_low_precision_inside_the_module(tmp_path):
    """Fake quantization through every float8 type and int4 inside a float32 model, as onnxruntime runs it;
    also on the stdlib Tensor path with a float8 and a packed int4 output."""
    import onnxruntime as ort

    nodes, outputs = [], [("y_int4", TensorProto.INT4, [3, 7])]
    for t in (TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2, TensorProto.FLOAT8E5M2FNUZ):
        name = dtypes.from_onnx(t)
        nodes += [helper.make_node("Mul", ["x", "scale"], [f"s_{name}"]),
                  helper.make_node("Cast", [f"s_{name}"], [f"q_{name}"], to=t),
                  helper.make_node("Cast", [f"q_{name}"], [f"r_{name}"], to=TensorProto.FLOAT),
                  helper.make_node("Div", [f"r_{name}", "scale"], [f"y_{name}"])]
        outputs.append((f"y_{name}", TensorProto.FLOAT, [3, 7]))
    # onnxruntime rounds a fractional float into int4 (onnx.reference and every other integer cast
    # truncate): an integer-valued input (-20.0 wraps to int4 -4, as both agree) keeps them comparable
    nodes += [helper.make_node("Floor", ["x"], ["whole"]),
              helper.make_node("Mul", ["whole", "three"], ["wide"]),
              helper.make_node("Cast", ["wide"], ["y_int4"], to=TensorProto.INT4),
              helper.make_node("Cast", ["x"], ["y_e4m3"], to=TensorProto.FLOAT8E4M3FN)]
    outputs.append(("y_e4m3", TensorProto.FLOAT8E4M3FN, [3, 7]))
    proto = model(nodes, [("x", TensorProto.FLOAT, [3, 7])], outputs,
                  [numpy_helper.from_array(np.array(16.0, np.float32), "scale"),
                   numpy_helper.from_array(np.array(3.0, np.float32), "three")], opset=21)
    x = (np.random.default_rng(3).standard_normal((3, 7)) * 4).astype(np.float32)
    loaded = build(tmp_path, proto)
    got = loaded.run({"x": x})
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    want = [_from_ort(v) for v in session.run_with_ort_values([o[0] for o in outputs],
                                                              {"x": ort.OrtValue.ortvalue_from_numpy(x)})]
    for (name, *_), w in zip(outputs, want):
        assert_cast_equal(got[name], w, name)
    out = stdlib(loaded).run({"x": x.tobytes()})
    assert out["y_int4"].tobytes() == numpy_helper.from_array(want[0], "t").raw_data  # packed as ONNX packs it
    assert out["y_int4"].tolist() == want[0].astype(np.int64).tolist()
    assert out["y_e4m3"].tobytes() == want[-1].tobytes()


@pytest.mark.parametrize("source,target", [
    ("float32", "int32"), ("int32", "float32"), ("float16", "int16"), ("bfloat16", "float16"), ("uint16", "bfloat16"),
    ("float64", "int64"), ("uint64", "float64"), ("int8", "uint8"), ("bool", "uint8"), ("uint8", "float8_e4m3fn"),
    ("float8_e5m2", "float8_e4m3fnuz"), ("float8_e8m0fnu", "int8"), ("int4", "uint4"), ("uint4", "float4_e2m1fn"),
    ("float4_e2m1fn", "int4"), ("int2", "uint2"), ("uint2", "int2")])
def test_bitcast(tmp_path, source, target):
    """BitCast (opset 26) between same-width dtypes, from an input and from a computed tensor (a view),
    against onnx.reference (onnxruntime has no BitCast kernel)."""
    from onnx.reference import ReferenceEvaluator

    x = np.resize(values_of(source, 40), 40)
    nodes = [helper.make_node("BitCast", ["x"], ["y"], to=dtypes.to_onnx(target)),
             helper.make_node("Identity", ["x"], ["x2"]),
             helper.make_node("BitCast", ["x2"], ["z"], to=dtypes.to_onnx(target))]
    proto = model(nodes, [("x", dtypes.to_onnx(source), [40])],
                  [("y", dtypes.to_onnx(target), [40]), ("z", dtypes.to_onnx(target), [40])], opset=26)
    got = build(tmp_path, proto).run({"x": x})
    want = ReferenceEvaluator(proto).run(None, {"x": x})
    for name, w in zip("yz", want):
        assert got[name].dtype == w.dtype
        mask = (1 << SUB_BYTE.get(target, 8)) - 1
        np.testing.assert_array_equal(got[name].view(np.uint8) & mask, w.view(np.uint8) & mask)


def test_bitcast_constant_folds_and_constant_output(tmp_path):
    c = numpy_helper.from_array(np.array([1.0, -2.0, 0.5], np.float32), "c")
    proto = model([helper.make_node("BitCast", ["c"], ["k"], to=TensorProto.INT32),
                   helper.make_node("Add", ["x", "k"], ["y"])],
                  [("x", TensorProto.INT32, [3])], [("y", TensorProto.INT32, [3])], [c], opset=26)
    x = np.array([1, 2, 3], np.int32)
    got = build(tmp_path, proto).run({"x": x})["y"]
    np.testing.assert_array_equal(got, x + np.array([1.0, -2.0, 0.5], np.float32).view(np.int32))


def test_errors(tmp_path):
    with pytest.raises(edgewasm.errors.ModelFormatError, match="differ in width"):
        build(tmp_path, model([helper.make_node("BitCast", ["x"], ["y"], to=TensorProto.INT64)],
                              [("x", TensorProto.FLOAT, [3])], [("y", TensorProto.INT64, [3])], opset=26), "a")
    with pytest.raises(edgewasm.errors.ModelFormatError, match="differ in width"):
        build(tmp_path, model([helper.make_node("BitCast", ["x"], ["y"], to=TensorProto.INT8)],
                              [("x", TensorProto.INT4, [3])], [("y", TensorProto.INT8, [3])], opset=26), "b")
    with pytest.raises(edgewasm.errors.ModelFormatError, match="round_mode 'sideways'"):
        build(tmp_path, model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT8E8M0, round_mode="sideways")],
                              [("x", TensorProto.FLOAT, [3])], [("y", TensorProto.FLOAT8E8M0, [3])]), "c")
    with pytest.raises(UnsupportedModelError, match="STRING"):
        build(tmp_path, model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING)],
                              [("x", TensorProto.FLOAT, [3])], [("y", TensorProto.STRING, [3])]), "d")


@pytest.mark.parametrize("target", LOW)
def test_folded_cast_equals_run_time_cast(tmp_path, target):
    """A Cast of a constant folds at import to exactly what the module computes at run time (e8m0 specials,
    floats into int4 out of range, saturate=0 included)."""
    x = values_of("float32")
    attrs = {"saturate": 0} if target.startswith("float8") else {}
    if target == "float8_e8m0fnu":
        attrs["round_mode"] = "nearest"
    onnx_type = dtypes.to_onnx(target)
    proto = model([helper.make_node("Cast", ["c"], ["folded"], to=onnx_type, **attrs),
                   helper.make_node("Cast", ["x"], ["computed"], to=onnx_type, **attrs)],
                  [("x", TensorProto.FLOAT, [x.size])],
                  [("folded", onnx_type, [x.size]), ("computed", onnx_type, [x.size])],
                  [numpy_helper.from_array(x, "c")])
    got = build(tmp_path, proto).run({"x": x})
    same_bits(got["folded"], got["computed"])
    assert_cast_equal(got["computed"], expected_cast(x, "float32", target, attrs.get("saturate", 1),
                                                     attrs.get("round_mode", "up")), target)


MOVES = {
    "Transpose": ([helper.make_node("Transpose", ["x"], ["y"], perm=[2, 0, 1])], []),
    "Concat": ([helper.make_node("Concat", ["x", "x"], ["y"], axis=1)], []),
    "Slice": ([helper.make_node("Slice", ["x", "s", "e", "a"], ["y"])], [("s", [1]), ("e", [4]), ("a", [2])]),
    "Gather": ([helper.make_node("Gather", ["x", "i"], ["y"], axis=2)], [("i", [3, 0, 3])]),
    "Reshape": ([helper.make_node("Reshape", ["x", "s"], ["y"])], [("s", [4, 6])]),
    "Expand": ([helper.make_node("Expand", ["x", "s"], ["y"])], [("s", [2, 2, 3, 4])]),
    "Tile": ([helper.make_node("Tile", ["x", "r"], ["y"])], [("r", [1, 2, 1])]),
}


@pytest.mark.parametrize("op", MOVES)
@pytest.mark.parametrize("dtype", ["float8_e5m2", "float8_e8m0fnu", "int4", "uint2", "float4_e2m1fn"])
def test_data_movement_keeps_codes(tmp_path, op, dtype):
    """Low-precision tensors move through the any-element-size movement kernels unchanged."""
    from onnx.reference import ReferenceEvaluator

    nodes, consts = MOVES[op]
    inits = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in consts]
    x = every_code(dtype, 24).reshape(2, 3, 4)
    onnx_type = dtypes.to_onnx(dtype)
    probe = model(nodes, [("x", onnx_type, [2, 3, 4])], [("y", onnx_type, [])], inits)
    want = ReferenceEvaluator(probe).run(None, {"x": x})[0]
    proto = model(nodes, [("x", onnx_type, [2, 3, 4])], [("y", onnx_type, list(want.shape))], inits)
    got = build(tmp_path, proto).run({"x": x})["y"]
    same_bits(got, want)


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"])
def test_isnan_isinf_of_float8(tmp_path, dtype):
    """IsNaN and IsInf (opset 20) read float8 tensors: computed in float32 between casts (every code is
    exactly a float32), against onnx.reference over every code."""
    from onnx.reference import ReferenceEvaluator

    x = every_code(dtype)
    onnx_type = dtypes.to_onnx(dtype)
    nodes = [helper.make_node("IsNaN", ["x"], ["nan"]), helper.make_node("IsInf", ["x"], ["inf"]),
             helper.make_node("IsInf", ["x"], ["pos"], detect_negative=0),
             helper.make_node("IsInf", ["x"], ["neg"], detect_positive=0)]
    proto = model(nodes, [("x", onnx_type, [x.size])], [(n, TensorProto.BOOL, [x.size]) for n in ("nan", "inf", "pos", "neg")])
    got = build(tmp_path, proto).run({"x": x})
    for name, want in zip(("nan", "inf", "pos", "neg"), ReferenceEvaluator(proto).run(None, {"x": x})):
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    assert got["nan"].any() and (got["inf"].any() == (dtype == "float8_e5m2"))

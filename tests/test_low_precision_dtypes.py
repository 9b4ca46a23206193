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
from edgewasm.errors import InputError, UnsupportedModelError
from edgewasm.runtime.core import Model, Tensor, code_values, pack_codes, unpack_codes

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

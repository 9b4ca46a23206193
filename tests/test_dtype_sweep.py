"""Every op edgewasm imports, in every dtype its newest ONNX schema allows (tests/dtype_sweep.py):
compiled, run in wasmtime and compared with onnxruntime (or onnx's evaluator where onnxruntime has
no kernel), floats within each dtype's tolerance, integers and booleans exactly.

A pair that does not pass must be in KNOWN_GAPS with its reason (the list issue 13 still has to
close); a known gap that starts passing fails too, so the list only shrinks. Pairs without any
reference (neither onnxruntime nor onnx's evaluator computes them) and pairs out of the issue's
scope are reported with their reason, never counted as passed.
"""

from __future__ import annotations

import pytest

import dtype_sweep

OPS = dtype_sweep.swept_ops()

# (op, dtype): why edgewasm refuses it or gets it wrong today.
KNOWN_GAPS = {
    **{(op, "float64"): "computed in float32 only (refused)" for op in (
        "GRU", "LSTM", "RNN")},
    **{("GridSample", t): "GridSample on integers refused"
       for t in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")},
    **{("Resize", t): "linear Resize of integers: edgewasm truncates the float result as onnxruntime does for int8, "
       "uint8 and int32 (which pass); onnx's evaluator, the only reference for these, rounds to nearest"
       for t in ("int16", "uint16", "uint32", "int64", "uint64")},
    ("GridSample", "bool"): "GridSample on booleans refused",
}

MIN_PASSED = 1359  # pairs passing today (of 1393): fewer means the sweep lost templates or dtypes

_passed: dict[str, int] = {}


@pytest.fixture(scope="module")
def templates():
    return dtype_sweep.templates()


@pytest.mark.parametrize("op", OPS)
def test_every_dtype_the_schema_allows(op, templates, tmp_path):
    results = dtype_sweep.sweep_op(op, templates.get(op), tmp_path)
    assert results, f"{op}: nothing swept"
    _passed[op] = sum(r.status == "passed" for r in results)
    unexpected = [f"{r.dtype}: {r.status}: {r.reason}" for r in results
                  if r.status in ("failed", "refused") and (op, r.dtype) not in KNOWN_GAPS]
    assert not unexpected, f"{op} does not pass in:\n" + "\n".join(unexpected)
    closed = [r.dtype for r in results if r.status == "passed" and (op, r.dtype) in KNOWN_GAPS]
    assert not closed, f"{op} now passes in {closed}: remove them from KNOWN_GAPS"
    for r in results:
        assert r.status in ("passed", "failed", "refused", "out-of-scope", "no-reference"), (r.dtype, r.status)
        assert r.status == "passed" or r.reason, (r.dtype, r.status)


def test_the_sweep_covers_every_op_and_enough_pairs():
    if len(_passed) != len(OPS):
        pytest.skip("runs after the whole per-op sweep")
    assert sum(_passed.values()) >= MIN_PASSED, sum(_passed.values())


def test_retyping_converts_data_and_raises_the_opset(templates):
    """The sweep's own machinery: Relu's template retyped to int8 (opset 14 first allows it) and to
    bfloat16, with the data rounded and clipped into range."""
    import numpy as np

    case = dtype_sweep.retype(templates["Relu"], "int8")
    assert next(o.version for o in case.model.opset_import if o.domain in ("", "ai.onnx")) >= 14
    (vi, value), = case.inputs
    assert value.dtype == np.int8 and vi.type.tensor_type.elem_type == 3
    assert case.model.graph.output[0].type.tensor_type.elem_type == 3
    assert dtype_sweep.convert(np.array([-300.0, 1.4, 200.0]), "int8").tolist() == [-128, 1, 127]
    assert dtype_sweep.convert(np.array([0.0, 0.0]), "int32", "Div", 1).tolist() == [1, 1]
    assert dtype_sweep.dtype_tolerance("float64")[0] < 6e-8  # rounding through float32 must fail

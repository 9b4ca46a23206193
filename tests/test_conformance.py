"""ONNX backend conformance on wasmtime: every in-scope node case of every op (`--all`) with
onnxruntime as the anchor in the same run, the scope and binding rules, the check, and the CLI.

edgewasm passes every in-scope case (onnxruntime passes fewer in the same run); any case that stops
passing fails test_edgewasm_passes_every_in_scope_case with its reason.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

from edgewasm.conformance import (OUT_OF_SCOPE, TARGET_OPS, bindings, compare, fetch_wheel, load_cases, run_case,
                                  run_conformance, write_markdown)

IN_SCOPE = 1528  # node cases of onnx 1.22.0 in scope (of 1765; 237 out of scope, by reason below)
OUT_OF_SCOPE_CASES = {"domain": 37, "strings": 22, "sequences": 34, "random": 10, "loss": 104, "data-dependent": 21,
                      "ImageDecoder": 9}
MIN_ONNXRUNTIME_PASSED = 1450  # onnxruntime 1.32 passes 1472: fewer means the anchor itself broke


@pytest.fixture(scope="module")
def report():
    return run_conformance(all_ops=True, log=lambda message: None)


@pytest.fixture(scope="module")
def cases():
    ops = ["Relu", "Identity", "Gemm", "Conv", "Gather", "Reshape", "Cast", "NonZero", "Bernoulli", "Dropout",
           "Equal", "SoftmaxCrossEntropyLoss", "ai.onnx.ml::Binarizer", "ImageDecoder", "Range"]
    return {case.name: case for case in load_cases(fetch_wheel(), ops)}


def test_every_in_scope_case_runs_and_none_crashes(report):
    assert report.mode == "all" and len(report.outcomes) == IN_SCOPE
    assert len(report.outcomes) == sum(report.totals[s] for s in ("passed", "failed", "skipped"))
    assert len({o.case for o in report.outcomes}) == IN_SCOPE
    crashes = [f"{o.case}: {o.reason}" for o in report.outcomes if o.kind == "crash"]
    assert not crashes, "edgewasm raised an untyped exception:\n" + "\n".join(crashes)


def test_edgewasm_passes_every_in_scope_case(report):
    """Every in-scope node case passes (onnxruntime, the anchor, passes fewer): a case that stops
    passing names its op, dtype and reason here."""
    ours, theirs = report.totals["passed"], report.totals["onnxruntime"]
    assert theirs >= MIN_ONNXRUNTIME_PASSED, f"the onnxruntime anchor passes only {theirs}"
    missed = [f"{o.case} ({o.op}, {o.dtype}): {o.status}: {o.reason}" for o in report.outcomes if o.status != "passed"]
    assert not missed, f"{len(missed)} in-scope cases do not pass:\n" + "\n".join(missed)
    assert ours == IN_SCOPE >= theirs


def test_out_of_scope_cases_are_counted_apart_with_their_reason(report):
    counts = {key: sum(o.why == key for o in report.out_of_scope) for key in OUT_OF_SCOPE}
    assert counts == OUT_OF_SCOPE_CASES
    assert all(o.reason.strip() for o in report.out_of_scope)
    ran = {o.case for o in report.outcomes}
    assert not ran & {o.case for o in report.out_of_scope}
    assert len(ran) + len(report.out_of_scope) == 1765  # every case of the wheel, once


def test_every_non_pass_states_a_reason_and_onnxruntime_ran(report):
    for o in report.outcomes:
        assert o.status in ("passed", "failed", "skipped")
        assert (o.kind != "") == (o.status == "failed"), o
        if o.status != "passed":
            assert o.reason.strip() and "\n" not in o.reason, o
        assert o.ort.strip() and "\n" not in o.ort, o


def test_scope_by_reason(cases):
    verdict = {name: case.scope for name, case in cases.items()}
    assert verdict["test_identity_sequence"] == ("sequences", "input 'x' is a sequence")
    assert verdict["test_nonzero_example"][0] == "data-dependent"
    assert verdict["test_bernoulli"][0] == "random"
    assert verdict["test_training_dropout"] == (
        "random", "Dropout in training mode with a nonzero ratio draws a random mask")
    assert verdict["test_training_dropout_zero_ratio"] is None  # training mode, ratio 0: deterministic
    assert verdict["test_dropout_default"] is None
    assert verdict["test_equal_string"][0] == "strings"
    assert verdict["test_sce_mean"][0] == "loss"
    assert verdict["test_ai_onnx_ml_binarizer"] == ("domain", "uses the ai.onnx.ml domain")
    assert all(verdict[name][0] == "ImageDecoder" for name in verdict if name.startswith("test_image_decoder"))
    assert verdict["test_relu"] is None and verdict["test_range_float_type_positive_delta"] is None


def test_cases_are_classified_by_the_op_they_test(report):
    by_name = {o.case: o for o in report.outcomes}
    assert by_name["test_hardswish_expanded"].op == "HardSwish"  # HardSigmoid + Mul, expanding HardSwish
    assert by_name["test_softmax_axis_0_expanded"].op == "Softmax"
    assert by_name["test_castlike_FLOAT_to_DOUBLE_expanded"].op == "CastLike"
    assert by_name["test_equal"].dtype == "int32->bool" and by_name["test_relu"].dtype == "float32"
    assert {o.op for o in report.outcomes} >= set(TARGET_OPS)


def test_inputs_stay_at_run_time_unless_edgewasm_needs_them_constant(cases, report, tmp_path):
    by_name = {o.case: o for o in report.outcomes}
    assert by_name["test_gather_0"].baked == ()  # integer indices run in the module
    assert by_name["test_reshape_reordered_all_dims"].baked == ("shape",)  # the output shape must be known
    assert by_name["test_basic_conv_with_padding"].baked == ("W",)  # weights compiled in; W is float: third try
    assert bindings(cases["test_basic_conv_with_padding"]) == [["x", "W"], ["x"]]
    assert bindings(cases["test_reshape_reordered_all_dims"]) == [["data", "shape"], ["data"]]
    assert bindings(cases["test_gather_0"]) == [["data", "indices"], ["data"]]
    assert by_name["test_gather_0"].status == "passed"


def test_altered_expected_output_fails_at_the_tolerance(cases, tmp_path):
    case = cases["test_relu"]
    assert run_case(case, tmp_path).status == "passed"
    (info, expected), = case.outputs
    altered = expected.copy()
    altered.flat[3] += 2e-5 + 2e-3 * abs(altered.flat[3])  # just outside atol 1e-5 + rtol 1e-3
    outcome = run_case(dataclasses.replace(case, outputs=[(info, altered)]), tmp_path / "altered", onnxruntime=True)
    assert (outcome.status, outcome.kind) == ("failed", "mismatch")
    assert "1 of 60 values outside rtol 1e-3 + atol 1e-5" in outcome.reason
    assert outcome.ort.startswith("output 'y': 1 of 60 values outside")  # the anchor is held to the same check


def test_onnxruntime_outputs_in_types_numpy_lacks(cases):
    """bfloat16, float8 and int4 come back from onnxruntime as ml_dtypes arrays and pass the same check."""
    from edgewasm.conformance import anchor, run_onnxruntime

    for name, dtype in [("test_cast_FLOAT_to_BFLOAT16", ml_dtypes.bfloat16),
                        ("test_cast_FLOAT_to_FLOAT8E4M3FN", ml_dtypes.float8_e4m3fn),
                        ("test_cast_FLOAT_to_INT4", ml_dtypes.int4), ("test_cast_INT4_to_FLOAT", np.float32)]:
        case = cases[name]
        (info, expected), = case.outputs
        got = run_onnxruntime(case)[info.name]
        assert got.dtype == dtype == expected.dtype and got.shape == expected.shape, name
        assert anchor(case) == "passed", name


def test_browser_bits_that_differ_from_wasmtime_fail(cases, tmp_path):
    class OffByOneUlp:
        """Stands in for a BrowserSession whose engine rounds one value differently."""

        def run(self, bundle, inputs):
            import edgewasm

            outputs = edgewasm.load(bundle).run(inputs)
            for value in outputs.values():
                value.view(np.uint32).flat[0] ^= 1
            return outputs

    outcome = run_case(cases["test_gemm_default_matrix_bias"], tmp_path, session=OffByOneUlp())
    assert (outcome.status, outcome.kind) == ("failed", "parity")


def test_comparison_rules():
    assert compare("y", np.array([1, 2], np.int64), np.array([1, 2], np.int64)) is None
    assert "1 of 2 values differ" in compare("y", np.array([1, 3], np.int64), np.array([1, 2], np.int64))
    assert compare("y", np.array([True]), np.array([True])) is None
    assert "1 of 1 values differ" in compare("y", np.array([False]), np.array([True]))
    assert compare("y", np.array([np.nan, 1.0], np.float32), np.array([np.nan, 1.0009], np.float32)) is None
    assert compare("y", np.array([np.nan], np.float32), np.array([0.0], np.float32)) is not None
    assert compare("y", np.array([np.inf], np.float64), np.array([np.inf], np.float64)) is None
    assert compare("y", np.array([-np.inf], np.float64), np.array([np.inf], np.float64)) is not None
    assert "expected float32[2]" in compare("y", np.zeros(2, np.float64), np.zeros(2, np.float32))
    assert "expected float32[2]" in compare("y", np.zeros((2, 1), np.float32), np.zeros(2, np.float32))
    half = np.array([1.0, 2.0], ml_dtypes.bfloat16)
    assert compare("y", half, half.copy()) is None
    assert "values outside" in compare("y", np.array([1.0, 2.5], ml_dtypes.bfloat16), half)
    four = np.array([-8, 7], ml_dtypes.int4)
    assert compare("y", four, four.copy()) is None
    assert "1 of 2 values differ" in compare("y", np.array([-8, 6], ml_dtypes.int4), four)


def test_report_files(report, tmp_path):
    main, detail = write_markdown(report, tmp_path / "conformance.md")
    assert detail.name == "conformance-all.md"
    text, every = main.read_text(), detail.read_text()
    assert "edgewasm conformance --engine wasmtime --all" in text and "(conformance-all.md)" in text
    assert f"| edgewasm (wasmtime) | {report.totals['passed']} (" in text
    assert f"| onnxruntime | {report.totals['onnxruntime']} (" in text
    assert "| training losses | 104 |" in text and "## Why edgewasm misses, by cause" in text
    assert "| Relu | float32 |" in text
    for o in report.outcomes:
        assert f"| `{o.case}` |" in every
    for o in report.out_of_scope:
        assert f"| `{o.case}` | {o.op} |" in every


def test_cli_ops_filter_prints_only_those_ops(tmp_path):
    out = tmp_path / "conformance.md"
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "conformance", "--ops", "Relu,Gemm", "-o", out],
                            capture_output=True, text=True, timeout=300)
    lines = result.stdout.strip().splitlines()
    rows = [line.split("|")[1].strip() for line in lines if line.startswith("| ") and "---" not in line]
    assert rows == ["op", "Relu", "Gemm", "**total**"]
    final = re.fullmatch(r"(\d+) passed, (\d+) failed, (\d+) skipped; onnxruntime (\d+) passed of (\d+)", lines[-1])
    assert final, lines[-1]
    passed, failed, skipped, ort, cases = map(int, final.groups())
    assert passed + failed + skipped == cases == 13  # test_relu, test_relu_expanded_ver18 and the 11 Gemm cases
    assert ort == 13
    assert result.returncode == (1 if failed else 0), result.stderr
    assert "--ops Relu,Gemm" in out.read_text() and "| Gemm | float32 |" in out.read_text()
    assert "### Gemm" in out.read_text()  # the cases are in the one file


def test_cli_usage_errors(tmp_path):
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "conformance", "--ops", "Relu,Convv",
                             "-o", tmp_path / "x.md"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "no node test cases for Convv" in result.stderr
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "conformance", "--all", "--ops", "Relu",
                             "-o", tmp_path / "x.md"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "--all" in result.stderr
    assert not (tmp_path / "x.md").exists()

"""The kernel library loader: parsing kernel files, dependency closure, and the SIMD baseline."""

import re

import pytest
import wasmtime

from edgewasm.backend import kernels
from edgewasm.backend.kernels import _split_functions

EXPECTED_KERNELS = {
    "f32_gemm_4x8", "f32_gemm_4x8_ldsplat", "f32_gemm_2x16", "f32_gemm_2x16_u4", "f32_gemm_1x8", "f32_gemm_1x32", "f32_gemm_1x32_u4", "f32_gemm_store_tail",
    "f32_vexp", "f32_vexp_array", "f32_softmax",
    "f32_vadd", "f32_vadd_rows", "f32_vclamp",
    "f32_transpose", "f32_transpose_scalar",
    # f32_vunary.wat
    "f32x4_sqrt", "f32x4_log", "f32x4_sigmoid", "f32x4_tanh", "f32x4_erf", "f32x4_gelu", "f32x4_gelu_tanh",
    "f32x4_lrelu", "f32x4_hsigmoid", "f32x4_hswish",
    "f32_vsqrt", "f32_vlog", "f32_vsigmoid", "f32_vtanh", "f32_verf", "f32_vgelu", "f32_vgelu_tanh",
    "f32_vlrelu", "f32_vhsigmoid", "f32_vhswish",
    # f32_vbinary_nd.wat
    "f32x4_pow", "f32x4_binary", "f32_vbinary_nd",
    "x_copy_nd", "x_copy_dims", "f32_gemm_pack_b",
    "f32_logsoftmax", "f32_layernorm", "f32_layernorm_sum", "f32_rsum",
    "f32_resize_axis",
    "f32_igemm_4x8", "f32_igemm_4x8_ldsplat",
    "f32_winograd_input_2x2_3x3", "f32_winograd_output_2x2_3x3", "f32_winograd_weights_3x3",
    "f32_dwconv_p4c", "f32_dwconv_3x3p4c", "f32_dwconv_load_tail", "f32_dwconv_store_tail",
    "f32_maxpool_c4", "f32_avgpool_c4", "f32_gavgpool_c4",
    "f32_scaleshift_c4", "f32_pad_rows",
    # compression: f16_vcvt.wat, bitmask_expand.wat, qu8_dynquant.wat, qu8_vcvt.wat, qdu8_gemm.wat, qu8_gemm.wat,
    # qs16_gemm.wat, qu8_winograd.wat
    "f16_f32_vcvt", "f16_f32_x4", "x8_bitmask_expand", "x16_bitmask_expand", "x32_bitmask_expand",
    "qu8_dynquant", "f32_qu8_vcvt", "qu8_f32_vcvt", "qu8_dequantize_x4",
    "qu8_qc8w_gemm_4x8c2", "qu8_qc8w_gemm_4x8c2_ldsplat", "qu8_winograd_input_2x2_3x3", "qs16_s32_s16w_gemm_4x8c2",
    "qu8_winograd_output_2x2_3x3", "qs8_winograd_weights_3x3", "qu8_qc7w_gemm_4x8c4_relaxed", "qu8_qc7w_gemm_1x8c4_relaxed", "qu8_rowsum", "qu8_word4_x80", "qu8_qc8w_gemm_4x4c2", "qu8_qc8w_gemm_1x4c2", "qu8_requantize", "qu8_store4", "qu8_store_tail",
    "u8_im2col", "u8_transpose", "u8_maxpool_c16", "qu8_qc8w_dwconv_c16x2", "x8_lut", "qu8_vadd", "qu8_vmul_channels",
    "qs16_dynquant", "qds16_f32_qc16w_gemm_1x4c2", "qds16_f32_qc16w_gemm_4x4c2", "qds16_pair", "qds16_epilogue",
    "qdu8_f32_qc8w_gemm_4x4c2", "qdu8_f32_qc8w_gemm_1x4c2", "qdu8_pair", "qdu8_epilogue",
    "qdu8_store_tail",
    # in_f32_vcvt.wat: graph inputs of other dtypes
    "f64_f32_vcvt", "bf16_f32_vcvt", "x8_f32_vlut",
}


def test_library_defines_the_kernels():
    missing = EXPECTED_KERNELS - set(kernels.load_library())
    assert not missing, f"kernels the compiler calls are missing from the library: {sorted(missing)}"


def test_kernel_dir_holds_the_wat_files():
    names = {p.name for p in kernels.kernel_dir().glob("*.wat")}
    assert {"f32_gemm.wat", "f32_softmax.wat", "f32_vbinary.wat", "f32_transpose.wat"} <= names


def test_each_function_text_is_one_documented_func():
    for name, text in kernels.load_library().items():
        assert text.startswith(";;"), f"{name} has no leading doc comment"
        assert f"(func ${name}" in text
        assert text.rstrip().endswith(")")
        assert f";; ${name}" in text, f"{name}: the doc comment should name the function"


def test_load_library_returns_a_copy():
    kernels.load_library().clear()
    assert kernels.load_library()


def test_wat_functions_pulls_in_callees_once_sorted():
    text = kernels.wat_functions(["f32_vadd_rows", "f32_softmax", "f32_vadd_rows"])
    names = re.findall(r"^\(func \$(\S+)", text, re.M)
    assert names == ["f32_softmax", "f32_vadd", "f32_vadd_rows"]


def _balanced(text: str, start: int) -> str:
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i + 1]
    raise AssertionError("unbalanced")


def test_small_v128_helpers_are_inlined_and_loop_constants_hoisted():
    """backend/wat_inline.py: SiLU's helpers ($f32x4_swish -> $f32x4_sigmoid -> $f32_vexp) become
    part of $f32_vswish, and its loops read every v128 constant from a local set before them (V8
    rebuilds a v128.const at each use), set just before each loop. Helpers with branches stay
    functions of their own; a function with one loop per op sets only the running op's constants."""
    text = kernels.wat_functions(["f32_vswish"])
    assert re.findall(r"^\(func \$(\S+)", text, re.M) == ["f32_vswish"]
    assert "call $" not in text
    loops = [_balanced(text, m.start()) for m in re.finditer(r"\(loop", text)]
    assert len(loops) == 2 and not any("v128.const" in loop for loop in loops)
    before_first = text[:text.index("(loop")]
    assert before_first.count("v128.const") >= 10 and "(local.set $k0 (v128.const" in before_first
    dispatch = kernels.wat_functions(["f32_vunary_op"])
    assert "(call $f32x4_unary_op" in dispatch  # has returns: not inlined
    step = kernels.wat_functions(["f32_vchain_step"])
    erf_loop = _balanced(step, step.index("(loop $erf_loop"))
    assert "v128.const" not in erf_loop and "call $" not in erf_loop
    assert step[step.index("(loop $add_loop") - 200:step.index("(loop $add_loop")].count("(local.set $k") == 0


def test_wat_functions_accepts_a_single_name():
    assert kernels.wat_functions("f32_vadd_rows") == kernels.wat_functions(["f32_vadd_rows"])
    assert "(func $f32_vadd " in kernels.wat_functions("f32_vadd_rows")


def test_unknown_kernel_lists_known_ones():
    with pytest.raises(KeyError, match="f32_gemm_4x8"):
        kernels.wat_functions(["f32_gemm_9x9"])


def test_whole_library_is_baseline_simd128():
    """All kernels but the relaxed tier's assemble together and validate with relaxed SIMD switched
    off; each relaxed one needs it (its name says so: kernels.is_relaxed)."""
    config = wasmtime.Config()
    config.wasm_relaxed_simd = False
    engine = wasmtime.Engine(config)
    library = kernels.load_library()
    baseline = [name for name in library if not kernels.is_relaxed(name)]
    wat = f"(module (memory 1) {kernels.wat_functions(baseline)})"
    wasmtime.Module.validate(engine, wasmtime.wat2wasm(wat))
    relaxed = [name for name in library if kernels.is_relaxed(name)]
    assert relaxed
    for name in relaxed:
        with pytest.raises(wasmtime.WasmtimeError):
            wasmtime.Module.validate(engine, wasmtime.wat2wasm(f"(module (memory 1) {kernels.wat_functions([name])})"))


SAMPLE = """\
;; file header, not attached to any function

;; $first: doc line 1
;; doc line 2 mentions (call $not_a_dependency) and a stray )
(func $first (param $x i32) (result i32)
  (; block comment with ( parens (; nested ;) and call $also_not ;)
  (call $second (local.get $x)))
;; $second: "quoted ) paren in a comment"
(func $second (param $x i32) (result i32)
  (drop (i32.const 0)) ;; trailing ) comment
  (local.get $x))
"""


def test_parser_skips_comments_and_strings():
    functions = {name: (text, calls) for name, text, calls in _split_functions(SAMPLE, "sample.wat")}
    assert list(functions) == ["first", "second"]
    first_text, first_calls = functions["first"]
    assert first_text.startswith(";; $first: doc line 1")
    assert "file header" not in first_text
    assert first_calls == ("second",)
    second_text, second_calls = functions["second"]
    assert second_text.startswith(';; $second: "quoted')
    assert second_text.endswith("(local.get $x))")
    assert second_calls == ()


@pytest.mark.parametrize("source, message", [
    ("(func $a (nop)", "unbalanced"),
    ("(func $a))", "unbalanced"),
    ("(memory 1)", "only contain"),
    ("(func $a) stray", "outside a form"),
    ("(func $a (; open", "block comment"),
])
def test_parser_rejects_malformed_files(source, message):
    with pytest.raises(ValueError, match=message):
        _split_functions(source, "bad.wat")

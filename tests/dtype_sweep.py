"""Every op edgewasm imports, in every dtype its ONNX schema allows.

onnx's node test cases cover each op in a few dtypes only (mostly float32). The sweep takes one
node case per op as a template (a single default-domain node, in scope by conformance.scope) and
retypes it to every dtype of its primary type constraint (the type parameter of the node's first
input, or of its first output when the first input is fixed) in the op's newest schema: the graph
inputs, initializers and outputs bound to that parameter get the new element type, the template's
input data is converted (integers rounded and clipped to the dtype's range, booleans x != 0, a
zero divisor of an integer Div/Mod replaced by 1) and the model's opset is raised to the first
version of the op that allows the dtype when the template's does not.

The expected outputs come from onnxruntime (CPU) where it has a kernel for the retyped model and
passes the template itself, else from onnx's ReferenceEvaluator (its outputs in the declared
dtypes); FLOAT64_REFERENCES replaces both for float64 where both round through float32. An op's
dtypes (of one opset) are compiled as one merged model (one compile, one module); a refusal or an
error splits it into one model per dtype. Every input is at run time, else each node's first
input alone (never none: a node with only constant inputs would be folded at compile time, not
computed by the module), except inputs whose value is an output's shape. Outputs are compared
like conformance cases, with each float dtype's own tolerance:
float32 the numerics contract (atol 1e-5 + rtol 1e-4), float64 tight enough that rounding through
float32 fails (atol 1e-10 + rtol 1e-8), the narrower floats about two of their ulps. Input parameters
with the same allowed types as the primary one (Attention's Q and K/V, BatchNormalization's X and
statistics) move with it; Cast and EyeLike also sweep their output type (dtype "->T").

Run as a script (`python tests/dtype_sweep.py [OP ...]`) it prints every (op, dtype) that does not
pass, with the reason: the gap list.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import defs, numpy_helper

from edgewasm import conformance, dtypes, ops
from edgewasm.errors import UnsupportedModelError

# Node cases used as an op's template instead of the first by name (a richer or a valid one).
TEMPLATES = {
    "Cast": "test_cast_FLOAT_to_DOUBLE",
    "Clip": "test_clip",
    "Conv": "test_conv_with_strides_padding",
    "ConvTranspose": "test_convtranspose",
    "AveragePool": "test_averagepool_2d_pads",
    "MaxPool": "test_maxpool_2d_pads",
    "Resize": "test_resize_upsample_scales_linear",
    "Upsample": "test_upsample_nearest",
    "Split": "test_split_equal_parts_1d_opset18",
    "Pad": "test_constant_pad",
    "Gemm": "test_gemm_default_matrix_bias",
    "MatMul": "test_matmul_3d",
    "Pow": "test_pow",
    "Mod": "test_mod_mixed_sign_int32",
    "BitShift": "test_bitshift_left_uint32",
}

# (op, dtype) pairs the issue leaves out of scope, with the reason.
OUT_OF_SCOPE = {}
# Ops whose every dtype is out of scope, with the reason.
OUT_OF_SCOPE_OPS = {
    "Constant": "no input: its dtype is its value's (covered by every model's initializers)",
    "Compress": "its output shape depends on the data (the issue's scope)",
    **{op: "control flow: its dtypes are its body's, whose ops are swept themselves" for op in ("If", "Loop", "Scan")},
}
# Ops whose output type parameter (set by an attribute) is swept too, from the template's input dtype.
OUTPUT_SWEEPS = {"Cast": "T2", "EyeLike": "T2"}
# Same-width integer types BitCast's `to` takes for each swept input dtype.
BITCAST_TO = {1: "uint8", 2: "int16", 4: "int32", 8: "int64"}
SUB_BYTE_TWIN = {"int4": "uint4", "uint4": "int4", "float4_e2m1fn": "uint4", "int2": "uint2", "uint2": "int2"}


def dtype_tolerance(dtype: str) -> tuple[float, float]:
    """(rtol, atol) for outputs of `dtype`."""
    if dtype == "float32":
        return 1e-4, 1e-5
    if dtype == "float64":
        return 1e-8, 1e-10  # rounding through float32 costs up to 6e-8
    eps = float(np.finfo(dtypes.numpy_dtype(dtype)).eps) if dtype != "float8_e8m0fnu" else 1.0
    return 2 * eps, 2 * eps


@dataclass
class SweepCase:
    op: str
    dtype: str
    case: conformance.Case | None  # None when out of scope or without a reference
    status: str = ""  # passed | failed | refused | out-of-scope | no-reference
    reason: str = ""
    source: str = ""  # onnxruntime | reference


def swept_ops() -> list[str]:
    """The default-domain ops edgewasm imports (ops/ units, found by discovery)."""
    names = []
    for op in sorted(ops.IMPORTERS):
        try:
            defs.get_schema(op, domain="")
        except defs.SchemaError:
            continue  # another domain's op (com.microsoft)
        names.append(op)
    return names


def _templates() -> dict[str, conformance.Case]:
    cases = conformance.load_cases(conformance.fetch_wheel(), swept_ops())
    chosen: dict[str, conformance.Case] = {}
    for case in cases:
        nodes = list(case.model.graph.node)
        if (case.scope is not None or "_expanded" in case.name or len(nodes) != 1 or nodes[0].op_type != case.op
                or nodes[0].domain not in ("", "ai.onnx") or any(v is None for _, v in case.inputs + case.outputs)):
            continue
        if TEMPLATES.get(case.op) == case.name or (case.op not in chosen and case.op not in TEMPLATES):
            chosen[case.op] = case
        elif case.op not in chosen and TEMPLATES.get(case.op) not in {c.name for c in cases}:
            chosen[case.op] = case
    return {**_handmade(), **chosen}


def _handmade() -> dict[str, conformance.Case]:
    """Templates for ops onnx ships no node case of (the outputs from onnxruntime)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    specs = {
        "GlobalLpPool": ({"x": rng.standard_normal((1, 3, 4, 5)).astype(np.float32)}, {"p": 2}, 18),
        "MaxRoiPool": ({"X": rng.standard_normal((1, 2, 6, 6)).astype(np.float32),
                        "rois": np.array([[0, 0, 0, 3, 3], [0, 1, 2, 5, 5]], np.float32)},
                       {"pooled_shape": [2, 2]}, 18),
    }
    made = {}
    for op, (inputs, attrs, opset) in specs.items():
        node = helper.make_node(op, list(inputs), ["y"], **attrs)
        infos = [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in inputs.items()]
        y = ort.InferenceSession(helper.make_model(helper.make_graph([node], op, infos, [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]), opset_imports=[
            helper.make_opsetid("", opset)], ir_version=10).SerializeToString()).run(None, inputs)[0]
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y.shape))
        model = helper.make_model(helper.make_graph([node], op, infos, [out]),
                                  opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
        made[op] = conformance.Case(f"sweep_{op.lower()}", op, model, list(zip(model.graph.input, inputs.values())),
                                    [(model.graph.output[0], y)])
    return made


def _opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _param(type_str: str) -> str | None:
    return None if type_str.startswith("tensor(") or type_str.startswith("seq(") else type_str


def _allowed(schema, param: str) -> list[str]:
    names = []
    for constraint in schema.type_constraints:
        if constraint.type_param_str == param:
            for t in constraint.allowed_type_strs:
                if t.startswith("tensor(") and t != "tensor(string)" and "complex" not in t:
                    name = _tensor_name(t[len("tensor("):-1])
                    if name is not None:
                        names.append(name)
    return names


_ONNX_TYPE_WORDS = {"float": "float32", "double": "float64", "float16": "float16", "bfloat16": "bfloat16",
                    "int8": "int8", "uint8": "uint8", "int16": "int16", "uint16": "uint16", "int32": "int32",
                    "uint32": "uint32", "int64": "int64", "uint64": "uint64", "bool": "bool",
                    "float8e4m3fn": "float8_e4m3fn", "float8e4m3fnuz": "float8_e4m3fnuz", "float8e5m2": "float8_e5m2",
                    "float8e5m2fnuz": "float8_e5m2fnuz", "float8e8m0": "float8_e8m0fnu", "int4": "int4",
                    "uint4": "uint4", "float4e2m1": "float4_e2m1fn", "int2": "int2", "uint2": "uint2"}


def _tensor_name(word: str) -> str | None:
    return _ONNX_TYPE_WORDS.get(word)


def _primary(schema, node: onnx.NodeProto) -> tuple[str, str] | None:
    """(param, "input"|"output") of the type parameter swept: the first input's, else the first output's."""
    if schema.inputs and node.input:
        p = _param(schema.inputs[0].type_str)
        if p:
            return p, "input"
    if schema.outputs:
        p = _param(schema.outputs[0].type_str)
        if p:
            return p, "input" if any(_param(f.type_str) == p for f in schema.inputs) else "output"
    return None


def _formal(formals, index: int):
    if index < len(formals):
        return formals[index]
    last = formals[-1] if formals else None
    return last if last is not None and last.option == defs.OpSchema.FormalParameterOption.Variadic else None


def convert(value: np.ndarray, dtype: str, op: str = "", role: int = 0) -> np.ndarray:
    """The template's data as `dtype` (see the module docstring)."""
    target = dtypes.numpy_dtype(dtype)
    if dtype == "bool":
        return np.asarray(value) != 0
    if dtype in dtypes.INTEGERS or dtype in ("int4", "uint4", "int2", "uint2"):
        v = np.asarray(value)
        if v.dtype.kind == "f" or v.dtype.type.__module__ == "ml_dtypes":
            v = np.round(v.astype(np.float64) * (4 if np.abs(v.astype(np.float64)).max(initial=0) <= 2 else 1))
        info = (np.iinfo(target) if dtype in dtypes.INTEGERS else
                {"int4": (-8, 7), "uint4": (0, 15), "int2": (-2, 1), "uint2": (0, 3)}[dtype])
        lo, hi = (max(int(info.min), -2**62), min(int(info.max), 2**62)) if dtype in dtypes.INTEGERS else info
        with np.errstate(invalid="ignore"):
            out = np.clip(np.nan_to_num(v.astype(np.float64)), lo, hi).astype(np.int64).astype(target)
        if op in ("Div", "Mod") and role == 1:
            out = np.where(out == 0, np.asarray(1, target), out).astype(target)
        if op == "Pow" and role == 1:
            out = np.abs(out.astype(np.int64)).astype(target) % 3
        return out
    if op == "DequantizeLinear" and role == 2:
        return np.zeros_like(np.asarray(value), target)  # a float zero point must be 0
    return np.asarray(value).astype(np.float64).astype(target) if np.asarray(value).dtype != target else value


def _first_version_allowing(op: str, param: str, dtype: str, since: int) -> int | None:
    """The first opset >= since whose schema of `op` allows `dtype` for `param`."""
    newest = defs.get_schema(op, domain="").since_version
    for version in range(since, newest + 1):
        schema = defs.get_schema(op, version, domain="")
        if dtype in _allowed(schema, param):
            return max(version, since)
    return None


def retype(template: conformance.Case, dtype: str, param: str | None = None) -> conformance.Case | str:
    """The template retyped to `dtype` (its primary type parameter's, or `param`'s), or the reason it
    cannot be."""
    model = onnx.ModelProto()
    model.CopyFrom(template.model)
    node = model.graph.node[0]
    since = _opset(model)
    schema = defs.get_schema(node.op_type, since, domain="")
    primary = _primary(defs.get_schema(node.op_type, domain=""), node)
    if primary is None:
        return "no type parameter"
    param = param or primary[0]
    version = _first_version_allowing(node.op_type, param, dtype, since)
    if version is None:
        return f"{dtype} not allowed from opset {since}"
    if version != since:
        for o in model.opset_import:
            if o.domain in ("", "ai.onnx"):
                o.version = version
        schema = defs.get_schema(node.op_type, version, domain="")
    code = dtypes.to_onnx(dtype)
    allowed = sorted(_allowed(schema, param))
    inputs_params = {_param(f.type_str) for f in schema.inputs}
    params = {param} | {c.type_param_str for c in schema.type_constraints  # input parameters with the same
                        if c.type_param_str in inputs_params              # types move together
                        and sorted(_allowed(schema, c.type_param_str)) == allowed}
    bound_inputs = {name: i for i, name in enumerate(node.input)
                    if name and (f := _formal(schema.inputs, i)) is not None and _param(f.type_str) in params}
    bound_outputs = {name for i, name in enumerate(node.output)
                     if name and (f := _formal(schema.outputs, i)) is not None and _param(f.type_str) in params}
    for vi in list(model.graph.input) + list(model.graph.output):
        if vi.name in bound_inputs or vi.name in bound_outputs:
            vi.type.tensor_type.elem_type = code
    for t in model.graph.initializer:
        if t.name in bound_inputs:
            t.CopyFrom(numpy_helper.from_array(convert(numpy_helper.to_array(t), dtype, node.op_type,
                                                       bound_inputs[t.name]), t.name))
    for a in node.attribute:
        if node.op_type in OUTPUT_SWEEPS and param == OUTPUT_SWEEPS[node.op_type] and a.name in ("to", "dtype"):
            a.i = code
        if node.op_type == "BitCast" and a.name == "to":
            twin = SUB_BYTE_TWIN.get(dtype) or BITCAST_TO[dtypes.itemsize(dtype)]
            a.i = dtypes.to_onnx(twin)
            for vo in model.graph.output:
                vo.type.tensor_type.elem_type = a.i

    if node.op_type == "Mod" and dtypes.is_float(dtype):  # the spec's rule for float Mod
        del node.attribute[:]
        node.attribute.append(onnx.helper.make_attribute("fmod", 1))
    values = {vi.name: vi for vi in model.graph.input}
    inputs = []
    for vi, value in template.inputs:
        if vi.name in bound_inputs:
            value = convert(value, dtype, node.op_type, bound_inputs[vi.name])
        inputs.append((values[vi.name], value))
    outputs = [(vo, None) for vo in model.graph.output]
    case = conformance.Case(f"{template.name}__{dtype}", template.op, model, inputs, outputs)
    return case


def _attr(node: onnx.NodeProto, name: str, default):
    found = [onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name]
    return found[0] if found else default


def _erf(x: np.ndarray) -> np.ndarray:
    import math

    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _group_norm(case: conformance.Case) -> list[np.ndarray]:
    node = case.model.graph.node[0]
    x, scale, bias = (v for _, v in case.inputs)
    groups, eps = _attr(node, "num_groups", 1), _attr(node, "epsilon", 1e-5)
    n, c = x.shape[:2]
    rows = x.reshape(n, groups, -1)
    centered = rows - rows.mean(-1, keepdims=True)
    normed = (centered / np.sqrt((centered ** 2).mean(-1, keepdims=True) + eps)).reshape(x.shape)
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    return [normed * scale.reshape(per_channel) + bias.reshape(per_channel)]


def _grid_sample_f64(case: conformance.Case) -> list[np.ndarray]:
    """2-D bilinear GridSample with zero padding and align_corners 0 (the template's), in float64 with
    the grid widened (onnx's evaluator computes the coordinates in float32)."""
    node = case.model.graph.node[0]
    if (_attr(node, "mode", b"linear") not in (b"linear", b"bilinear") or _attr(node, "padding_mode", b"zeros") != b"zeros"
            or _attr(node, "align_corners", 0)):
        raise ValueError("only the template's bilinear / zeros / align_corners 0 has a float64 reference here")
    x, grid = (v for _, v in case.inputs)
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2, w + 2))
    padded[:, :, 1:-1, 1:-1] = x
    u = ((grid[..., 0].astype(np.float64) + 1) * w - 1) / 2  # [N, Ho, Wo]
    v = ((grid[..., 1].astype(np.float64) + 1) * h - 1) / 2
    u0, v0 = np.floor(u), np.floor(v)
    du, dv = u - u0, v - v0
    out = np.zeros((n, c) + u.shape[1:])
    for dy, wy in ((0, 1 - dv), (1, dv)):
        for dx, wx in ((0, 1 - du), (1, du)):
            yy = np.clip(v0 + dy + 1, 0, h + 1).astype(np.int64)  # outside reads the zero border
            xx = np.clip(u0 + dx + 1, 0, w + 1).astype(np.int64)
            taps = np.stack([padded[b][:, yy[b], xx[b]] for b in range(n)])
            out += taps * (wy * wx)[:, None]
    return [out]


def _attention_f64(case: conformance.Case) -> list[np.ndarray]:
    """softmax(Q K^T / sqrt(head)) V for 3-D Q, K, V without mask, past, causality or softcap (the
    template's); onnxruntime's float64 Attention is off by up to 4e-9."""
    node = case.model.graph.node[0]
    if len(case.inputs) != 3 or {a.name for a in node.attribute} - {"q_num_heads", "kv_num_heads"} or len(node.output) > 1:
        raise ValueError("only the template's plain 3-D attention has a float64 reference here")
    q, k, v = (x for _, x in case.inputs)
    heads, kv_heads = _attr(node, "q_num_heads", 1), _attr(node, "kv_num_heads", 1)
    def split(x, h):
        return x.reshape(x.shape[0], x.shape[1], h, -1).transpose(0, 2, 1, 3)
    qs, ks, vs = split(q, heads), split(k, kv_heads), split(v, kv_heads)
    ks, vs = (np.repeat(t, heads // kv_heads, axis=1) for t in (ks, vs))
    logits = qs @ ks.transpose(0, 1, 3, 2) / np.sqrt(qs.shape[-1])
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    y = p @ vs
    return [y.transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], -1)]


# float64 references (numpy, per op) where onnxruntime has no float64 kernel or is off in float64
# (GroupNormalization by 1.4e-7, Attention by 4e-9) and onnx's evaluator rounds through float32 (its
# Erf is float32-accurate, its GridSample computes coordinates in float32).
FLOAT64_REFERENCES = {
    "Erf": lambda case: [_erf(case.inputs[0][1])],
    "Gelu": lambda case: [0.5 * case.inputs[0][1] * (1 + _erf(case.inputs[0][1] / np.sqrt(2)))],
    "GroupNormalization": _group_norm,
    "GridSample": _grid_sample_f64,
    "Attention": _attention_f64,
}


def ort_trusted(template: conformance.Case) -> bool:
    """Whether onnxruntime passes the template node case itself (else the reference is used for every dtype)."""
    return conformance.anchor(template) == "passed"


def expected(case: conformance.Case, trust_ort: bool = True) -> tuple[list[np.ndarray], str] | str:
    """(outputs, "onnxruntime"|"reference") or the reason neither computes the case; the reference's
    outputs in the dtypes the model declares (onnx's evaluator widens some)."""
    ort_reason = "not used: it fails the template node case"
    first = case.inputs[0][1] if case.inputs else None
    if first is not None and first.dtype == np.float64 and case.op in FLOAT64_REFERENCES:
        if case.model.graph.node[0].op_type != "Gelu" or _attr(case.model.graph.node[0], "approximate", b"none") == b"none":
            return FLOAT64_REFERENCES[case.op](case), "numpy float64"
    if trust_ort:
        try:
            results = conformance.run_onnxruntime(case)
            return [results[vo.name] for vo, _ in case.outputs], "onnxruntime"
        except Exception as ort_exc:  # no kernel for this dtype
            ort_reason = conformance._first_line(ort_exc)[:120]
    try:
        from onnx.reference import ReferenceEvaluator

        got = ReferenceEvaluator(case.model).run(None, {vi.name: v for vi, v in case.inputs})
        declared = [dtypes.numpy_dtype(dtypes.from_onnx(vo.type.tensor_type.elem_type)) for vo, _ in case.outputs]
        return [np.asarray(g).astype(d) for g, d in zip(got, declared)], "reference"
    except Exception as ref_exc:
        return (f"onnxruntime: {ort_reason}; "
                f"reference: {type(ref_exc).__name__}: {conformance._first_line(ref_exc)[:120]}")


def sweep_op(op: str, template: conformance.Case | None, workdir: Path) -> list[SweepCase]:
    """Every dtype of `op`'s primary type parameter, checked (see the module docstring)."""
    schema = defs.get_schema(op, domain="")
    if op in OUT_OF_SCOPE_OPS:
        return [SweepCase(op, "*", None, "out-of-scope", OUT_OF_SCOPE_OPS[op])]
    if template is None:
        return [SweepCase(op, "*", None, "no-template", "no single-node in-scope node case to retype")]
    primary = _primary(schema, template.model.graph.node[0])
    if primary is None:
        return [SweepCase(op, "*", None, "out-of-scope", "no type parameter (fixed dtypes, covered by node cases)")]
    results = []
    trust_ort = ort_trusted(template)
    sweeps = [(primary[0], dtype) for dtype in _allowed(schema, primary[0])]
    if op in OUTPUT_SWEEPS:
        sweeps += [(OUTPUT_SWEEPS[op], dtype) for dtype in _allowed(schema, OUTPUT_SWEEPS[op])]
    for param, dtype in sweeps:  # retyped, and the expected outputs
        result = SweepCase(op, dtype if param == primary[0] else f"->{dtype}", None)
        results.append(result)
        if (op, result.dtype) in OUT_OF_SCOPE:
            result.status, result.reason = "out-of-scope", OUT_OF_SCOPE[(op, result.dtype)]
            continue
        case = retype(template, dtype, param)
        if isinstance(case, str):
            result.status, result.reason = "out-of-scope", case
            continue
        result.case = case
        want = expected(case, trust_ort)
        if isinstance(want, str):
            result.status, result.reason = "no-reference", want
            continue
        values, result.source = want
        case.outputs = [(vo, v) for (vo, _), v in zip(case.outputs, values)]
    pending = [r for r in results if not r.status]
    for version in sorted({_opset(r.case.model) for r in pending}):
        _check([r for r in pending if _opset(r.case.model) == version], workdir)
    return results


def merge(cases: list[conformance.Case]) -> conformance.Case:
    """One model holding every case's node side by side (names suffixed by the case's index): one
    compile and one module for the lot."""
    model = onnx.ModelProto()
    model.CopyFrom(cases[0].model)
    graph = model.graph
    for field in ("node", "input", "output", "initializer", "value_info"):
        del getattr(graph, field)[:]
    inputs, outputs = [], []
    for k, case in enumerate(cases):
        def rename(name, k=k):
            return f"{name}__{k}" if name else name
        source = case.model.graph
        for node in source.node:
            copy = graph.node.add()
            copy.CopyFrom(node)
            copy.name = rename(node.name or node.op_type)
            copy.input[:] = [rename(n) for n in node.input]
            copy.output[:] = [rename(n) for n in node.output]
        for t in source.initializer:
            graph.initializer.add().CopyFrom(t)
            graph.initializer[-1].name = rename(t.name)
        for vi in source.input:
            graph.input.add().CopyFrom(vi)
            graph.input[-1].name = rename(vi.name)
        for vo in source.output:
            graph.output.add().CopyFrom(vo)
            graph.output[-1].name = rename(vo.name)
        names = {vi.name: vi for vi in graph.input}
        inputs += [(names[rename(vi.name)], v) for vi, v in case.inputs]
        outs = {vo.name: vo for vo in graph.output}
        outputs += [(outs[rename(vo.name)], v) for vo, v in case.outputs]
    return conformance.Case(f"{cases[0].name}__merged", cases[0].op, model, inputs, outputs)


def _compile(case: conformance.Case, bindings: list[list[str]], workdir: Path):
    """(bundle, runtime inputs) of the first binding edgewasm accepts: every input at run time, else
    each swept node's first input alone (the others compiled in). Never a binding with no run-time
    input, which would fold the node at compile time instead of computing it in the module."""
    from edgewasm.compiler import compile_model

    refusal = None
    bindings = [b for i, b in enumerate(bindings) if b and b not in bindings[:i]]
    for k, runtime in enumerate(bindings):  # grows while refusals name shape inputs
        bundle = workdir / f"{case.name}.{k}"
        try:
            compile_model(conformance._bind(case, runtime).SerializeToString(), bundle, name="sweep")
        except UnsupportedModelError as exc:
            refusal = refusal or exc
            shape_values = conformance.SHAPE_VALUE.search(str(exc))
            if shape_values:  # an output's shape is these inputs' value: compiled in, as conformance does
                named = set(re.findall(r"'([^']*)'", shape_values.group(1)))
                rest = [vi.name for vi, _ in case.inputs if vi.name not in named]
                if rest not in bindings:
                    bindings.append(rest)
                continue
            if not conformance.needs_constant(exc):
                raise
            continue
        return bundle, {vi.name: v for vi, v in case.inputs if vi.name in runtime}
    raise refusal


def _check(pending: list[SweepCase], workdir: Path) -> None:
    """Compile and run the cases in one merged model; on a refusal or an error, each on its own (so
    every dtype gets its own verdict)."""
    import edgewasm

    if not pending:
        return
    case = merge([r.case for r in pending]) if len(pending) > 1 else pending[0].case
    try:
        firsts = [f"{r.case.inputs[0][0].name}__{k}" if len(pending) > 1 else r.case.inputs[0][0].name
                  for k, r in enumerate(pending) if r.case.inputs]
        bundle, inputs = _compile(case, [[vi.name for vi, _ in case.inputs], firsts], workdir)
        got = edgewasm.load(bundle).run(inputs)
    except Exception as exc:  # noqa: BLE001 - a refusal or a crash: its reason, per case
        if len(pending) > 1:
            for r in pending:
                _check([r], workdir)
            return
        r = pending[0]
        if isinstance(exc, UnsupportedModelError):
            r.status, r.reason = "refused", conformance._first_line(exc)
        else:
            r.status, r.reason = "failed", f"{type(exc).__name__}: {conformance._first_line(exc)}"
        return
    outputs = iter(case.outputs)
    for r in pending:
        reasons = []
        for _ in r.case.outputs:
            vo, want_value = next(outputs)
            want_value = np.asarray(want_value)
            out_dtype = dtypes.of_array(want_value)
            rtol, atol = dtype_tolerance(out_dtype) if conformance.is_float_dtype(want_value.dtype) else (0, 0)
            reason = conformance.compare(vo.name, got.get(vo.name), want_value, rtol, atol)
            if reason:
                reasons.append(f"{reason} (against {r.source})")
        r.status, r.reason = ("failed", "; ".join(reasons)) if reasons else ("passed", "")


_TEMPLATES: dict[str, conformance.Case] | None = None


def templates() -> dict[str, conformance.Case]:
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = _templates()
    return _TEMPLATES


def main(argv: list[str]) -> int:
    import time

    chosen = templates()
    wanted = argv or swept_ops()
    counts: dict[str, int] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for op in wanted:
            t = time.monotonic()
            for r in sweep_op(op, chosen.get(op), Path(tmp)):
                counts[r.status] = counts.get(r.status, 0) + 1
                if r.status != "passed":
                    print(f"{op:24} {r.dtype:16} {r.status:13} {r.reason}", flush=True)
            if time.monotonic() - t > 3:
                print(f"# {op} took {time.monotonic() - t:.1f} s", flush=True)
    print(f"# {counts} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""LSTM, GRU and RNN (ops/recurrent.py, unrolled by frontend/recurrent.py) through the public API:
edgewasm.compile / load / run in wasmtime against onnxruntime on the original graph (atol 1e-5 +
rtol 1e-4), over directions, every activation with its alpha/beta, clip, peepholes,
input_forget, linear_before_reset, initial states (absent, constant, run-time inputs), B absent,
sequence_lens, output subsets, opsets and both layouts.

onnxruntime refuses layout=1 ("Batchwise recurrent operations are not supported"), so a layout-1
model is checked against onnxruntime on the same layer written in layout 0 with Transposes
around it, and against onnx's reference evaluator on the original graph.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import ModelFormatError, UnsupportedModelError
from oracles import ort_outputs

FLOAT = TensorProto.FLOAT
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
STATES = {"LSTM": ("Y", "Y_h", "Y_c"), "GRU": ("Y", "Y_h"), "RNN": ("Y", "Y_h")}


def rnn_model(op, *, seq=5, batch=2, inputs=3, hidden=4, direction="forward", attrs=None, bias=True,
              lens=None, init_h=None, init_c=None, peepholes=False, outputs=None, layout=0, opset=17, seed=0,
              x_const=False, scale=0.6):
    """One recurrent node with constant weights; init_h / init_c: None (absent), "const" or
    "input" (a run-time graph input). Returns (model, feeds)."""
    rng = np.random.default_rng(seed)
    D, G, H = (2 if direction == "bidirectional" else 1), GATES[op], hidden

    def draw(*shape):
        return np.asarray(rng.standard_normal(shape) * scale, np.float32)

    x_shape = [seq, batch, inputs] if layout == 0 else [batch, seq, inputs]
    state_shape = [D, batch, H] if layout == 0 else [batch, D, H]
    consts = {"W": draw(D, G * H, inputs), "R": draw(D, G * H, H)}
    names = ["X", "W", "R", ""]
    if bias:
        consts["B"] = draw(D, 2 * G * H)
        names[3] = "B"
    feeds, graph_inputs = {}, []
    x = draw(*x_shape) * 2
    if x_const:
        consts["X"] = x
    else:
        feeds["X"] = x
        graph_inputs.append(helper.make_tensor_value_info("X", FLOAT, x_shape))
    names.append("")
    if lens is not None:
        consts["lens"] = np.asarray(lens, np.int32)
        names[4] = "lens"
    for name, mode in (("init_h", init_h), ("init_c", init_c)):
        if name == "init_c" and op != "LSTM":
            break
        names.append(name if mode else "")
        if mode == "const":
            consts[name] = draw(*state_shape)
        elif mode == "input":
            feeds[name] = draw(*state_shape)
            graph_inputs.append(helper.make_tensor_value_info(name, FLOAT, state_shape))
    if peepholes:
        names.append("P")
        consts["P"] = draw(D, 3 * H)
    while names and not names[-1]:
        names.pop()
    outputs = list(outputs or STATES[op])
    node_attrs = dict(hidden_size=H, direction=direction, **(attrs or {}))
    if layout:
        node_attrs["layout"] = layout
    node = helper.make_node(op, names, outputs, **node_attrs)
    graph = helper.make_graph([node], "rnn", graph_inputs,
                              [helper.make_tensor_value_info(o, FLOAT, None) for o in outputs if o],
                              [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model, strict_mode=True).graph.output}
    for o in model.graph.output:
        o.type.CopyFrom(inferred[o.name].type)
    onnx.checker.check_model(model, full_check=True)
    return model, feeds


def layout0_twin(model: onnx.ModelProto) -> onnx.ModelProto:
    """The layout-1 layer in layout 0 with Transposes around it (onnxruntime runs only layout 0)."""
    twin = onnx.ModelProto()
    twin.CopyFrom(model)
    g = twin.graph
    node = g.node[0]
    for a in list(node.attribute):
        if a.name == "layout":
            node.attribute.remove(a)
    pre, post = [], []
    constants = {i.name: i for i in g.initializer}
    for index in (0, 5, 6):  # X [B, S, I] -> [S, B, I]; states [B, D, H] -> [D, B, H]
        if len(node.input) > index and node.input[index]:
            name = node.input[index]
            if name in constants:
                value = numpy_helper.to_array(constants[name]).transpose(1, 0, 2)
                constants[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(value), name))
                continue
            pre.append(helper.make_node("Transpose", [name], [f"{name}_t"], perm=[1, 0, 2]))
            node.input[index] = f"{name}_t"
    for index, out in enumerate(node.output):
        if out:
            perm = [2, 0, 1, 3] if index == 0 else [1, 0, 2]  # Y [S, D, B, H] -> [B, S, D, H]
            post.append(helper.make_node("Transpose", [f"{out}_t"], [out], perm=perm))
            node.output[index] = f"{out}_t"
    nodes = pre + [node] + post
    del g.node[:]
    g.node.extend(nodes)
    return twin


def check(tmp_path, model, feeds, reference_too=True):
    """Compile, run, compare with onnxruntime (the layout-0 twin for layout 1) and, for the
    layer's reference.onnx, onnxruntime on it; returns edgewasm's outputs."""
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    got = edgewasm.load(tmp_path / "bundle").run(feeds)
    layout = next((a.i for a in model.graph.node[0].attribute if a.name == "layout"), 0)
    want = ort_outputs(layout0_twin(model) if layout else model, feeds)
    assert set(got) == set(want)
    for name in want:
        assert got[name].dtype == np.float32 and got[name].shape == want[name].shape, name
        np.testing.assert_allclose(got[name], want[name], atol=1e-5, rtol=1e-4, err_msg=name)
    if reference_too:
        reference = run_onnxruntime(tmp_path / "bundle", feeds)
        for name in want:
            np.testing.assert_allclose(reference[name], want[name], atol=1e-5, rtol=1e-4, err_msg=name)
    return got


def compile_error(tmp_path, model):
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    edgewasm.compile(path, tmp_path / "bad_bundle")


DIRECTIONS = ["forward", "reverse", "bidirectional"]
SHAPES = [(1, 1, 1, 1), (5, 2, 3, 4), (7, 3, 5, 9), (3, 4, 16, 8)]  # seq, batch, input, hidden


# -- directions, shapes, outputs --------------------------------------------------------------

@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_directions_and_shapes(tmp_path, op, direction, shape):
    seq, batch, inputs, hidden = shape
    model, feeds = rnn_model(op, seq=seq, batch=batch, inputs=inputs, hidden=hidden, direction=direction,
                             seed=sum(shape))
    check(tmp_path, model, feeds)


@pytest.mark.parametrize("op, outputs", [("LSTM", ["", "Y_h"]), ("LSTM", ["", "", "Y_c"]), ("LSTM", ["Y"]),
                                         ("LSTM", ["", "Y_h", "Y_c"]), ("GRU", ["", "Y_h"]), ("GRU", ["Y"]),
                                         ("RNN", ["", "Y_h"]), ("RNN", ["Y"])])
def test_any_subset_of_the_outputs(tmp_path, op, outputs):
    model, feeds = rnn_model(op, direction="bidirectional", outputs=outputs)
    check(tmp_path, model, feeds)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("opset", [7, 14, 22])
def test_opsets(tmp_path, op, opset):
    model, feeds = rnn_model(op, direction="bidirectional", opset=opset, init_h="input")
    check(tmp_path, model, feeds)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_bias_absent(tmp_path, op):
    model, feeds = rnn_model(op, direction="bidirectional", bias=False)
    check(tmp_path, model, feeds)


def test_two_layers_long_sequence(tmp_path):
    """Two bidirectional LSTMs stacked as PyTorch exports them, over 64 steps."""
    seq, batch, inputs, hidden = 64, 2, 6, 10
    rng = np.random.default_rng(5)
    consts, nodes, x, width = {}, [], "X", inputs
    for layer in range(2):
        consts.update({f"W{layer}": np.asarray(rng.standard_normal((2, 4 * hidden, width)) * 0.3, np.float32),
                       f"R{layer}": np.asarray(rng.standard_normal((2, 4 * hidden, hidden)) * 0.3, np.float32),
                       f"B{layer}": np.asarray(rng.standard_normal((2, 8 * hidden)) * 0.3, np.float32),
                       f"shape{layer}": np.array([seq, batch, 2 * hidden], np.int64)})
        nodes += [helper.make_node("LSTM", [x, f"W{layer}", f"R{layer}", f"B{layer}"], [f"Y{layer}", f"H{layer}"],
                                   hidden_size=hidden, direction="bidirectional"),
                  helper.make_node("Transpose", [f"Y{layer}"], [f"T{layer}"], perm=[0, 2, 1, 3]),
                  helper.make_node("Reshape", [f"T{layer}", f"shape{layer}"], [f"X{layer + 1}"])]
        x, width = f"X{layer + 1}", 2 * hidden
    graph = helper.make_graph(nodes, "stack", [helper.make_tensor_value_info("X", FLOAT, [seq, batch, inputs])],
                              [helper.make_tensor_value_info(x, FLOAT, [seq, batch, 2 * hidden]),
                               helper.make_tensor_value_info("H1", FLOAT, [2, batch, hidden])],
                              [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    check(tmp_path, model, {"X": np.asarray(rng.standard_normal((seq, batch, inputs)), np.float32)})


# -- activations -------------------------------------------------------------------------------

ACTIVATIONS = [("Relu", None, None), ("Tanh", None, None), ("Sigmoid", None, None), ("Affine", 0.7, -0.2),
               ("LeakyRelu", 0.3, None), ("ThresholdedRelu", 0.25, None), ("ScaledTanh", 1.3, 0.6),
               ("HardSigmoid", 0.3, 0.4), ("Elu", 0.8, None), ("Softsign", None, None), ("Softplus", None, None)]
OPTIONAL_NAMES = [a[0] for a in ACTIVATIONS]


def _activation_attrs(names_and_params):
    names = [n for n, _, _ in names_and_params]
    alphas = [a for _, a, _ in names_and_params if a is not None]
    betas = [b for _, _, b in names_and_params if b is not None]
    attrs = {"activations": names}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=OPTIONAL_NAMES)
@pytest.mark.parametrize("position", [0, 1, 2])
def test_lstm_activations(tmp_path, activation, position):
    acts = [("Sigmoid", None, None), ("Tanh", None, None), ("Tanh", None, None)]
    acts[position] = activation
    model, feeds = rnn_model("LSTM", attrs=_activation_attrs(acts), init_h="input", init_c="input", scale=0.4)
    check(tmp_path, model, feeds)


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=OPTIONAL_NAMES)
@pytest.mark.parametrize("position", [0, 1])
@pytest.mark.parametrize("lbr", [0, 1])
def test_gru_activations(tmp_path, activation, position, lbr):
    acts = [("Sigmoid", None, None), ("Tanh", None, None)]
    acts[position] = activation
    attrs = dict(_activation_attrs(acts), linear_before_reset=lbr)
    model, feeds = rnn_model("GRU", attrs=attrs, init_h="input", scale=0.4)
    check(tmp_path, model, feeds)


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=OPTIONAL_NAMES)
def test_rnn_activations(tmp_path, activation):
    model, feeds = rnn_model("RNN", attrs=_activation_attrs([activation]), init_h="input", scale=0.4)
    check(tmp_path, model, feeds)


def test_per_direction_activation_lists(tmp_path):
    """Bidirectional: six LSTM activations, alpha and beta consumed in order across both directions."""
    acts = [("HardSigmoid", 0.25, 0.45), ("Affine", 0.5, 0.1), ("ScaledTanh", 0.9, 1.1),
            ("Sigmoid", None, None), ("LeakyRelu", 0.2, None), ("Elu", 0.6, None)]
    model, feeds = rnn_model("LSTM", direction="bidirectional", attrs=_activation_attrs(acts), init_h="input")
    check(tmp_path, model, feeds)
    acts = [("Sigmoid", None, None), ("Softsign", None, None), ("HardSigmoid", 0.3, 0.6), ("ThresholdedRelu", 0.1, None)]
    model, feeds = rnn_model("GRU", direction="bidirectional", attrs=_activation_attrs(acts))
    check(tmp_path, model, feeds)
    model, feeds = rnn_model("RNN", direction="bidirectional",
                             attrs={"activations": ["LeakyRelu", "ScaledTanh"], "activation_alpha": [0.2, 0.7],
                                    "activation_beta": [0.0, 1.4]})
    check(tmp_path, model, feeds)


@pytest.mark.parametrize("op, acts", [("LSTM", ["LeakyRelu", "HardSigmoid", "Elu"]),
                                      ("LSTM", ["Sigmoid", "ThresholdedRelu", "Affine"]),
                                      ("GRU", ["HardSigmoid", "LeakyRelu"]), ("RNN", ["LeakyRelu"]),
                                      ("RNN", ["HardSigmoid"])])
def test_activation_defaults(tmp_path, op, acts):
    """No activation_alpha / activation_beta: onnxruntime's defaults (LeakyRelu 0.01, HardSigmoid
    0.2 / 0.5, Elu 1, Affine and ThresholdedRelu 0)."""
    model, feeds = rnn_model(op, attrs={"activations": acts}, scale=0.5)
    check(tmp_path, model, feeds)


def test_softplus_of_large_inputs(tmp_path):
    model, feeds = rnn_model("RNN", attrs={"activations": ["Softplus"]}, scale=0.2)
    check(tmp_path, model, feeds)


# -- clip, peepholes, input_forget, linear_before_reset ----------------------------------------

@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("clip", [0.3, 1.5])
def test_clip(tmp_path, op, clip):
    model, feeds = rnn_model(op, direction="bidirectional", attrs={"clip": clip}, init_h="input", scale=1.0)
    check(tmp_path, model, feeds)


@pytest.mark.parametrize("peepholes", [False, True])
@pytest.mark.parametrize("input_forget", [0, 1])
@pytest.mark.parametrize("clip", [None, 0.8])
def test_lstm_peepholes_and_input_forget(tmp_path, peepholes, input_forget, clip):
    attrs = {"input_forget": input_forget} | ({"clip": clip} if clip else {})
    model, feeds = rnn_model("LSTM", direction="bidirectional", attrs=attrs, peepholes=peepholes,
                             init_h="input", init_c="input")
    check(tmp_path, model, feeds)


def test_lstm_peepholes_from_zero_state(tmp_path):
    model, feeds = rnn_model("LSTM", peepholes=True, attrs={"activations": ["HardSigmoid", "Tanh", "Softsign"]})
    check(tmp_path, model, feeds)


@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("bias", [True, False])
def test_gru_linear_before_reset(tmp_path, lbr, direction, bias):
    model, feeds = rnn_model("GRU", direction=direction, attrs={"linear_before_reset": lbr}, bias=bias,
                             init_h="input")
    check(tmp_path, model, feeds)


# -- initial states ----------------------------------------------------------------------------

STATE_MODES = [None, "const", "input"]


@pytest.mark.parametrize("op, init_h, init_c", [("LSTM", h, c) for h in STATE_MODES for c in STATE_MODES]
                         + [(op, h, None) for op in ("GRU", "RNN") for h in STATE_MODES])
def test_initial_states(tmp_path, op, init_h, init_c):
    model, feeds = rnn_model(op, direction="bidirectional", init_h=init_h, init_c=init_c, seed=3)
    check(tmp_path, model, feeds)


def test_runtime_states_change_the_outputs(tmp_path):
    """The same module run on two initial states gives onnxruntime's two answers."""
    model, feeds = rnn_model("LSTM", direction="bidirectional", init_h="input", init_c="input")
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    module = edgewasm.load(tmp_path / "b")
    first = module.run(feeds)
    other = dict(feeds, init_h=feeds["init_h"] * -2, init_c=feeds["init_c"] + 1)
    second = module.run(other)
    for got, inputs in ((first, feeds), (second, other)):
        want = ort_outputs(model, inputs)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-5, rtol=1e-4)
    assert not np.allclose(first["Y_h"], second["Y_h"])


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_constant_x_with_runtime_state(tmp_path, op):
    """X a constant and the initial state an input: the input projection is folded at compile time."""
    model, feeds = rnn_model(op, direction="bidirectional", x_const=True, init_h="input",
                             init_c="const" if op == "LSTM" else None)
    check(tmp_path, model, feeds)


# -- sequence_lens -----------------------------------------------------------------------------

LENGTHS = [[5, 5, 5], [3, 3, 3], [5, 2, 4], [1, 5, 3], [2, 0, 5]]


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("lens", LENGTHS, ids=lambda v: "-".join(map(str, v)))
def test_sequence_lens(tmp_path, op, direction, lens):
    init_c = "input" if op == "LSTM" else None
    model, feeds = rnn_model(op, seq=5, batch=3, direction=direction, lens=lens, init_h="input", init_c=init_c,
                             seed=len(lens) + sum(lens))
    check(tmp_path, model, feeds)


def test_sequence_lens_with_peepholes_and_clip(tmp_path):
    model, feeds = rnn_model("LSTM", seq=6, batch=4, direction="bidirectional", lens=[6, 1, 3, 4], peepholes=True,
                             attrs={"clip": 0.9, "input_forget": 1})
    check(tmp_path, model, feeds)


# -- layout 1 (opset 14+) ---------------------------------------------------------------------

@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("lens", [None, [4, 2, 5]])
def test_layout_1(tmp_path, op, direction, lens):
    init_c = "input" if op == "LSTM" else None
    model, feeds = rnn_model(op, seq=5, batch=3, direction=direction, layout=1, opset=14, lens=lens,
                             init_h="input", init_c=init_c)
    got = check(tmp_path, model, feeds)
    from onnx.reference import ReferenceEvaluator

    if lens is None:  # onnx's reference evaluator ignores sequence_lens
        names = [o.name for o in model.graph.output]
        for name, value in zip(names, ReferenceEvaluator(model).run(None, feeds)):
            np.testing.assert_allclose(got[name], value, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_layout_1_constant_states_and_subset(tmp_path, op):
    outputs = ["", "Y_h", "Y_c"] if op == "LSTM" else ["", "Y_h"]
    model, feeds = rnn_model(op, layout=1, opset=22, init_h="const", init_c="const" if op == "LSTM" else None,
                             direction="bidirectional", outputs=outputs)
    check(tmp_path, model, feeds)


# -- errors ------------------------------------------------------------------------------------

def _with_runtime(model, name):
    """The model with the initializer `name` turned into a graph input."""
    init = next(i for i in model.graph.initializer if i.name == name)
    model.graph.initializer.remove(init)
    model.graph.input.append(helper.make_tensor_value_info(name, init.data_type, list(init.dims)))
    return model


@pytest.mark.parametrize("name, what", [("W", "W must be a constant"), ("R", "R must be a constant"),
                                        ("B", "B must be a constant")])
def test_runtime_weights_are_refused(tmp_path, name, what):
    model, _ = rnn_model("LSTM")
    with pytest.raises(UnsupportedModelError, match=what):
        compile_error(tmp_path, _with_runtime(model, name))


def test_runtime_sequence_lens_are_refused(tmp_path):
    model, _ = rnn_model("GRU", lens=[5, 3])
    with pytest.raises(UnsupportedModelError, match="sequence_lens must be a constant"):
        compile_error(tmp_path, _with_runtime(model, "lens"))


def test_bad_attributes_are_model_errors(tmp_path):
    model, _ = rnn_model("RNN", attrs={"activations": ["Tanh", "Tanh", "Tanh"]})
    with pytest.raises(ModelFormatError, match="3 activations given; it takes 1"):
        compile_error(tmp_path, model)
    model, _ = rnn_model("LSTM", attrs={"activations": ["Sigmoid", "Swish", "Tanh"]})
    with pytest.raises(ModelFormatError, match="unknown activation"):
        compile_error(tmp_path, model)
    model, _ = rnn_model("GRU", direction="sideways")
    with pytest.raises(ModelFormatError, match="direction 'sideways'"):
        compile_error(tmp_path, model)
    model, _ = rnn_model("LSTM", attrs={"clip": -1.0})
    with pytest.raises(ModelFormatError, match="clip must be positive"):
        compile_error(tmp_path, model)


def test_empty_sequence_is_refused(tmp_path):
    model, _ = rnn_model("RNN", seq=0)
    with pytest.raises(UnsupportedModelError, match="no time step"):
        compile_error(tmp_path, model)


def test_sequence_lens_out_of_range_is_a_model_error(tmp_path):
    model, _ = rnn_model("LSTM", seq=4, lens=[5, 2])
    with pytest.raises(ModelFormatError, match=r"sequence_lens \[5, 2\]"):
        compile_error(tmp_path, model)


def test_weights_shared_by_every_step(tmp_path):
    """The recurrence weights are packed once, not once per step: the module's weights stay close
    to the layer's own size whatever the sequence length."""
    sizes = []
    for seq in (4, 40):
        model, feeds = rnn_model("LSTM", seq=seq, batch=1, inputs=8, hidden=32, direction="bidirectional",
                                 bias=False)
        (tmp_path / f"m{seq}.onnx").write_bytes(model.SerializeToString())
        edgewasm.compile(tmp_path / f"m{seq}.onnx", tmp_path / f"b{seq}")
        sizes.append(sum(f.stat().st_size for f in (tmp_path / f"b{seq}" / "fp32").glob("weights-*.bin")))
    layer = 4 * 2 * 4 * 32 * (8 + 32)  # bytes of W and R
    assert sizes[0] >= layer and sizes[1] < sizes[0] + layer // 2, sizes


@pytest.mark.parametrize("variant", ["fp16", "int8", "int16"])
def test_compressed_variants_share_the_recurrence_weights(tmp_path, variant):
    """A compressed variant quantizes (and packs) the recurrence weights once for every step: its
    weights grow with the sequence no more than fp32's (per-step copy descriptors only), and the
    module agrees with its reference.onnx."""
    growth = {}
    for seq in (4, 40):
        model, feeds = rnn_model("GRU", seq=seq, batch=2, inputs=8, hidden=32, direction="bidirectional",
                                 attrs={"linear_before_reset": 1}, init_h="input")
        (tmp_path / f"m{seq}.onnx").write_bytes(model.SerializeToString())
        edgewasm.compile(tmp_path / f"m{seq}.onnx", tmp_path / f"b{seq}", variants=f"fp32,{variant}")
        for name in ("fp32", variant):
            size = sum(f.stat().st_size for f in (tmp_path / f"b{seq}" / name).glob("weights-*.bin"))
            growth[name] = size - growth.get(name, 0)
        got = edgewasm.load(tmp_path / f"b{seq}", variant).run(feeds)
        reference = run_onnxruntime(tmp_path / f"b{seq}", feeds, variant)
        for name in got:
            np.testing.assert_allclose(got[name], reference[name], atol=1e-3, rtol=1e-3, err_msg=name)
    assert growth[variant] <= growth["fp32"] + 1024, growth

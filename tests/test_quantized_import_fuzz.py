"""Mutated onnxruntime-quantized models (dropped inputs and outputs, rewired tensors, changed op
types, attributes and initializer shapes) either compile or fail with a typed EdgewasmError: the
quantized-pattern rewrite runs before the importer's checks, so it must never crash on them."""

from __future__ import annotations

import random

import onnx
import pytest

from edgewasm.compiler import compile_variant
from edgewasm.errors import EdgewasmError
from edgewasm.frontend.onnx import import_onnx

from models import make_mlp
from quant_models import matmul_mlp, ort_quantize_dynamic, ort_quantize_static, small_cnn

OPS = ["MatMulInteger", "ConvInteger", "Cast", "Mul", "DynamicQuantizeLinear", "DequantizeLinear", "QuantizeLinear",
       "Gemm", "QGemm", "QLinearMatMul"]


@pytest.fixture(scope="module")
def quantized_models() -> list[onnx.ModelProto]:
    import numpy as np

    calibration = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
    return [ort_quantize_dynamic(matmul_mlp([8, 5, 3])),
            ort_quantize_dynamic(small_cnn([{"m": 4, "kernel": [3, 3], "pads": [1, 1, 1, 1]}, {"m": 2, "kernel": [1, 1]}],
                                           [1, 2, 5, 5])),
            ort_quantize_static(make_mlp([6, 5, 3], batch=2, softmax=False), calibration, 2),
            ort_quantize_static(make_mlp([6, 5, 3], batch=2, softmax=False), calibration, 2, fmt="QOperator")]


def mutate(model: onnx.ModelProto, rng: random.Random) -> onnx.ModelProto:
    mutant = onnx.ModelProto()
    mutant.CopyFrom(model)
    nodes = mutant.graph.node
    for _ in range(rng.randint(1, 3)):
        node = nodes[rng.randrange(len(nodes))]
        choice = rng.random()
        if choice < 0.2 and len(node.input) > 1:
            del node.input[rng.randrange(len(node.input))]
        elif choice < 0.35 and len(node.output) > 1:
            del node.output[rng.randrange(len(node.output))]
        elif choice < 0.5 and node.input:
            node.input[rng.randrange(len(node.input))] = rng.choice([o for n in nodes for o in n.output] + [""])
        elif choice < 0.6:
            del node.attribute[:]
        elif choice < 0.7:
            node.op_type = rng.choice(OPS)
        elif choice < 0.8 and mutant.graph.initializer:
            init = mutant.graph.initializer[rng.randrange(len(mutant.graph.initializer))]
            init.dims[:] = [rng.randint(1, 5) for _ in range(rng.randint(0, 3))]
        else:
            node.attribute.append(onnx.helper.make_attribute(rng.choice(["to", "axis", "transB", "group"]),
                                                             rng.randint(-2, 20)))
    return mutant


def test_mutated_quantized_models_never_crash(quantized_models):
    rng = random.Random(2024)
    outcomes = {"compiled": 0, "refused": 0}
    for _ in range(300):
        mutant = mutate(rng.choice(quantized_models), rng)
        try:
            compile_variant(import_onnx(mutant.SerializeToString(), batch=2))
            outcomes["compiled"] += 1
        except EdgewasmError:
            outcomes["refused"] += 1
    assert outcomes["compiled"] > 0 and outcomes["refused"] > 0, outcomes

"""Compiling is bounded: shape bombs (a tiny file asking for a huge constant or tensor) are refused
before anything is allocated, with one line naming the node; --max-bytes moves the limit."""

from __future__ import annotations

import resource
import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto, helper

import edgewasm
from edgewasm.errors import CompileLimitError

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64


def bomb(nodes, ints: dict, x_shape=(1,)):
    graph = helper.make_graph(nodes, "bomb", [helper.make_tensor_value_info("x", FLOAT, list(x_shape))],
                              [helper.make_tensor_value_info("y", FLOAT, ["a", "b"])],
                              [helper.make_tensor(k, INT64, [len(v)] if isinstance(v, list) else [], v if isinstance(v, list) else [v])
                               for k, v in ints.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


BOMBS = {
    "ConstantOfShape": bomb([helper.make_node("ConstantOfShape", ["s"], ["c"], name="fill"),
                             helper.make_node("Add", ["x", "c"], ["y"])], {"s": [60000, 60000]}),
    "Expand": bomb([helper.make_node("Expand", ["x", "s"], ["y"], name="fill")], {"s": [60000, 60000]}),
    "Tile": bomb([helper.make_node("Tile", ["x", "r"], ["y"], name="fill")], {"r": [2**31]}),
    "Range": bomb([helper.make_node("Range", ["a", "n", "d"], ["r"], name="fill"),
                   helper.make_node("Cast", ["r"], ["y"], to=FLOAT)], {"a": 0, "n": 2**40, "d": 1}),
}


@pytest.mark.parametrize("op", BOMBS)
def test_shape_bombs_are_refused_before_they_allocate(tmp_path, op):
    path = tmp_path / "bomb.onnx"
    path.write_bytes(BOMBS[op].SerializeToString())
    assert path.stat().st_size < 300
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CompileLimitError, match=r"node 'fill'.* GiB, more than the compile limit of 2\.0 GiB"):
        edgewasm.compile(path, tmp_path / "b")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 256 * 1024  # KiB


def test_max_bytes_flag_moves_the_limit(tmp_path):
    model = bomb([helper.make_node("Expand", ["x", "s"], ["y"], name="fill")], {"s": [512, 1024]})
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())

    def compile_with(*flags):
        return subprocess.run([sys.executable, "-m", "edgewasm.cli", "compile", tmp_path / "m.onnx", "-o",
                               tmp_path / "b", *flags], capture_output=True, text=True, timeout=300)

    refused = compile_with("--max-bytes", "1M")
    assert refused.returncode == 2 and "2.0 MiB, more than the compile limit of 1.0 MiB" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert compile_with("--max-bytes", "16M").returncode == 0
    assert compile_with("--max-bytes", "lots").returncode == 2
    y = edgewasm.load(tmp_path / "b").run({"x": np.array([1.5], np.float32)})["y"]
    assert y.shape == (512, 1024) and (y == 1.5).all()

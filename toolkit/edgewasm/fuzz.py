"""Mutation fuzzing of the two things users hand us: ONNX bytes and bundle manifests.

The only acceptable outcomes for a mutated input are success or a typed `EdgewasmError`; any
other exception is a crash and is reported with the case that caused it. Campaigns are seeded
and bounded, so a failure reproduces with the same seed and case number.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import EdgewasmError


@dataclass
class Campaign:
    target: str
    cases: int = 0
    typed_errors: int = 0
    accepted: int = 0
    crashes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.target}: {self.cases} cases, {self.accepted} accepted, {self.typed_errors} typed errors, "
                f"{len(self.crashes)} crashes")


def _attempt(campaign: Campaign, case: str, action: Callable[[], Any]) -> None:
    campaign.cases += 1
    try:
        action()
        campaign.accepted += 1
    except EdgewasmError:
        campaign.typed_errors += 1
    except Exception:  # a crash: exactly what fuzzing is here to find
        campaign.crashes.append(f"{case}\n{traceback.format_exc(limit=-3)}")


# -- ONNX bytes -----------------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: bit flips, byte sets, truncation, duplication, deletion."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buf:
            break
        i = rng.randrange(len(buf))
        kind = rng.randrange(6)
        if kind == 0:
            buf[i] ^= 1 << rng.randrange(8)
        elif kind == 1:
            buf[i] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif kind == 2:
            del buf[i:]
        elif kind == 3:
            j = min(len(buf), i + rng.randint(1, 16))
            buf[i:i] = buf[i:j]
        elif kind == 4:
            del buf[i:i + rng.randint(1, 16)]
        else:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(buf)


_ODD_DIMS = [0, -1, 1, 2, 3, 7, 4096, 2**31, 2**40]
_BOMB_VALUES = [60000, 2**20, 2**31 - 1, 2**40, -(2**40), 0]
_OPS = ["Gemm", "MatMul", "Add", "Relu", "Softmax", "Flatten", "Reshape", "Identity", "Dropout", "Constant"]


def mutate_model(data: bytes, rng: random.Random) -> bytes:
    """One to three structural edits that keep the protobuf valid: dims, attributes, wiring, ops."""
    import onnx

    model = onnx.load_from_string(data)
    g = model.graph
    names = [n for node in g.node for n in (*node.input, *node.output)] + [i.name for i in g.initializer] + [""]
    for _ in range(rng.randint(1, 3)):
        node = rng.choice(g.node)
        kind = rng.randrange(8)
        integers = [init for init in g.initializer if init.data_type == onnx.TensorProto.INT64]
        if kind == 7 and integers:  # a shape bomb: a shape, repeat count or limit becomes huge
            init = rng.choice(integers)
            try:
                values = onnx.numpy_helper.to_array(init).copy()
            except ValueError:  # an earlier edit broke this initializer's dims: leave it broken
                continue
            if values.size:
                values.reshape(-1)[rng.randrange(values.size)] = rng.choice(_BOMB_VALUES)
                init.CopyFrom(onnx.numpy_helper.from_array(values, init.name))
            continue
        if kind == 0:
            value = rng.choice([*g.input, *g.output])
            dims = value.type.tensor_type.shape.dim
            if dims:
                rng.choice(dims).dim_value = rng.choice(_ODD_DIMS)
        elif kind == 1 and node.attribute:
            attr = rng.choice(node.attribute)
            attr.i = rng.choice([-2, -1, 0, 1, 2, 5, 2**40])
            attr.f = rng.choice([0.0, -1.0, float("nan"), float("inf"), 1e30])
        elif kind == 2 and node.input:
            node.input[rng.randrange(len(node.input))] = rng.choice(names)
        elif kind == 3:
            node.op_type = rng.choice(_OPS)
        elif kind == 4 and g.initializer:
            init = rng.choice(g.initializer)
            if init.dims:
                init.dims[rng.randrange(len(init.dims))] = rng.choice(_ODD_DIMS[:6])
        elif kind == 5 and len(g.node) > 1:
            g.node.remove(node)
        else:
            node.input.append(rng.choice(names))
    return model.SerializeToString()


def fuzz_onnx(models: list[bytes], cases: int, seed: int = 0) -> Campaign:
    """Compile mutated ONNX models in memory (import, passes, lowering, codegen, assembly):
    half of the cases edit raw bytes, half edit the model's structure."""
    from .compiler import compile_variant
    from .frontend.onnx import import_onnx

    campaign = Campaign("onnx")
    rng = random.Random(seed)
    for case in range(cases):
        source = rng.choice(models)
        data = mutate_bytes(source, rng) if case % 2 else mutate_model(source, rng)
        _attempt(campaign, f"onnx case {case} (seed {seed})", lambda: compile_variant(import_onnx(data)))
    return campaign


# -- manifests ------------------------------------------------------------------------------

_ODD_VALUES = [None, True, -1, 0, 1, 2**31, 2**64, -(2**40), 1.5, "", "x", "../x", [], {}, [1], {"a": 1}]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, prefix + (i,))
    return found


def mutate_manifest(manifest: dict, rng: random.Random) -> dict:
    """Replace, delete or retype one to three values anywhere in the manifest."""
    result = copy.deepcopy(manifest)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(result)[1:])
        parent = result
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        old = parent[key]
        choice = rng.randrange(4)
        if choice == 0 and isinstance(parent, dict):
            del parent[key]
        elif choice == 1 and isinstance(old, int) and not isinstance(old, bool):
            parent[key] = old + rng.choice([-65536, -16, -1, 1, 4, 16, 65536, 2**32])
        else:
            parent[key] = copy.deepcopy(rng.choice(_ODD_VALUES))
    return result


def fuzz_manifest(bundle: Path, inputs: dict, cases: int, seed: int = 0) -> Campaign:
    """Load and run a bundle whose manifest was mutated; the files themselves are intact."""
    from .runtime.wasmtime_host import load

    campaign = Campaign("manifest")
    rng = random.Random(seed)
    original = json.loads((Path(bundle) / "manifest.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(shutil.copytree(bundle, Path(tmp) / "bundle"))
        for case in range(cases):
            (work / "manifest.json").write_text(json.dumps(mutate_manifest(original, rng)))
            _attempt(campaign, f"manifest case {case} (seed {seed})", lambda: load(work).run(inputs))
    return campaign


def default_corpus(workdir: Path) -> tuple[list[bytes], Path, dict]:
    """Seed models built here (an MLP with views and a broadcast Add) and one compiled bundle."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def model(nodes, inits, x_shape, y_shape) -> bytes:
        graph = helper.make_graph(
            nodes, "fuzz", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
            initializer=[numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
        if y_shape is None:
            graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT
            graph.output[0].type.tensor_type.shape.dim.add().dim_param = "d0"
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
        return m.SerializeToString()

    mlp = model(
        [helper.make_node("Gemm", ["x", "w0", "b0"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Gemm", ["r", "w1", "b1"], ["z"], transB=1), helper.make_node("Softmax", ["z"], ["y"])],
        {"w0": rng.standard_normal((7, 5)), "b0": rng.standard_normal(7), "w1": rng.standard_normal((3, 7)),
         "b1": rng.standard_normal(3)}, ["N", 5], ["N", 3])
    views = model(
        [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["a"]),
         helper.make_node("Flatten", ["a"], ["f"]), helper.make_node("Identity", ["f"], ["y"])],
        {"w": rng.standard_normal((4, 6)), "b": rng.standard_normal(6)}, [2, 4], [2, 6])

    def shapes(nodes, integers: dict) -> bytes:
        """A shape computation from int64 constants (the mutator turns them into shape bombs)."""
        m = onnx.load_from_string(model(nodes, {}, [2, 4], None))
        m.graph.initializer.extend(numpy_helper.from_array(np.array(v, np.int64), k) for k, v in integers.items())
        return m.SerializeToString()

    bombs = [
        shapes([helper.make_node("ConstantOfShape", ["s"], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])],
               {"s": [2, 4]}),
        shapes([helper.make_node("Expand", ["x", "s"], ["y"])], {"s": [3, 2, 4]}),
        shapes([helper.make_node("Tile", ["x", "r"], ["y"])], {"r": [2, 3]}),
        shapes([helper.make_node("Range", ["a", "n", "d"], ["r"]), helper.make_node("Cast", ["r"], ["f"], to=1),
                helper.make_node("Add", ["x", "f"], ["y"])], {"a": 0, "n": 4, "d": 1}),
        shapes([helper.make_node("Pad", ["x", "p"], ["y"])], {"p": [0, 1, 0, 1]}),
        shapes([helper.make_node("ConstantOfShape", ["s"], ["c"]), helper.make_node("Add", ["x", "c"], ["y"])],
               {"s": [60000, 60000]}),
    ]
    from .compiler import compile_model

    bundle = workdir / "fuzz-bundle"
    compile_model(mlp, bundle, batch=2, name="fuzz", chunk_bytes=64)
    inputs = {"x": rng.standard_normal((2, 5)).astype(np.float32)}
    return [mlp, views, *bombs], bundle, inputs


def peak_memory_mib() -> int:
    """This process's peak resident memory (shape bombs must be refused before they allocate).

    Linux's VmHWM belongs to this program's own address space; ru_maxrss would also count the
    parent's peak at fork (it survives exec), so a CLI run from a large test process would look
    like a shape bomb."""
    import resource

    try:
        status = Path("/proc/self/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) // 1024
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux


def run_campaigns(cases: int, seed: int = 0, log: Callable[[str], None] = print) -> list[Campaign]:
    with tempfile.TemporaryDirectory() as tmp:
        models, bundle, inputs = default_corpus(Path(tmp))
        results = []
        for name, run in (("onnx", lambda: fuzz_onnx(models, cases, seed)),
                          ("manifest", lambda: fuzz_manifest(bundle, inputs, cases, seed))):
            log(f"fuzzing {name}: {cases} cases, seed {seed} ...")
            results.append(run())
            log(results[-1].summary())
    return results

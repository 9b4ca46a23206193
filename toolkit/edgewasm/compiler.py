"""The pipeline, in the one direction data flows: ONNX -> IR -> passes -> lower -> plan ->
codegen -> assemble -> bundle."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from . import __version__
from .backend.assemble import assemble
from .backend.codegen import emit_module
from .backend.lower import lower
from .backend.plan import plan_memory
from .backend.reference import export_reference
from .bundle import DEFAULT_CHUNK_BYTES, TensorSpec, VariantBuild, write_bundle
from .frontend.onnx import import_onnx, load_onnx, read_model_bytes
from .ir import Graph
from .ops import flops
from .passes.fuse import fuse


def compile_variant(graph: Graph, name: str = "fp32") -> tuple[VariantBuild, str]:
    """Graph -> one variant's module, weights and reference; also returns the module's wat."""
    graph, fusion = fuse(graph)
    program = lower(graph)
    plan = plan_memory(graph, program)
    wat = emit_module(program, plan)
    wasm = assemble(wat)
    region = bytearray(plan.weights_end - plan.weights_base)
    for tensor, array in program.weights.items():
        start = plan.offsets[tensor] - plan.weights_base
        region[start:start + array.nbytes] = array.tobytes()

    def boundary(infos) -> list[TensorSpec]:
        return [TensorSpec(t.name, t.dtype, t.shape, plan.offsets[program.root(t.name)], t.nbytes) for t in infos]

    report = {
        "methods": ["fp32", "fusion"] if fusion["fusions"] else ["fp32"],
        "fusions": fusion["fusions"],
        "weight_bytes": len(region),
        "module_bytes": len(wasm),
        "memory_bytes": plan.pages * 65536,
        "flops": flops(graph),
    }
    build = VariantBuild(
        name=name, wasm=wasm, pages=plan.pages,
        inputs=boundary(graph.inputs), outputs=boundary(graph.outputs),
        weights_offset=plan.weights_base, weights=bytes(region),
        kernels=program.kernels, reference_onnx=export_reference(graph), report=report,
    )
    return build, wat


def compile_model(model: str | Path, out: str | Path, batch: int = 1, name: str | None = None,
                  chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                  log: Callable[[str], None] = lambda message: None) -> Path:
    """Compile an ONNX file into a bundle directory; returns the manifest path."""
    data = model if isinstance(model, bytes) else read_model_bytes(model)
    proto = load_onnx(data)
    log(f"imported {len(proto.graph.node)} ONNX nodes (opset {proto.opset_import[0].version if proto.opset_import else '?'})")
    graph = import_onnx(proto, batch=batch)
    build, _ = compile_variant(graph)
    log(f"fp32: {len(build.wasm)} bytes of module, {len(build.weights)} bytes of weights, "
        f"kernels {', '.join(build.kernels)}")
    bundle_name = name or ("model" if isinstance(model, bytes) else Path(model).stem)
    path = write_bundle(Path(out), bundle_name, hashlib.sha256(data).hexdigest(), [build],
                        toolkit_version=__version__, chunk_bytes=chunk_bytes)
    log(f"wrote {path}")
    return path

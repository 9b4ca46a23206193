"""The pipeline, in the one direction data flows: ONNX -> IR -> passes -> lower -> plan ->
codegen -> assemble -> bundle."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Callable

import onnx

from . import __version__
from .backend.assemble import assemble
from .backend.codecs import shipped_region
from .backend.codegen import emit_module, profile_layers
from .backend.lower import BOUNDARY_KERNELS, lower  # BOUNDARY_KERNELS: the canonical-NaN pass, not an op's kernel
from .backend.plan import plan_memory
from .backend.reference import export_reference
from .bundle import DEFAULT_CHUNK_BYTES, TensorSpec, VariantBuild, write_bundle
from .frontend.limits import DEFAULT_MAX_BYTES
from .frontend.onnx import import_onnx, load_onnx, read_model_bytes
from .ir import Graph
from .ops import flops
from .passes.chains import fuse_chains
from .passes.conv_fold import fold_into_convolutions
from .passes.fuse import fuse, fuse_gates
from .passes.layout import channels_last
from .variants import Options, Recipe, check_options, compress, parse_variants, store_weights


def compile_variant(graph: Graph, name: str = "fp32", recipe: Recipe | None = None,
                    options: Options | None = None, profile: bool = False,
                    max_bytes: int = DEFAULT_MAX_BYTES, threads: int = 1) -> tuple[VariantBuild, str]:
    """Graph -> one variant's module, weights and reference; also returns the module's wat.

    profile: also export one entry point per layer (`layer_<n>`) for the host to time.
    max_bytes: the largest linear memory the plan may take (frontend/limits.py).
    threads: N >= 2 builds the opt-in threaded module (backend/threads.py), 1 the default one.
    """
    recipe, options = recipe or Recipe(), options or Options()
    graph, _ = channels_last(graph)
    graph, folds = fold_into_convolutions(graph)
    graph, fusion = fuse(graph)
    fusion["fusions"] = folds["fusions"] + fusion["fusions"]
    graph, gates = fuse_gates(graph)  # before compression: static int8 tables a SiLU as one op
    graph, steps = compress(graph, recipe, options)
    fusion["fusions"] += gates + fuse_chains(graph)[1]  # one pass per elementwise chain
    program = lower(graph)
    steps += store_weights(program, recipe)
    if threads != 1:
        from .backend.threads import emit_threaded_module, reserve_thread_scratch, split_summary
        reserve_thread_scratch(program, threads)
    plan = plan_memory(graph, program, max_bytes)
    if threads != 1:
        wat = emit_threaded_module(program, plan, threads, profile=profile)
    else:
        wat = emit_module(program, plan, profile=profile)
    wasm = assemble(wat)
    weights_offset, region = shipped_region(program, plan)

    def boundary(infos) -> list[TensorSpec]:
        return [TensorSpec(t.name, t.dtype, t.shape, plan.offsets[program.root(t.name)], t.nbytes) for t in infos]

    report = {
        "methods": recipe.describe(options) + (["fusion"] if fusion["fusions"] else []),
        "fusions": fusion["fusions"],
        "steps": steps,
        "weight_bytes": len(region),
        "module_bytes": len(wasm),
        "memory_bytes": plan.pages * 65536,
        "flops": flops(graph),
        **({"threads": {"max": threads, **split_summary(program)}} if threads > 1 else {}),
    }
    build = VariantBuild(
        name=name, wasm=wasm, pages=plan.pages,
        inputs=boundary(graph.inputs), outputs=boundary(graph.outputs),
        weights_offset=weights_offset, weights=region, has_init=bool(program.init_calls),
        kernels=[k for k in program.kernels if k not in BOUNDARY_KERNELS], reference_onnx=export_reference(graph), report=report,
        layers=[{"export": export, "node": node} for export, node, _ in profile_layers(program)] if profile else [],
        failures=program.failures, threads=threads, deadline_checks=True,
    )
    return build, wat


def compile_model(model: str | Path, out: str | Path, batch: int = 1, name: str | None = None,
                  shapes: dict[str, tuple[int, ...]] | None = None,
                  chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                  log: Callable[[str], None] = lambda message: None,
                  variants: str | list[Recipe] | None = None, options: Options | None = None,
                  eval_data=None, profile: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                  threads: int = 1, example_inputs=None, wat: bool = False, **door_options) -> Path:
    """Compile an ONNX file into a bundle directory; returns the manifest path.

    model: an ONNX path, bytes or onnx.ModelProto, or a framework model that a front door exports
    (edgewasm.frontdoors): a torch.nn.Module, a JAX function / Flax module, a Keras 3 model.
    example_inputs (framework models): arrays, positional or {parameter name: array}, that fix the
    inputs' shapes and dtypes; door_options: params= (Flax Linen variables), exporter= (PyTorch:
    "auto", "dynamo", "torchscript"), opset=. wat: also write each variant's module as
    <variant>/model.wat beside model.wasm (kernels named, each layer's calls commented).

    shapes: {input name: full shape} fixes symbolic dimensions (`--shape`); `batch` fixes a
    symbolic first dimension of the inputs it does not name.

    variants: e.g. "fp32,fp16,int8" (see edgewasm.variants); options: the compression amounts and
    data; eval_data: an evaluation.Dataset whose accuracy every variant's report records;
    max_bytes: the most any constant, tensor or memory plan may take while compiling (2 GiB);
    threads: N >= 2 makes every variant a threaded build (one shared memory import, up to N threads).
    """
    from .evaluation import compare_variants

    recipes = parse_variants(variants) if isinstance(variants, str) else list(variants or [Recipe()])
    options = options or Options()
    check_options(recipes, options)
    exporter = None
    if not isinstance(model, (str, Path, bytes, onnx.ModelProto)):
        from .frontdoors import export

        exported = export(model, example_inputs, log=log, **door_options)
        model, exporter = exported.model, exported.exporter
        shapes = {**exported.shapes, **(shapes or {})}
        name = name or exported.name
    elif example_inputs is not None or door_options:
        from .frontdoors import ExportError

        raise ExportError("example_inputs and exporter options are for framework models, not ONNX files")
    if isinstance(model, onnx.ModelProto):
        proto, data = load_onnx(model), model.SerializeToString()
    else:
        data = model if isinstance(model, bytes) else read_model_bytes(model)
        proto = load_onnx(data, base_dir=None if isinstance(model, bytes) else Path(model).parent)
    log(f"imported {len(proto.graph.node)} ONNX nodes (opset {proto.opset_import[0].version if proto.opset_import else '?'})")
    graph = import_onnx(proto, batch=batch, shapes=shapes, max_bytes=max_bytes)
    builds, texts = [], {}
    for recipe in recipes:
        build, module_text = compile_variant(copy.deepcopy(graph), recipe.name, recipe, options, profile,
                                             max_bytes, threads)
        if exporter:
            build.report["exporter"] = exporter
        texts[build.name] = module_text
        log(f"{build.name}: {len(build.wasm)} bytes of module, {len(build.weights)} bytes of weights, "
            f"kernels {', '.join(build.kernels)}")
        builds.append(build)
    compare_variants(builds, lambda: compile_variant(copy.deepcopy(graph))[0], eval_data, log)
    bundle_name = name or ("model" if isinstance(model, (bytes, onnx.ModelProto)) else Path(model).stem)
    path = write_bundle(Path(out), bundle_name, hashlib.sha256(data).hexdigest(), builds,
                        toolkit_version=__version__, chunk_bytes=chunk_bytes)
    if wat:
        for variant, text in texts.items():
            (Path(out) / variant / "model.wat").write_text(text)
            log(f"wrote {Path(out) / variant / 'model.wat'}")
    log(f"wrote {path}")
    return path

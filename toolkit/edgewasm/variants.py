"""Variants: what `--variants fp32,fp16,int8,fp32+structured+distill` asks for, and how each is made.

A variant is a precision (fp32, fp16, int8, int16) plus compression methods joined with '+':
  structured  remove whole neurons by norm, rewiring the next layer    (--prune-structured F)
  prune       zero the smallest weights; ship them sparse             (--prune F)
  lowrank     factorize weights by truncated SVD                      (--low-rank R)
  distill     refit the compressed layers to the fp32 teacher         (--distill DATA.npz)
Methods run in that order on the fused fp32 graph, then the precision pass (int8 with
`--calibrate DATA.npz` quantizes activations statically, otherwise at run time). Without
`--variants`, the flags given make one variant (`--quantize int8 --prune 0.5` is `int8+prune`).

A static int8 variant may end in `-relaxed` (`int8-relaxed`; `--simd relaxed` adds one after each
int8 variant): the opt-in relaxed-SIMD tier. Its weights are quantized to 7 bits ([-63, 63]) so
its GEMMs can use i32x4.relaxed_dot_i8x16_i7x16_add_s where that instruction is deterministic
(wasm-kernels/qu8_gemm_relaxed.wat): bit-identical across engines, numerics of its own (its
reference.onnx), and a host without relaxed SIMD loads its baseline twin instead
(runtime/simd.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .errors import CompressionError
from .ir import Graph

PRECISIONS = ("fp32", "fp16", "int8", "int16")
SIMD_TIERS = ("baseline", "relaxed")
RELAXED = "-relaxed"  # the variant-name suffix of the relaxed tier (runtime/simd.py reads it too)
METHODS = ("structured", "prune", "lowrank", "distill")  # the order they are applied in
METHOD_NAMES = {"structured": "structured pruning", "prune": "magnitude pruning", "lowrank": "low-rank",
                "distill": "distillation"}


@dataclass(frozen=True)
class Options:
    """The amounts and data the methods use. Data are {input name: array} with the batch first."""

    prune: float = 0.5
    prune_structured: float = 0.5
    low_rank: str = "0.5"  # a rank ratio in (0, 1], or "energy:E" to keep a fraction E of the energy
    distill: dict | None = None
    calibrate: dict | None = None


@dataclass(frozen=True)
class Recipe:
    precision: str = "fp32"
    methods: tuple[str, ...] = ()
    simd: str = "baseline"

    @property
    def name(self) -> str:
        return "+".join((self.precision, *self.methods)) + (RELAXED if self.simd == "relaxed" else "")

    def describe(self, options: Options) -> list[str]:
        """Human-readable methods, for the report and the CLI."""
        amounts = {"structured": f" {options.prune_structured:.0%}", "prune": f" {options.prune:.0%}",
                   "lowrank": f" {options.low_rank}", "distill": ""}
        words = [METHOD_NAMES[m] + amounts[m] for m in self.methods]
        if self.precision == "int8":
            words.append("int8 static" if options.calibrate is not None else "int8 dynamic")
            if self.simd == "relaxed":
                words.append("7-bit weights, relaxed SIMD")
        elif self.precision != "fp32":
            words.append("int16 dynamic" if self.precision == "int16" else self.precision)
        return words or ["fp32"]


def parse_recipe(text: str) -> Recipe:
    text = text.strip()
    relaxed = text.endswith(RELAXED)
    parts = [p.strip() for p in (text[:-len(RELAXED)] if relaxed else text).split("+")]
    precision, methods = parts[0], parts[1:]
    if precision not in PRECISIONS:
        raise CompressionError(f"variant {text!r}: {precision!r} is not a precision ({', '.join(PRECISIONS)})")
    for method in methods:
        if method not in METHODS:
            raise CompressionError(f"variant {text!r}: {method!r} is not a method ({', '.join(METHODS)})")
    if len(set(methods)) != len(methods):
        raise CompressionError(f"variant {text!r} names a method twice")
    if relaxed and precision != "int8":
        raise CompressionError(f"variant {text!r}: the relaxed-SIMD tier is for int8 variants only")
    return Recipe(precision, tuple(m for m in METHODS if m in methods), "relaxed" if relaxed else "baseline")


def parse_variants(text: str, simd: str = "baseline") -> list[Recipe]:
    """'fp32,fp16,int8' -> recipes, in the given order (the first is the bundle's default);
    simd 'relaxed' adds the relaxed twin of each int8 variant right after it."""
    recipes = [parse_recipe(item) for item in text.split(",") if item.strip()]
    recipes = with_relaxed_twins(recipes) if simd == "relaxed" else recipes
    if not recipes:
        raise CompressionError("--variants needs at least one variant, e.g. fp32,fp16,int8")
    names = [r.name for r in recipes]
    if len(set(names)) != len(names):
        raise CompressionError(f"--variants lists a variant twice: {names}")
    return recipes


def with_relaxed_twins(recipes: list[Recipe]) -> list[Recipe]:
    """Each baseline int8 recipe followed by its relaxed twin (unless the list has it already)."""
    out = []
    for recipe in recipes:
        out.append(recipe)
        twin = Recipe(recipe.precision, recipe.methods, "relaxed")
        if recipe.precision == "int8" and recipe.simd == "baseline" and twin not in recipes:
            out.append(twin)
    return out


def recipe_from_flags(quantize: str | None, structured: bool, prune: bool, lowrank: bool, distill: bool) -> Recipe:
    """The one variant the compression flags describe when --variants is not given."""
    chosen = {"structured": structured, "prune": prune, "lowrank": lowrank, "distill": distill}
    return parse_recipe("+".join([quantize or "fp32"] + [m for m in METHODS if chosen[m]]))


def check_options(recipes: list[Recipe], options: Options) -> None:
    """Refuse impossible combinations before any work is done."""
    methods = {m for r in recipes for m in r.methods}
    if any(r.simd == "relaxed" for r in recipes) and options.calibrate is None:
        raise CompressionError("the relaxed-SIMD tier (int8-relaxed, --simd relaxed) is static int8: it needs "
                               "--calibrate DATA.npz")
    if "distill" in methods and options.distill is None:
        raise CompressionError("the distill method needs teacher inputs: --distill DATA.npz")
    for label, value in (("--prune", options.prune), ("--prune-structured", options.prune_structured)):
        if not 0.0 <= value < 1.0:
            raise CompressionError(f"{label} must be a fraction in [0, 1), got {value}")
    if "lowrank" in methods:
        from .passes.lowrank import parse_rank

        parse_rank(options.low_rank)


def compress(graph: Graph, recipe: Recipe, options: Options) -> tuple[Graph, list[dict]]:
    """Apply the recipe's methods, then its precision, to a fused fp32 graph; returns each pass's report."""
    steps = []
    if recipe != Recipe():  # every compressed variant: a free speedup (passes/prune.py explains)
        from .passes.prune import flush_subnormal_weights

        graph, report = flush_subnormal_weights(graph)
        if report["values"]:
            steps.append(report)
    teacher = copy.deepcopy(graph) if "distill" in recipe.methods else None
    for method in recipe.methods:
        if method == "structured":
            from .passes.prune import prune_structured

            graph, report = prune_structured(graph, options.prune_structured)
        elif method == "prune":
            from .passes.prune import prune_magnitude

            graph, report = prune_magnitude(graph, options.prune)
        elif method == "lowrank":
            from .passes.lowrank import factorize

            graph, report = factorize(graph, options.low_rank)
        else:
            from .passes.distill import distill

            graph, report = distill(graph, teacher, options.distill)
        steps.append(report)
    from .passes import quantize

    if recipe.precision != "fp32":
        if recipe.precision == "fp16":
            graph, report = quantize.round_to_half(graph)
        elif recipe.precision == "int8" and options.calibrate is not None:
            graph, report = quantize.quantize_static_int8(graph, options.calibrate,
                                                          weight_bits=7 if recipe.simd == "relaxed" else 8)
        elif recipe.precision == "int8":
            graph, report = quantize.quantize_dynamic_int8(graph)
        else:
            graph, report = quantize.quantize_dynamic_int16(graph)
        steps.append(report)
    graph, fusion = quantize.fuse_integer_epilogues(graph)  # also for imported quantized models
    if fusion["fusions"]:
        steps.append({"pass": "integer epilogue fusion", **fusion})
    if recipe.simd == "relaxed":  # the lowering picks the relaxed-dot GEMM where the weights allow
        for node in graph.nodes:
            if node.op in ("QLinearConv", "QLinearGemm"):
                node.attrs["simd"] = "relaxed"
    return graph, steps


def store_weights(program, recipe: Recipe) -> list[dict]:
    """Pick the shipped encodings of the lowered weights: sparse for pruned variants, float16 for fp16."""
    from .backend.codecs import order_init, store_half, store_sparse

    reports = []
    half = recipe.precision == "fp16"
    if "prune" in recipe.methods:
        reports.append(store_sparse(program, half=half))
    if half:
        reports.append(store_half(program))
    order_init(program)  # the order the memory plan packs the encodings in (backend/plan.py)
    return reports


def add_compression_arguments(parser) -> None:
    """The `edgewasm compile` flags that choose and measure variants."""
    group = parser.add_argument_group("compression (see `edgewasm.variants`)")
    group.add_argument("--variants", metavar="LIST",
                       help="variants to build into the bundle, e.g. fp32,fp16,int8,fp32+structured+distill "
                            f"(precisions {', '.join(PRECISIONS)}; methods {', '.join(METHODS)})")
    group.add_argument("--quantize", choices=PRECISIONS[1:], help="precision of the one variant built without --variants")
    group.add_argument("--calibrate", metavar="DATA.npz", help="int8 with static activation ranges measured on these inputs")
    group.add_argument("--simd", choices=SIMD_TIERS, default="baseline",
                       help="relaxed: also build each static int8 variant's relaxed-SIMD tier (<name>-relaxed: "
                            "7-bit weights, deterministic relaxed dot products; hosts without relaxed SIMD load "
                            "the baseline twin)")
    group.add_argument("--prune", type=float, metavar="F", help="zero the fraction F of smallest weights; ship them sparse")
    group.add_argument("--prune-structured", type=float, metavar="F", help="remove the fraction F of neurons by norm")
    group.add_argument("--low-rank", metavar="R", help="factorize weights: rank ratio R in (0, 1] or energy:E")
    group.add_argument("--distill", metavar="DATA.npz", help="refit compressed layers to the fp32 outputs on these inputs")
    group.add_argument("--eval", metavar="DATA.npz", help="inputs and labels: record every variant's accuracy")


def compression_from_arguments(args):
    """(variants, Options, evaluation Dataset or None) from parsed `compile` arguments."""
    from .evaluation import load_dataset

    defaults = Options()
    options = Options(
        prune=defaults.prune if args.prune is None else args.prune,
        prune_structured=defaults.prune_structured if args.prune_structured is None else args.prune_structured,
        low_rank=defaults.low_rank if args.low_rank is None else args.low_rank,
        distill=load_dataset(args.distill).inputs if args.distill else None,
        calibrate=load_dataset(args.calibrate).inputs if args.calibrate else None,
    )
    if args.variants:
        if args.quantize:
            raise CompressionError("give the precision inside --variants (e.g. int8+prune), not with --quantize")
        variants = parse_variants(args.variants, args.simd)
    else:
        variants = [recipe_from_flags(args.quantize, args.prune_structured is not None, args.prune is not None,
                                      args.low_rank is not None, args.distill is not None)]
        variants = with_relaxed_twins(variants) if args.simd == "relaxed" else variants
    if args.simd == "relaxed" and not any(r.simd == "relaxed" for r in variants):
        raise CompressionError("--simd relaxed builds the relaxed twin of an int8 variant; these variants have none "
                               f"({', '.join(r.name for r in variants)})")
    return variants, options, load_dataset(args.eval, need_labels=True) if args.eval else None

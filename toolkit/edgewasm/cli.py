"""`edgewasm compile | run | check | fuzz | loadtest | conformance | bench | serve | web | batch`.

Exit codes: 0 ok; 1 a check found a disagreement; 2 bad input or usage, with a one-line
message and no traceback (anything else is a bug and keeps its traceback).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .bundle import DEFAULT_CHUNK_BYTES
from .errors import EdgewasmError
from .frontend.limits import DEFAULT_MAX_BYTES

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2
MEMORY_LIMIT_HELP = "linear memory the module may have, in MiB (default 512: raise it for models that need more)"


class UsageError(EdgewasmError):
    pass


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parse_inputs(pairs: list[str]) -> dict:
    import numpy as np

    inputs = {}
    for pair in pairs or []:
        name, sep, file = pair.partition("=")
        if not sep or not name or not file:
            raise UsageError(f"--input expects NAME=FILE.npy, got {pair!r}")
        try:
            inputs[name] = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {file} as a .npy array: {exc}") from None
    return inputs


def _bundle(path: str) -> Path:
    p = Path(path)
    root = p if p.is_dir() else p.parent
    if not (root / "manifest.json").is_file():
        raise UsageError(f"{path} is not a bundle (no manifest.json)")
    return root


def cmd_compile(args) -> int:
    import json

    from .compiler import compile_model
    from .evaluation import summary_table
    from .variants import compression_from_arguments

    if not Path(args.model).is_file():
        raise UsageError(f"no such ONNX file: {args.model}")
    variants, options, eval_data = compression_from_arguments(args)
    if args.chunk_bytes < 16 or args.chunk_bytes % 16:
        raise UsageError(f"--chunk-bytes must be a positive multiple of 16, got {args.chunk_bytes}")
    manifest = compile_model(args.model, args.output, batch=args.batch, name=args.name, log=_log,
                             shapes=_shapes(args.shape or []), max_bytes=args.max_bytes,
                             variants=variants, options=options, eval_data=eval_data,
                             chunk_bytes=args.chunk_bytes, profile=args.profile, threads=args.threads,
                             wat=args.wat)
    print(summary_table(json.loads(manifest.read_text())))
    return EXIT_OK


def _shapes(flags: list[str]) -> dict[str, tuple[int, ...]]:
    """--shape NAME=d0,d1,... (repeatable) -> {name: shape}."""
    shapes: dict[str, tuple[int, ...]] = {}
    for flag in flags:
        name, sep, dims = flag.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.split(",")) if dims.strip() else ()
        except ValueError:
            shape = None
        if not sep or not name or shape is None or any(d < 0 for d in shape):
            raise UsageError(f"--shape {flag!r}: expected NAME=d0,d1,... with non-negative integers")
        if name in shapes:
            raise UsageError(f"--shape names input {name!r} twice")
        shapes[name] = shape
    return shapes


def _byte_size(text: str) -> int:
    """'2147483648', '512M', '3G' -> bytes (argparse type for --max-bytes)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    try:
        value = int(float(text[:-1]) * units[text[-1].upper()]) if text[-1:].upper() in units else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (bytes, or a number with K, M or G)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _random_inputs(bundle: Path, variant: str | None, seed: int) -> dict:
    import numpy as np

    from .bundle import parse_manifest

    spec = parse_manifest((bundle / "manifest.json").read_bytes()).variant(variant)
    rng = np.random.default_rng(seed)
    def draw(shape, dtype):
        """Floats: normal; integers and bools: 0 or 1 (valid as token ids, indices and masks alike)."""
        if dtype.kind in "iub":
            return rng.integers(0, 2, shape).astype(dtype)
        return rng.standard_normal(shape).astype(dtype)

    return {t.name: draw(t.shape, _numpy_dtype(t.dtype)) for t in spec.inputs}


def _numpy_dtype(name: str):
    """numpy's dtype, or ml_dtypes' for the input dtypes numpy lacks (bfloat16, float8, int4, ...)."""
    import numpy as np

    if hasattr(np, name):
        return np.dtype(name)
    import ml_dtypes

    return np.dtype(getattr(ml_dtypes, name))


def cmd_run(args) -> int:
    import numpy as np

    from .engines import run_engine

    bundle = _bundle(args.bundle)
    inputs = _parse_inputs(args.input)
    if not inputs:
        raise UsageError("give every model input with --input NAME=FILE.npy")
    if args.profile:
        outputs = _print_profile(bundle, inputs, args)
    else:
        outputs = run_engine(args.engine, bundle, inputs, args.variant, _memory_limit(args), _threads(args))
    if args.output:
        np.savez(args.output, **{k: np.asarray(v) for k, v in outputs.items()})
        _log(f"wrote {args.output}")
    for name, value in outputs.items():
        value = np.asarray(value)
        print(f"{name}: shape {list(value.shape)} {value.dtype}  {np.array2string(value.reshape(-1)[:8], precision=6)}"
              + (" ..." if value.size > 8 else ""))
    return EXIT_OK


def _print_profile(bundle: Path, inputs: dict, args) -> dict:
    """Per-layer times of one inference of a --profile build, timed by the wasmtime host."""
    if args.engine != "wasmtime":
        raise UsageError("--profile runs on the wasmtime engine (in the browser: model.profile(inputs))")
    from .runtime.wasmtime_host import load

    from .runtime.config import RuntimeConfig

    limit = _memory_limit(args)
    model = load(bundle, args.variant, RuntimeConfig(memory_limit=limit) if limit else None)
    model.run(inputs)  # warm up: the first call also pays for lazy engine work
    result = model.profile(inputs)
    total = sum(layer["ms"] for layer in result["layers"]) or 1.0
    for layer in result["layers"]:
        print(f"{layer['export']:>10}  {layer['ms']:9.3f} ms  {100 * layer['ms'] / total:5.1f} %  {layer['node']}")
    print(f"{'total':>10}  {total:9.3f} ms")
    return result["outputs"]


def _number(x: float) -> str:
    """A tolerance as people write it: 1e-5, 0.001, 0."""
    if x == 0 or 1e-3 <= abs(x) < 1e3:
        return f"{x:g}"
    mantissa, exponent = f"{x:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _memory_limit(args) -> int | None:
    """--memory-limit in MiB as bytes (None: the hosts' default RuntimeConfig)."""
    if args.memory_limit is None:
        return None
    if args.memory_limit <= 0:
        raise UsageError("--memory-limit must be a positive number of MiB")
    return int(args.memory_limit * (1 << 20))


def _threads(args) -> int | None:
    """--threads k of run/check (None: the host's default; a --threads N build runs on min(N, cores))."""
    if getattr(args, "threads", None) is None:
        return None
    if args.threads < 1:
        raise UsageError(f"--threads must be a positive integer, got {args.threads}")
    return args.threads


def cmd_check(args) -> int:
    from .engines import NOISE_FACTOR, bit_identical, max_abs_diff, onnxruntime_noise, run_engine, within_contract

    bundle = _bundle(args.bundle)
    inputs = _parse_inputs(args.input) or _random_inputs(bundle, args.variant, args.seed)
    results = {}
    for engine in ("wasmtime", "browser", "onnxruntime"):
        _log(f"running {engine} ...")
        results[engine] = run_engine(engine, bundle, inputs, args.variant, _memory_limit(args), _threads(args))
    noise = None
    ok = True
    for name, value in results["wasmtime"].items():
        same = bit_identical(results["browser"][name], value)
        diff = max_abs_diff(value, results["onnxruntime"][name])
        close = within_contract(value, results["onnxruntime"][name], atol=args.atol, rtol=args.rtol)
        verdict = f"{'within' if close else 'OUTSIDE'} atol {_number(args.atol)} + rtol {_number(args.rtol)}"
        if not close and not args.strict:
            if noise is None:
                _log("running onnxruntime without graph optimizations (its own float noise) ...")
                noise = onnxruntime_noise(bundle, inputs, results["onnxruntime"], args.variant)
            close = diff <= NOISE_FACTOR * noise[name]
            verdict += (f", {'but within' if close else 'and beyond'} {NOISE_FACTOR:g}x onnxruntime's own difference "
                        f"between its optimization levels ({noise[name]:.3g})")
        ok = ok and same and close
        print(f"{name}: browser vs wasmtime bit-identical: {'yes' if same else 'NO'}; "
              f"max |wasmtime - onnxruntime| = {diff:.3g} ({verdict})")
    print("check passed" if ok else "check FAILED")
    return EXIT_OK if ok else EXIT_CHECK_FAILED


def cmd_serve(args) -> int:
    from .serve import serve

    dist = Path(args.dist)
    if not (dist / "index.html").is_file():
        raise UsageError(f"{dist} has no index.html: run `python build.py` first (or pass --dist)")
    if args.workers < 1:
        raise UsageError("--workers must be >= 1")
    serve(dist, host=args.host, port=args.port, processes=args.workers, threads=_threads(args))
    return EXIT_OK


def cmd_web(args) -> int:
    import time

    from .webpage import build_site

    started = time.monotonic()
    site = Path(args.output)
    index = build_site([Path(b) for b in args.bundles], site, title=args.title, log=_log)
    print(f"wrote {site}: {', '.join(index['models'])} in {time.monotonic() - started:.1f} s; host it on any static "
          "server that sends _headers' COOP/COEP headers (docs/deploy.md), e.g. `edgewasm serve --dist "
          f"{shlex.quote(str(site))}`")
    return EXIT_OK


def cmd_batch(args) -> int:
    from .batch import run_batch

    bundle = _bundle(args.bundle)
    inputs = {}
    for pair in args.input or []:
        name, sep, file = pair.partition("=")
        if not sep or not name or not file:
            raise UsageError(f"--input expects NAME=FILE.npy, got {pair!r}")
        if name in inputs:
            raise UsageError(f"--input {name} given twice")
        inputs[name] = Path(file)
    if not inputs:
        raise UsageError("give at least one --input NAME=FILE.npy")
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise UsageError("--chunk-rows must be >= 1")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be >= 1")
    report = run_batch(bundle, inputs, Path(args.output), variant=args.variant, scheduler=args.scheduler,
                       workers=args.workers, chunk_rows=args.chunk_rows, log=_log)
    print(report.summary())
    return EXIT_OK


def cmd_fuzz(args) -> int:
    from .fuzz import peak_memory_mib, run_campaigns

    if args.cases < 1:
        raise UsageError("--cases must be >= 1")
    campaigns = run_campaigns(args.cases, args.seed, log=_log)
    crashes = [c for campaign in campaigns for c in campaign.crashes]
    for crash in crashes:
        print(crash)
    print(f"{sum(c.cases for c in campaigns)} cases, {len(crashes)} crashes, peak memory {peak_memory_mib()} MiB")
    return EXIT_CHECK_FAILED if crashes else EXIT_OK


def cmd_loadtest(args) -> int:
    from .loadtest import load_test_dist

    dist = Path(args.dist)
    if not (dist / "models" / args.model / "manifest.json").is_file():
        raise UsageError(f"{dist}/models/{args.model} is not a bundle: run `python build.py` first (or pass --dist)")
    if args.clients < 1 or not 0 < args.seconds <= 600:
        raise UsageError("--clients must be >= 1 and --seconds in (0, 600]")
    if args.workers is not None:
        from .loadtest import load_test_workers

        if args.workers < 1:
            raise UsageError("--workers must be >= 1")
        _log(f"loading /api/infer of `edgewasm serve --workers 1` and `--workers {args.workers}` with "
             f"{args.clients} clients for {args.seconds} s each ...")
        reports = load_test_workers(dist, args.model, args.clients, args.seconds, args.workers)
        for _, report in reports:
            for error in sorted(set(report.errors))[:5]:
                print(f"error: {error}")
        base = reports[0][1].requests / reports[0][1].seconds
        for n, report in reports:
            print(f"{n} worker{'s' if n > 1 else ''}: {report.summary()} "
                  f"[{report.requests / report.seconds / base:.2f}x of 1 worker; server RSS over all processes]")
        return EXIT_CHECK_FAILED if any(r.errors for _, r in reports) else EXIT_OK
    _log(f"loading /api/infer with {args.clients} clients for {args.seconds} s ...")
    report = load_test_dist(dist, args.model, args.clients, args.seconds)
    for error in sorted(set(report.errors))[:5]:
        print(f"error: {error}")
    print(report.summary())
    return EXIT_CHECK_FAILED if report.errors else EXIT_OK


def cmd_conformance(args) -> int:
    from .conformance import run_conformance, table, write_markdown

    ops = [op.strip() for op in args.ops.split(",") if op.strip()] if args.ops is not None else None
    if ops == []:
        raise UsageError("--ops needs ONNX op types, e.g. --ops Conv,MatMul")
    if ops and args.all:
        raise UsageError("--all runs every op; leave out --ops")
    report = run_conformance(ops, engine=args.engine, log=_log, all_ops=args.all)
    written = write_markdown(report, Path(args.output))
    _log(f"wrote {', '.join(map(str, written))} ({len(report.outcomes)} cases in {report.seconds:.1f} s)")
    print(table(report))
    for outcome in report.outcomes:
        if outcome.status == "failed":
            print(f"FAILED {outcome.case} ({outcome.op}, {outcome.kind}): {outcome.reason}")
    print(report.summary())
    return EXIT_CHECK_FAILED if report.totals["failed"] else EXIT_OK


def cmd_bench(args) -> int:
    from .bench import BenchOptions, render_text, run_bench, write_html, write_json
    from .bench.engines import ENGINE_IDS
    from .bench.progress import Progress

    def names(text: str | None, default: tuple[str, ...]) -> list[str]:
        return list(default) if text is None else [n.strip() for n in text.split(",") if n.strip()]

    if args.repeats < 1 or args.cold_starts < 0:
        raise UsageError("--repeats must be >= 1 and --cold-starts >= 0")
    missing = [f for f in args.model or [] if not Path(f).is_file()]
    if missing:
        raise UsageError(f"no such ONNX file: {missing[0]}")
    options = BenchOptions(models=names(args.models, ("all",)), model_files=[Path(f) for f in args.model or []],
                           engines=names(args.engines, ENGINE_IDS), variants=names(args.variants, ()),
                           calibrate=args.calibrate, repeats=args.repeats, cold_starts=args.cold_starts, ort_web_version=args.ort_web_version)
    if args.threads is not None:
        from .bench.threads import parse_threads

        try:
            options.threads = parse_threads(args.threads)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    options.command = shlex.join(  # the reports print what reproduces them
        ["edgewasm", "bench", "--models", ",".join(options.models), "--engines", ",".join(options.engines),
         "--repeats", str(args.repeats), "--cold-starts", str(args.cold_starts)]
        + [a for f in args.model or [] for a in ("--model", f)]
        + (["--variants", ",".join(options.variants)] if options.variants else [])
        + (["--calibrate"] if options.calibrate else [])
        + (["--threads", ",".join(map(str, options.threads))] if max(options.threads) > 1 else [])
        + (["--ort-web-version", args.ort_web_version] if "onnxruntime-web" in options.engines else [])
        + [a for flag in ("json", "html") if getattr(args, flag) for a in (f"--{flag}", getattr(args, flag))])
    if not options.models and not options.model_files:
        raise UsageError("nothing to run: give --models and/or --model FILE.onnx")
    try:
        report = run_bench(options, Progress(1))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        write_json(report, Path(args.json))
        _log(f"wrote {args.json}")
    if args.html:
        write_html(report, Path(args.html))
        _log(f"wrote {args.html}")
    print(render_text(report), end="")
    failed = any(r["status"] == "error" for m in report["models"] for r in m["results"].values())
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgewasm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="compile an ONNX model into a bundle")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True, help="bundle directory to write")
    p.add_argument("--batch", type=int, default=1, help="value for a symbolic batch dimension (default 1)")
    p.add_argument("--shape", action="append", metavar="NAME=d0,d1,...",
                   help="fix every dimension of input NAME (repeatable, one per input), e.g. --shape x=1,3,48,320")
    p.add_argument("--max-bytes", type=_byte_size, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="refuse any constant, tensor or memory plan larger than this while compiling "
                        "(default 2G; K, M and G suffixes)")
    p.add_argument("--name", help="bundle name (default: the model file's stem)")
    p.add_argument("--chunk-bytes", type=int, default=DEFAULT_CHUNK_BYTES, metavar="N",
                   help="size of each weight chunk, which pages fetch in parallel and cache (default 1 MiB)")
    p.add_argument("--profile", action="store_true",
                   help="also export one entry point per layer, so hosts can time each layer")
    p.add_argument("--wat", action="store_true",
                   help="also write each variant's module as readable <variant>/model.wat beside model.wasm "
                        "(kernels named, each layer's calls commented)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="build the opt-in threaded module: imports one shared memory, runs on up to N threads "
                        "(default 1: the zero-import module)")
    from .variants import add_compression_arguments

    add_compression_arguments(p)
    p.set_defaults(func=cmd_compile)

    engines = ("wasmtime", "browser", "onnxruntime", "node-arm64", "wasmtime-arm64")  # *-arm64: .ci/arm64-setup (arm64.py)
    p = sub.add_parser("run", help="run a bundle on one engine")
    p.add_argument("bundle")
    p.add_argument("--input", action="append", metavar="NAME=FILE.npy")
    p.add_argument("--engine", choices=engines, default="wasmtime")
    p.add_argument("--variant")
    p.add_argument("-o", "--output", help="write the outputs to this .npz (keys are the ONNX output names)")
    p.add_argument("--profile", action="store_true", help="print per-layer times (a bundle compiled with --profile)")
    p.add_argument("--threads", type=int, metavar="K", help="threads for a --threads N build (default min(N, cores))")
    p.add_argument("--memory-limit", type=float, metavar="MIB", help=MEMORY_LIMIT_HELP)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="compare browser, wasmtime and onnxruntime on one bundle")
    p.add_argument("bundle")
    p.add_argument("--input", action="append", metavar="NAME=FILE.npy")
    p.add_argument("--variant")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs used when none are given")
    p.add_argument("--memory-limit", type=float, metavar="MIB", help=MEMORY_LIMIT_HELP)
    p.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance against onnxruntime (default 1e-5)")
    p.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance against onnxruntime (default 1e-4)")
    p.add_argument("--threads", type=int, metavar="K", help="threads for a --threads N build (default min(N, cores))")
    p.add_argument("--strict", action="store_true",
                   help="fail outside the tolerance even when onnxruntime's own optimization levels differ as much")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("fuzz", help="mutation-fuzz the ONNX importer and the manifest reader")
    p.add_argument("--cases", type=int, default=5000, help="cases per target (default 5000)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_fuzz)

    p = sub.add_parser("loadtest", help="load /api/infer of a built dist/ on loopback")
    p.add_argument("--dist", default="dist")
    p.add_argument("--model", default="digits")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--workers", type=int, metavar="N",
                   help="load `edgewasm serve --workers 1` and `--workers N` (child processes) and compare")
    p.set_defaults(func=cmd_loadtest)

    p = sub.add_parser("conformance", help="run onnx's backend node test cases and report per op")
    p.add_argument("--ops", metavar="OP,...", help="ONNX op types to run (default: the target ops)")
    p.add_argument("--all", action="store_true",
                   help="every in-scope node case of every op, with onnxruntime as the anchor (writes the "
                        "report and every case's outcome to <report>-all.md)")
    p.add_argument("--engine", choices=("wasmtime", "browser"), default="wasmtime",
                   help="browser also requires bit-identical outputs with wasmtime")
    p.add_argument("-o", "--output", default="docs/conformance.md",
                   help="Markdown report to write (default docs/conformance.md)")
    p.set_defaults(func=cmd_conformance)

    p = sub.add_parser("bench", help="benchmark the model suite on every engine side by side")
    p.add_argument("--models", metavar="NAME,...", help="models or groups (default: all = suite + real; '' for none). "
                   "suite: digits, digits-b64, mlp-b1, mlp-b32, mobilenetv2, resnet-block, transformer; real (from "
                   "the model zoo): efficientnet-b0, mobilenetv3-small, convnext-t, resnet18, bert-s128, "
                   "whisper-encoder, ssdlite-det, ppocr-det, lraspp-seg")
    p.add_argument("--model", action="append", metavar="FILE.onnx", help="also benchmark this ONNX file (repeatable)")
    p.add_argument("--engines", metavar="ENGINE,...",
                   help="default: wasmtime,browser,onnxruntime,onnxruntime-web,litert,litert-compat (browser = "
                        "edgewasm in Chromium; litert = LiteRT.js on the model's .tflite twin, litert-compat its "
                        "build without relaxed SIMD; twins need the keras extra). Also: wasmtime-deadline (the server host with the "
                        "default RuntimeConfig's deadline; with wasmtime, the report shows what the deadline costs)")
    p.add_argument("--variants", metavar="VARIANT,...",
                   help="compression variants to compare, one row each (e.g. fp32,int8,fp32+structured+distill; "
                        "distill fits seeded random inputs)")
    p.add_argument("--calibrate", action="store_true",
                   help="int8 variants are static (--calibrate of compile), calibrated on 16 rows of seeded random inputs")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per engine and model (default 5)")
    p.add_argument("--cold-starts", type=int, default=1, help="cold starts per engine and model (default 1)")
    p.add_argument("--ort-web-version", default="1.30.0", help="npm version of onnxruntime-web (default 1.30.0)")
    p.add_argument("--json", metavar="FILE", help="write the full report as JSON")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report with charts")
    p.add_argument("--threads", metavar="K,...",
                   help="also benchmark the --threads build on these thread counts, e.g. 1,2 (a column per k > 1 "
                        "for wasmtime and browser)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("serve", help="serve the demo page (with COOP/COEP headers)")
    p.add_argument("--dist", default="dist")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="uvicorn worker processes (default 1); each loads its own models")
    p.add_argument("--threads", type=int, metavar="K",
                   help="/api/infer runs a --threads N build on min(K, N) threads (default min(N, cores))")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("web", help="stage a static site for your bundles (Pyodide, the runtime, a page per manifest)")
    p.add_argument("bundles", nargs="+", metavar="BUNDLE", help="bundle directories (edgewasm compile's output)")
    p.add_argument("-o", "--output", required=True, metavar="SITE", help="directory to write the site into")
    p.add_argument("--title", help="the page's title (default: the models' names)")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("batch", help="score .npy data sets with a bundle on Dask (same bits as model.run)")
    p.add_argument("bundle")
    p.add_argument("--input", action="append", metavar="NAME=FILE.npy",
                   help="rows along axis 0, memory-mapped (repeat for every input)")
    p.add_argument("-o", "--output", required=True,
                   help="OUT.npy (several outputs: OUT_NAME.npy beside it) or a directory (NAME.npy each)")
    p.add_argument("--variant")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://host:8786); default: a LocalCluster here")
    p.add_argument("--workers", type=int, help="LocalCluster worker processes (default: the CPU count)")
    p.add_argument("--chunk-rows", type=int, metavar="R",
                   help="rows per task (default: about 8 MiB of input, a multiple of the model's batch)")
    p.set_defaults(func=cmd_batch)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    try:
        return args.func(args)
    except EdgewasmError as exc:
        print(f"edgewasm {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

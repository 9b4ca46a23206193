"""`edgewasm batch`: score a data set with a bundle on Dask, with the bits `model.run` gives.

The inputs are `.npy` files memory-mapped read-only; the rows (axis 0, the batch axis) are cut
into chunks of `chunk_rows` rows, one Dask task per chunk. A task opens the inputs and the output
files itself (memory maps: nothing but row numbers travels through the scheduler), runs its rows
through the model in batches of the bundle's static batch size (the last one padded with copies of
its last row and trimmed), and writes the results straight into the output `.npy` files, which the
client created beforehand with `np.lib.format.open_memmap`. So the memory of the client and of
every worker stays flat whatever the size of the data set: one chunk of rows at a time.

Every worker loads the bundle once (a per-process, per-thread cache) and keeps it for all the
chunks it runs. A row's result does not depend on the rows next to it, so the outputs are the
same bits as `model.run` on the same rows.

Paths are made absolute: with `scheduler=ADDRESS` (an existing cluster) the workers must see the
bundle, the inputs and the outputs at the same paths (the same machine or a shared filesystem).
Needs `dask[distributed]`: `pip install 'edgewasm[batch]'`.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .bundle import parse_manifest
from .errors import BundleError, EdgewasmError

INSTALL_HINT = "pip install 'edgewasm[batch]'  (or: pip install 'dask[distributed]')"
TARGET_CHUNK_BYTES = 8 << 20  # default chunk: about this many input bytes per task


class BatchError(EdgewasmError):
    """A batch job that cannot run as asked (bad input name, shape or dtype, missing dask...)."""


@dataclass
class BatchReport:
    rows: int
    chunk_rows: int
    chunks: int
    seconds: float
    outputs: dict[str, Path]
    workers: int
    # per task: (pid, bundle loads by that process so far, anonymous RSS in KiB after the task)
    tasks: list[tuple[int, int, int]] = field(default_factory=list)

    def loads_per_worker(self) -> dict[int, int]:
        loads: dict[int, int] = {}
        for pid, count, _ in self.tasks:
            loads[pid] = max(loads.get(pid, 0), count)
        return loads

    def anon_growth_kib(self) -> int:
        """The largest growth of a worker's anonymous memory between its first and later tasks."""
        by_pid: dict[int, list[int]] = {}
        for pid, _, anon in self.tasks:
            by_pid.setdefault(pid, []).append(anon)
        return max((max(v) - v[0] for v in by_pid.values()), default=0)

    def summary(self) -> str:
        return (f"{self.rows} rows in {self.chunks} chunks of {self.chunk_rows} on {self.workers} workers "
                f"in {self.seconds:.2f} s ({self.rows / max(self.seconds, 1e-9):.0f} rows/s) -> "
                + ", ".join(str(p) for p in self.outputs.values()))


def _dask():
    try:
        import distributed  # noqa: F401
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise BatchError(f"edgewasm batch needs dask.distributed, which is not installed: {INSTALL_HINT}") from None
    return Client, LocalCluster, as_completed


def output_paths(out: Path, names: list[str]) -> dict[str, Path]:
    """Where each output goes. `-o out.npy`: one output is that file; several are out_NAME.npy
    beside it. `-o DIR` (no .npy suffix): DIR/NAME.npy for every output."""
    safe = {n: re.sub(r"[^A-Za-z0-9_.-]", "_", n) for n in names}
    if len(set(safe.values())) != len(names):
        raise BatchError(f"output names {names} collide once made file names")
    if out.suffix == ".npy":
        if len(names) == 1:
            return {names[0]: out}
        return {n: out.with_name(f"{out.stem}_{safe[n]}.npy") for n in names}
    return {n: out / f"{safe[n]}.npy" for n in names}


def _open_input(name: str, path: Path) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BatchError(f"input {name!r}: cannot memory-map {path} as a .npy array: {exc}") from None
    if not isinstance(array, np.ndarray):
        raise BatchError(f"input {name!r}: {path} is not a single .npy array")
    return array


def plan(bundle: Path, inputs: dict[str, Path], variant: str | None = None):
    """Validate the inputs against the bundle: returns (variant spec, batch size, rows)."""
    try:
        spec = parse_manifest((bundle / "manifest.json").read_bytes()).variant(variant)
    except OSError as exc:
        raise BatchError(f"cannot read {bundle / 'manifest.json'}: {exc.strerror or exc}") from None
    if not spec.inputs or any(len(t.shape) == 0 for t in spec.inputs + spec.outputs):
        raise BatchError("batch needs a model whose inputs and outputs all have a batch axis (axis 0)")
    batch = spec.inputs[0].shape[0]
    odd = [t.name for t in spec.inputs + spec.outputs if t.shape[0] != batch]
    if odd:
        raise BatchError(f"batch needs every input and output to share the batch axis 0 of size {batch}; "
                         f"{odd} do not (compile with --batch to set it)")
    wanted = [t.name for t in spec.inputs]
    unknown = sorted(set(inputs) - set(wanted))
    if unknown:
        raise BatchError(f"the model has no input named {unknown[0]!r}; its inputs are {wanted}")
    missing = [n for n in wanted if n not in inputs]
    if missing:
        raise BatchError(f"missing --input for {missing} (the model's inputs are {wanted})")
    rows = None
    for t in spec.inputs:
        array = _open_input(t.name, inputs[t.name])
        if array.dtype.name != t.dtype:
            raise BatchError(f"input {t.name!r}: {inputs[t.name]} holds {array.dtype.name}, the model takes {t.dtype}")
        if array.ndim != len(t.shape) or array.shape[1:] != tuple(t.shape[1:]):
            raise BatchError(f"input {t.name!r}: {inputs[t.name]} has shape {array.shape}, the model takes "
                             f"(rows, {', '.join(map(str, t.shape[1:]))}) rows of {list(t.shape[1:])}")
        if rows is not None and array.shape[0] != rows:
            raise BatchError(f"inputs hold different numbers of rows ({rows} and {array.shape[0]} in {t.name!r})")
        rows = array.shape[0]
    if rows == 0:
        raise BatchError("the inputs hold no rows")
    return spec, batch, rows


# ---- on the workers ----

_cache = threading.local()
_loads = [0]
_loads_lock = threading.Lock()
_all_caches: list[dict] = []  # every thread's cache, emptied at exit (wasmtime objects before wasmtime)


def _drop_models() -> None:
    for models in _all_caches:
        models.clear()


atexit.register(_drop_models)


def _model(bundle: str, variant: str | None):
    models = getattr(_cache, "models", None)
    if models is None:
        models = _cache.models = {}
        with _loads_lock:
            _all_caches.append(models)
    key = (bundle, variant)
    if key not in models:
        from .runtime.wasmtime_host import load

        models[key] = load(bundle, variant)
        with _loads_lock:
            _loads[0] += 1
    return models[key]


def _anon_kib() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_chunk(bundle: str, variant: str | None, inputs: dict[str, str], outputs: dict[str, str],
              start: int, stop: int) -> tuple[int, int, int]:
    """Run rows [start, stop) and write them into the output files; returns (pid, loads, anon KiB)."""
    import socket

    try:
        sources = {name: np.load(path, mmap_mode="r") for name, path in inputs.items()}
        targets = {name: np.load(path, mmap_mode="r+") for name, path in outputs.items()}
        model = _model(bundle, variant)
        spec = model.variant
    except (OSError, BundleError) as exc:
        raise BatchError(f"the worker on {socket.gethostname()} cannot open {exc}: workers must see the bundle, "
                         "the inputs and the outputs at the same paths as the client") from None
    batch = spec.inputs[0].shape[0]
    for first in range(start, stop, batch):
        last = min(first + batch, stop)
        feeds = {}
        for t in spec.inputs:
            rows = np.asarray(sources[t.name][first:last])
            if last - first < batch:  # pad with the last row; the padded rows' results are dropped
                rows = np.concatenate([rows, np.repeat(rows[-1:], batch - (last - first), axis=0)])
            feeds[t.name] = np.ascontiguousarray(rows, dtype=sources[t.name].dtype)
        results = model.run(feeds)
        for t in spec.outputs:
            targets[t.name][first:last] = results[t.name][:last - first]
    for target in targets.values():
        target.flush()
    del sources, targets
    return os.getpid(), _loads[0], _anon_kib()


# ---- on the client ----

def default_chunk_rows(spec, batch: int) -> int:
    row_bytes = sum(t.nbytes for t in spec.inputs) // batch or 1
    return max(1, TARGET_CHUNK_BYTES // row_bytes // batch) * batch


def run_batch(bundle: Path, inputs: dict[str, Path], out: Path, *, variant: str | None = None,
              scheduler: str | None = None, workers: int | None = None, chunk_rows: int | None = None,
              log: Callable[[str], None] | None = None, progress: bool = True) -> BatchReport:
    """Score every row of `inputs` (name -> .npy path) with the bundle; write outputs under `out`."""
    bundle = Path(bundle).resolve()
    inputs = {n: Path(p).resolve() for n, p in inputs.items()}
    spec, batch, rows = plan(bundle, inputs, variant)
    if chunk_rows is None:
        chunk_rows = default_chunk_rows(spec, batch)
    if chunk_rows < 1:
        raise BatchError("--chunk-rows must be >= 1")
    Client, LocalCluster, as_completed = _dask()
    paths = output_paths(Path(out).resolve(), [t.name for t in spec.outputs])
    for t in spec.outputs:
        paths[t.name].parent.mkdir(parents=True, exist_ok=True)
        try:
            dtype = np.dtype(t.dtype).newbyteorder("<")
        except TypeError:
            raise BatchError(f"output {t.name!r}: dtype {t.dtype} cannot be written to .npy here "
                             "(install ml_dtypes)") from None
        np.lib.format.open_memmap(paths[t.name], mode="w+", dtype=dtype, shape=(rows, *t.shape[1:])).flush()

    bounds = [(s, min(s + chunk_rows, rows)) for s in range(0, rows, chunk_rows)]
    cluster = None
    started = time.perf_counter()
    if scheduler is None:
        n = workers or max(1, min(os.cpu_count() or 1, len(bounds)))
        if log:
            log(f"starting a local Dask cluster of {n} worker processes ...")
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError, ValueError) as exc:
            raise BatchError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        if not client.scheduler_info().get("workers"):
            try:
                client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise BatchError(f"the Dask cluster at {scheduler} has no workers (waited 60 s)") from None
        n_workers = len(client.scheduler_info().get("workers", {}))
        args = (str(bundle), variant, {k: str(v) for k, v in inputs.items()},
                {k: str(v) for k, v in paths.items()})
        futures = [client.submit(run_chunk, *args, s, e, key=f"edgewasm-batch-{s}-{e}-{time.time_ns()}",
                                 pure=False) for s, e in bounds]
        report = BatchReport(rows, chunk_rows, len(bounds), 0.0, paths, n_workers)
        done_rows, shown = 0, 0.0
        size = {f.key: e - s for f, (s, e) in zip(futures, bounds)}
        for future in as_completed(futures):
            try:
                report.tasks.append(future.result())
            except EdgewasmError as exc:
                raise BatchError(f"a chunk failed: {exc}") from None
            done_rows += size[future.key]
            now = time.perf_counter()
            if progress and (now - shown >= 0.2 or done_rows == rows):  # at most 5 updates a second
                shown = now
                _progress(done_rows, rows, len(report.tasks), len(bounds), time.perf_counter() - started)
        if progress:
            sys.stderr.write("\n")
            sys.stderr.flush()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    report.seconds = time.perf_counter() - started
    return report


def _progress(done: int, total: int, chunks: int, all_chunks: int, seconds: float) -> None:
    width = 30
    filled = int(width * done / total)
    rate = done / max(seconds, 1e-9)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows, "
                     f"{chunks}/{all_chunks} chunks, {rate:.0f} rows/s, {seconds:.1f} s")
    sys.stderr.flush()

"""`edgewasm serve --workers N`: the app built in each uvicorn worker process from the environment.

uvicorn's worker processes cannot be handed an app object: each one imports
`edgewasm.serve.workers:app_from_environment` (a factory) and builds its own app from
`EDGEWASM_DIST`, so every process loads the models it serves by itself (no state is shared:
each keeps its own wasmtime instances). Every `/api/infer` answer names the process that
computed it in its `x-edgewasm-pid` header.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette

from ..errors import EdgewasmError

DIST_VARIABLE = "EDGEWASM_DIST"
THREADS_VARIABLE = "EDGEWASM_SERVE_THREADS"  # serve --threads K, for every worker process
FACTORY = "edgewasm.serve.workers:app_from_environment"


def app_from_environment() -> Starlette:
    from .app import create_app

    dist = os.environ.get(DIST_VARIABLE)
    if not dist:
        raise EdgewasmError(f"{DIST_VARIABLE} is not set: it names the dist/ directory each worker serves")
    threads = os.environ.get(THREADS_VARIABLE)
    return create_app(Path(dist), threads=int(threads) if threads else None)


def serve_workers(dist: Path, host: str, port: int, workers: int, threads: int | None = None) -> None:
    """Run uvicorn with `workers` processes (its supervisor restarts a worker that dies)."""
    import uvicorn

    dist = Path(dist).resolve()
    if not (dist / "index.html").is_file():
        raise EdgewasmError(f"{dist} has no index.html; build it first (`python build.py`)")
    os.environ[DIST_VARIABLE] = str(dist)
    if threads is not None:
        os.environ[THREADS_VARIABLE] = str(threads)
    print(f"serving {dist} at http://{host}:{port}/ with {workers} worker processes "
          "(inference API at /api/infer)", flush=True)
    uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers, log_level="warning")

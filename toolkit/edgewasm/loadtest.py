"""A bounded load test of `/api/infer` on loopback: N keep-alive clients for T seconds.

Reports requests, errors, throughput, p50/p99 latency and the server process's memory (RSS)
after warm-up and at the end, so a leak shows as growth. Bounded in time and in requests; it
only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

WARMUP_SECONDS = 2.0


@dataclass
class LoadReport:
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss_after_warmup_mib: float = 0.0
    rss_end_mib: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + len(self.errors)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def summary(self) -> str:
        return (f"{self.requests} requests from {self.clients} clients in {self.seconds:.1f} s "
                f"({self.requests / self.seconds:.0f}/s), {len(self.errors)} errors, "
                f"p50 {self.percentile(50):.2f} ms, p99 {self.percentile(99):.2f} ms, "
                f"RSS {self.rss_after_warmup_mib:.1f} MiB after warm-up -> {self.rss_end_mib:.1f} MiB at the end")


def rss_mib() -> float:
    """Resident memory of this process (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_load(origin: str, body: bytes, clients: int = 16, seconds: float = 20.0,
             max_requests: int = 200_000) -> LoadReport:
    """POST `body` to origin/api/infer from `clients` threads until time or requests run out."""
    parts = urlsplit(origin)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the load test only targets loopback addresses")
    report = LoadReport(clients, seconds)
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds
    budget = [max_requests]

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            t0 = time.perf_counter()
            try:
                connection.request("POST", "/api/infer", body, {"content-type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                ok = response.status == 200 and b'"outputs"' in payload
                outcome = None if ok else f"HTTP {response.status}: {payload[:120]!r}"
            except (OSError, http.client.HTTPException) as exc:
                outcome = f"{type(exc).__name__}: {exc}"
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                if outcome is None:
                    report.latencies_ms.append(elapsed)
                else:
                    report.errors.append(outcome)
        connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(min(WARMUP_SECONDS, seconds / 2))
    report.rss_after_warmup_mib = rss_mib()
    for t in threads:
        t.join(timeout=seconds + 60)
    report.seconds = time.monotonic() - started
    report.rss_end_mib = rss_mib()
    return report


def infer_body(bundle: Path, model_name: str, seed: int = 0) -> bytes:
    """A valid /api/infer request for the bundle's default variant, with seeded random inputs."""
    import numpy as np

    from .bundle import parse_manifest

    spec = parse_manifest((bundle / "manifest.json").read_bytes()).variant()
    rng = np.random.default_rng(seed)
    inputs = {t.name: {"shape": list(t.shape), "data": rng.standard_normal(t.size).astype(np.float32).tolist()}
              for t in spec.inputs}
    return json.dumps({"model": model_name, "inputs": inputs}).encode()


def load_test_dist(dist: Path, model: str, clients: int, seconds: float) -> LoadReport:
    """Serve `dist` on a free loopback port in this process and load it."""
    from .serve import ServerThread, create_app

    with ServerThread(create_app(dist)) as server:
        return run_load(server.origin, infer_body(dist / "models" / model, model), clients, seconds)

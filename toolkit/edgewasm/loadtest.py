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
             max_requests: int = 200_000, rss=None) -> LoadReport:
    """POST `body` to origin/api/infer from `clients` threads until time or requests run out.

    `rss`: what to measure the server's memory with (default: this process, the in-process server)."""
    rss = rss or rss_mib
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
    report.rss_after_warmup_mib = rss()
    for t in threads:
        t.join(timeout=seconds + 60)
    report.seconds = time.monotonic() - started
    report.rss_end_mib = rss()
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


# ---- `edgewasm serve --workers N` in a child process: throughput for 1 and N worker processes ----

def _tree_rss_mib(root: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc; 0 elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


class ServerProcess:
    """`edgewasm serve --dist DIST --workers N` on a free loopback port, as a child process.

    Ready once `workers` distinct processes have answered `/api/infer` (the `x-edgewasm-pid`
    header), so a load test never measures a server whose workers are still starting.
    """

    def __init__(self, dist: Path, workers: int, body: bytes, start_timeout: float = 60.0):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.dist, self.workers, self.body, self.start_timeout = Path(dist), workers, body, start_timeout
        self.process = None
        self.pids: set[int] = set()

    def __enter__(self) -> "ServerProcess":
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [sys.executable, "-m", "edgewasm.cli", "serve", "--dist", str(self.dist), "--port", str(self.port),
             "--workers", str(self.workers)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.start_timeout
        while len(self.pids) < self.workers:
            if self.process.poll() is not None:
                raise RuntimeError(f"edgewasm serve exited: {self.process.stderr.read().decode()[-500:]}")
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"edgewasm serve --workers {self.workers} answered from {len(self.pids)} "
                                   f"processes within {self.start_timeout} s")
            threads = [threading.Thread(target=self._probe) for _ in range(2 * self.workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if len(self.pids) < self.workers:
                time.sleep(0.05)
        return self

    def _probe(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", "/api/infer", self.body, {"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            pid = response.getheader("x-edgewasm-pid")
            if response.status == 200 and pid:
                self.pids.add(int(pid))
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()

    def rss_mib(self) -> float:
        return _tree_rss_mib(self.process.pid) if self.process else 0.0

    def __exit__(self, *exc_info) -> None:
        import signal
        import subprocess

        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's supervisor stops its workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def load_test_workers(dist: Path, model: str, clients: int, seconds: float,
                      workers: int) -> list[tuple[int, LoadReport]]:
    """The same load against `edgewasm serve` with 1 and with `workers` processes (each a child)."""
    body = infer_body(dist / "models" / model, model)
    reports = []
    for n in sorted({1, workers}):
        with ServerProcess(dist, n, body) as server:
            report = run_load(server.origin, body, clients, seconds, rss=server.rss_mib)
        reports.append((n, report))
    return reports

"""A short bounded load test of /api/infer on loopback (the full 16 x 20 s run is
`edgewasm loadtest`; its figures are in docs/reliability.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import edgewasm
from edgewasm.loadtest import run_load

from models import make_mlp


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    dist = tmp_path_factory.mktemp("site") / "dist"
    (dist / "models").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html>")
    onnx_path = dist.parent / "m.onnx"
    onnx_path.write_bytes(make_mlp([64, 32, 10]).SerializeToString())
    edgewasm.compile(onnx_path, dist / "models" / "digits")
    return dist


def test_loadtest_command_reports_zero_errors(dist):
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "loadtest", "--dist", dist,
                             "--clients", "4", "--seconds", "3"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert "from 4 clients" in line and ", 0 errors," in line
    assert int(line.split()[0]) > 10


def test_loadtest_counts_errors_and_refuses_foreign_hosts(dist):
    from edgewasm.serve import ServerThread, create_app

    with ServerThread(create_app(dist)) as server:
        report = run_load(server.origin, b'{"model": "missing", "inputs": {"x": {}}}', clients=2, seconds=1)
    assert report.requests > 0 and len(report.errors) == report.requests
    with pytest.raises(ValueError, match="loopback"):
        run_load("http://10.0.0.1:80", b"{}", clients=1, seconds=1)

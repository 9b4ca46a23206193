"""`edgewasm serve --workers N`: uvicorn worker processes, each answering /api/infer with the same
bits; `edgewasm loadtest --workers N` compares 1 and N processes."""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import threading

import numpy as np
import pytest

import edgewasm
from edgewasm.errors import EdgewasmError
from edgewasm.loadtest import ServerProcess, infer_body
from edgewasm.serve.workers import DIST_VARIABLE, app_from_environment

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


def _post(port: int, body: bytes) -> tuple[int, int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/api/infer", body, {"content-type": "application/json"})
        response = connection.getresponse()
        payload = json.loads(response.read())
        return response.status, int(response.getheader("x-edgewasm-pid")), payload
    finally:
        connection.close()


def test_two_workers_answer_from_two_processes_with_the_same_bits(dist):
    body = infer_body(dist / "models" / "digits", "digits", seed=3)
    request = json.loads(body)
    x = np.asarray(request["inputs"]["x"]["data"], np.float32).reshape(request["inputs"]["x"]["shape"])
    expected = edgewasm.load(dist / "models" / "digits").run({"x": x})["y"]

    with ServerProcess(dist, 2, body) as server:
        assert len(server.pids) == 2 and server.process.pid not in server.pids  # two workers, not the supervisor
        answers = []

        def ask() -> None:
            for _ in range(10):
                answers.append(_post(server.port, body))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 40
        for status, pid, payload in answers:
            assert status == 200 and pid in server.pids
            out = payload["outputs"]["y"]
            got = np.frombuffer(base64.b64decode(out["b64"]), "<f4").reshape(out["shape"])
            assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
        # each process loaded the model itself; a bad request is still a 400 from a worker
        status, pid, payload = _post(server.port, b'{"model": "digits", "inputs": {"x": 1}}')
        assert status == 400 and pid in server.pids and "input 'x'" in payload["error"]
    assert server.process.returncode is not None  # stopped with its workers


def test_factory_reads_the_environment(dist, monkeypatch):
    monkeypatch.delenv(DIST_VARIABLE, raising=False)
    with pytest.raises(EdgewasmError, match=DIST_VARIABLE):
        app_from_environment()
    monkeypatch.setenv(DIST_VARIABLE, str(dist))
    from starlette.testclient import TestClient

    with TestClient(app_from_environment()) as client:
        response = client.post("/api/infer", content=infer_body(dist / "models" / "digits", "digits"))
        assert response.status_code == 200 and response.headers["x-edgewasm-pid"].isdigit()


def test_serve_refuses_zero_workers(dist):
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "serve", "--dist", dist, "--workers", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--workers must be >= 1" in result.stderr


def test_loadtest_reports_one_and_n_workers(dist):
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "loadtest", "--dist", dist, "--clients", "4",
                             "--seconds", "2", "--workers", "2"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("1 worker: ") and lines[1].startswith("2 workers: "), lines
    for line in lines:
        assert ", 0 errors," in line and "x of 1 worker" in line
        assert int(line.split(": ", 1)[1].split()[0]) > 10  # requests served

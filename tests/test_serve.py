"""The dev server: only dist/ is reachable, every response is cross-origin isolated, and
`/api/infer` validates everything, limits sizes and concurrency, and answers with wasmtime's bits."""

from __future__ import annotations

import base64
import os

import numpy as np
import pytest
from onnx import TensorProto
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

import edgewasm
from edgewasm.serve import create_app
from edgewasm.serve.infer import InferenceApi

from models import make_mlp
from test_runtime_dtypes import attention_mask_model
from test_input_dtypes import SHAPE, cast_model


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    dist = root / "dist"
    (dist / "models").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>t</title>")
    (dist / "sub").mkdir()
    (dist / "sub" / "page.html").write_text("sub")
    (root / "secret.txt").write_text("outside dist")
    os.symlink(root / "secret.txt", dist / "link.txt")
    os.symlink(dist / "index.html", dist / "inner-link.html")
    (dist / ".hidden").write_text("hidden")
    (root / "m.onnx").write_bytes(make_mlp([6, 5, 3]).SerializeToString())
    edgewasm.compile(root / "m.onnx", dist / "models" / "mlp", batch=2)
    edgewasm.compile(cast_model(TensorProto.FLOAT16), dist / "models" / "half")
    (root / "mask.onnx").write_bytes(attention_mask_model().SerializeToString())
    edgewasm.compile(root / "mask.onnx", dist / "models" / "mask", shapes={"ids": (1, 4), "mask": (1, 4)})
    return dist


@pytest.fixture(scope="module")
def client(dist):
    with TestClient(create_app(dist)) as c:
        yield c


def test_serves_dist_with_isolation_headers(client):
    response = client.get("/")
    assert response.status_code == 200 and "<title>t</title>" in response.text
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cross-origin-embedder-policy"] == "require-corp"
    assert client.get("/sub/page.html").text == "sub"
    wasm = client.get("/models/mlp/fp32/model.wasm")
    assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt",
    "/sub%2fpage.html", "/sub%5cpage.html", "/link.txt", "/inner-link.html", "/.hidden", "/nothing.html",
    "/sub/page.html%00.png",
])
def test_refuses_every_way_out(client, path):
    response = client.get(path)
    assert response.status_code == 404, path
    assert "outside dist" not in response.text


def test_static_is_read_only(client):
    assert client.post("/index.html").status_code == 405


def request_body(x):
    return {"model": "mlp", "inputs": {"x": {"shape": list(x.shape), "data": x.reshape(-1).tolist()}}}


def test_infer_returns_the_wasmtime_bits(client, dist):
    x = np.random.default_rng(0).standard_normal((2, 6)).astype(np.float32)
    want = edgewasm.load(dist / "models" / "mlp").run({"x": x})["y"]
    for body in (request_body(x),
                 {"model": "mlp", "inputs": {"x": {"shape": [2, 6], "b64": base64.b64encode(x.tobytes()).decode()}}}):
        response = client.post("/api/infer", json=body)
        assert response.status_code == 200, response.text
        out = response.json()["outputs"]["y"]
        got = np.frombuffer(base64.b64decode(out["b64"]), "<f4").reshape(out["shape"])
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
        assert response.json()["variant"] == "fp32" and response.json()["latency_ms"] >= 0


def test_infer_takes_an_input_in_its_own_dtype(client, dist):
    """A float16 input (the model casts it to FLOAT) travels as float16 bytes or numbers."""
    rng = np.random.default_rng(1)
    x, b = rng.standard_normal(SHAPE).astype(np.float16), rng.standard_normal(SHAPE).astype(np.float32)
    want = edgewasm.load(dist / "models" / "half").run({"x": x, "b": b})["y"]
    b_spec = {"shape": SHAPE, "b64": base64.b64encode(b.tobytes()).decode()}
    for x_spec in ({"shape": SHAPE, "dtype": "float16", "b64": base64.b64encode(x.tobytes()).decode()},
                   {"shape": SHAPE, "dtype": "float16", "data": x.reshape(-1).astype(float).tolist()}):
        response = client.post("/api/infer", json={"model": "half", "inputs": {"x": x_spec, "b": b_spec}})
        assert response.status_code == 200, response.text
        out = response.json()["outputs"]["y"]
        got = np.frombuffer(base64.b64decode(out["b64"]), "<f4").reshape(out["shape"])
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    wrong = {"shape": SHAPE, "dtype": "bfloat16", "b64": base64.b64encode(x.tobytes()).decode()}
    response = client.post("/api/infer", json={"model": "half", "inputs": {"x": wrong, "b": b_spec}})
    assert response.status_code == 400 and "expected float16" in response.json()["error"]


@pytest.mark.parametrize("body,status,message", [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    ({"model": "../etc", "inputs": {"x": {}}}, 400, "model name"),
    ({"model": "nope", "inputs": {"x": {"shape": [1], "data": [1]}}}, 404, "no model named 'nope'"),
    ({"model": "mlp", "variant": "int8", "inputs": {"x": {"shape": [2, 6], "data": [0] * 12}}}, 404, "no variant"),
    ({"model": "mlp"}, 400, "'inputs'"),
    ({"model": "mlp", "inputs": {"x": {"shape": [2, 6], "data": [0] * 11}}}, 400, "12 numbers"),
    ({"model": "mlp", "inputs": {"x": {"shape": [3, 6], "data": [0] * 18}}}, 400, "expected (2, 6)"),
    ({"model": "mlp", "inputs": {"y": {"shape": [2, 6], "data": [0] * 12}}}, 400, "missing ['x']"),
    ({"model": "mlp", "inputs": {"x": {"shape": [2, -6], "data": []}}}, 400, "positive integers"),
    ({"model": "mlp", "inputs": {"x": {"shape": [2, 6], "data": ["a"] * 12}}}, 400, "numbers"),
    ({"model": "mlp", "inputs": {"x": {"shape": [2, 6], "b64": "!!"}}}, 400, "base64"),
    ({"model": "mlp", "inputs": {"x": {"shape": [2, 6], "dtype": "float64", "data": [0] * 12}}}, 400, "float32"),
    ({"model": "mlp", "inputs": {"x": {"shape": [2, 6], "dtype": "complex64", "data": [0] * 12}}}, 400,
     "not an input dtype"),
    ({"model": "mlp", "inputs": {"x": {"shape": [2, 6], "dtype": "int8", "data": [300] * 12}}}, 400, "int8 integers"),
    ({"model": "mlp", "inputs": {"x": {"shape": [2, 6], "dtype": "float16", "b64": "AAAA"}}}, 400, "needs 24"),
])
def test_infer_rejects_bad_requests(client, body, status, message):
    response = client.post("/api/infer", content=body) if isinstance(body, bytes) else client.post("/api/infer", json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_infer_limits_body_size_and_methods(client):
    huge = b'{"model": "mlp", "inputs": {"x": {"shape": [1], "data": [' + b"0," * (5 << 20) + b"0]}}}"
    assert client.post("/api/infer", content=huge).status_code == 413
    assert client.get("/api/infer").status_code == 405


def test_infer_answers_503_past_its_queue(dist):
    app = Starlette(routes=[Route("/api/infer", InferenceApi(dist / "models", queue=0), methods=["POST"])])
    with TestClient(app) as c:
        response = c.post("/api/infer", json=request_body(np.zeros((2, 6), np.float32)))
    assert response.status_code == 503 and "busy" in response.json()["error"]


def test_infer_takes_and_returns_integer_and_bool_tensors(client, dist):
    """int64 token ids and masks in (as numbers or bytes), int64 and bool outputs back in their dtypes."""
    ids, mask = np.array([[3, 7, 1, 9]], np.int64), np.array([[1, 1, 1, 0]], np.int64)
    want = edgewasm.load(dist / "models" / "mask").run({"ids": ids, "mask": mask})
    for ids_spec in ({"shape": [1, 4], "dtype": "int64", "data": ids.reshape(-1).tolist()},
                     {"shape": [1, 4], "dtype": "int64", "b64": base64.b64encode(ids.tobytes()).decode()}):
        mask_spec = {"shape": [1, 4], "dtype": "int64", "data": mask.reshape(-1).tolist()}
        response = client.post("/api/infer", json={"model": "mask", "inputs": {"ids": ids_spec, "mask": mask_spec}})
        assert response.status_code == 200, response.text
        outputs = response.json()["outputs"]
        for name in ("big", "bucket", "embedded"):
            out = outputs[name]
            assert out["dtype"] == str(want[name].dtype)
            got = np.frombuffer(base64.b64decode(out["b64"]), np.dtype(out["dtype"]).newbyteorder("<"))
            np.testing.assert_array_equal(got.reshape(out["shape"]), want[name])
    bad = client.post("/api/infer", json={"model": "mask", "inputs": {
        "ids": {"shape": [1, 4], "dtype": "int64", "data": [1.5, 2, 3, 4]}, "mask": mask_spec}})
    assert bad.status_code == 400 and "not int64 integers" in bad.json()["error"]

"""Front doors (issue 15): PyTorch modules, JAX functions / Flax modules and Keras 3 models compile
with one `edgewasm.compile` call and match the framework's own output; `compile --wat`.

The frameworks come from the extras (`pip install 'edgewasm[torch,jax,keras]'`); CI installs them
(.ci/run), so under CI=true a missing framework fails instead of skipping."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgewasm
import edgewasm.errors
from edgewasm.frontdoors import ExportError, FrameworkMissingError, kind_of

ROOT = Path(__file__).resolve().parents[1]


def need(*modules: str):
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            if os.environ.get("CI") == "true":
                raise
            pytest.skip(f"{module} is not installed (pip install 'edgewasm[torch,jax,keras]')")
    return importlib.import_module(modules[0])


def manifest(path: Path) -> dict:
    return json.loads(Path(path).read_text())


# ---- PyTorch ----

def _cnn(torch):
    nn = torch.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.conv2 = nn.Conv2d(8, 12, 3, stride=2)
            self.bn2 = nn.BatchNorm2d(12)
            self.head = nn.Linear(12, 5)

        def forward(self, image):
            x = nn.functional.gelu(self.bn1(self.conv1(image)))
            x = nn.functional.gelu(self.bn2(self.conv2(x)))
            return self.head(x.mean(dim=(2, 3)))

    torch.manual_seed(0)
    model = CNN()
    model.train()
    with torch.no_grad():  # non-trivial BatchNorm running statistics
        for _ in range(4):
            model(torch.randn(6, 3, 11, 13) * 2 + 0.5)
    return model.eval()


def test_torch_cnn_batchnorm_gelu_matches_torch(tmp_path):
    torch = need("torch", "onnxscript")
    model = _cnn(torch)
    x = np.random.default_rng(1).standard_normal((2, 3, 11, 13)).astype(np.float32)
    logs = []
    path = edgewasm.compile(model, tmp_path / "b", example_inputs=(x,), log=logs.append)
    report = manifest(path)["variants"]["fp32"]["report"]
    assert report["exporter"] == "torch.onnx.export(dynamo=True)"
    assert any("exported with torch.onnx.export(dynamo=True)" in line for line in logs)
    compiled = edgewasm.load(tmp_path / "b")
    assert [t.name for t in compiled.variant.inputs] == ["image"]
    y = compiled.run({"image": x})
    (got,) = y.values()
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    assert model.training is False


def test_torch_several_inputs_by_keyword(tmp_path):
    torch = need("torch", "onnxscript")

    class Mixer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(6, 4)

        def forward(self, features, bias, *, scale):
            return torch.tanh(self.proj(features) + bias) * scale, features.sum(dim=1)

    torch.manual_seed(3)
    model = Mixer().eval()
    rng = np.random.default_rng(2)
    feeds = {"features": rng.standard_normal((3, 6)).astype(np.float32),
             "bias": rng.standard_normal((1, 4)).astype(np.float32),
             "scale": rng.standard_normal((3, 4)).astype(np.float32)}
    path = edgewasm.compile(model, tmp_path / "b", example_inputs=feeds)
    compiled = edgewasm.load(path.parent)
    assert [t.name for t in compiled.variant.inputs] == ["features", "bias", "scale"]
    got = list(compiled.run(feeds).values())
    with torch.no_grad():
        want = model(torch.from_numpy(feeds["features"]), torch.from_numpy(feeds["bias"]),
                     scale=torch.from_numpy(feeds["scale"]))
    assert len(got) == 2
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-5, rtol=1e-4)


def test_torch_falls_back_to_torchscript_and_says_so(tmp_path):
    torch = need("torch", "onnxscript")

    class Branchy(torch.nn.Module):  # data-dependent control flow: torch.export refuses, tracing takes the branch
        def forward(self, x):
            if x.sum() > 0:
                return torch.relu(x) * 2
            return x - 1

    x = np.abs(np.random.default_rng(4).standard_normal((2, 5)).astype(np.float32))
    logs = []
    path = edgewasm.compile(Branchy(), tmp_path / "b", example_inputs=(x,), log=logs.append)
    assert manifest(path)["variants"]["fp32"]["report"]["exporter"] == "torch.onnx.export(dynamo=False) (TorchScript)"
    assert any("falling back to TorchScript" in line for line in logs)
    (got,) = edgewasm.load(path.parent).run({"x": x}).values()
    np.testing.assert_allclose(got, np.maximum(x, 0) * 2, atol=1e-6)
    with pytest.raises(ExportError, match="dynamo"):
        edgewasm.compile(Branchy(), tmp_path / "c", example_inputs=(x,), exporter="dynamo")


def test_torch_compression_variants(tmp_path):
    torch = need("torch", "onnxscript")
    model = _cnn(torch)
    x = np.random.default_rng(5).standard_normal((1, 3, 11, 13)).astype(np.float32)
    path = edgewasm.compile(model, tmp_path / "b", example_inputs=(x,), variants="fp32,fp16,int8")
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    scale = float(np.abs(want).max())
    for variant, tolerance in (("fp32", 1e-4), ("fp16", 0.02), ("int8", 0.15)):
        (got,) = edgewasm.load(path.parent, variant=variant).run({"image": x}).values()
        assert np.abs(got - want).max() <= tolerance * max(scale, 1.0), variant
    assert list(manifest(path)["variants"]) == ["fp32", "fp16", "int8"]


# ---- JAX ----

def test_jax_mlp_matches_jax(tmp_path):
    jax = need("jax", "jax2onnx")
    jnp = jax.numpy
    rng = np.random.default_rng(6)
    w1, b1 = rng.standard_normal((12, 16)).astype(np.float32) * 0.4, rng.standard_normal(16).astype(np.float32)
    w2, b2 = rng.standard_normal((16, 3)).astype(np.float32) * 0.4, rng.standard_normal(3).astype(np.float32)

    def mlp(x):
        return jnp.tanh(jax.nn.relu(x @ w1 + b1) @ w2 + b2)

    x = rng.standard_normal((3, 12)).astype(np.float32)
    path = edgewasm.compile(jax.jit(mlp), tmp_path / "b", example_inputs=(x,), variants="fp32,fp16,int8")
    assert manifest(path)["variants"]["fp32"]["report"]["exporter"] == "jax2onnx.to_onnx"
    compiled = edgewasm.load(path.parent)
    assert [t.name for t in compiled.variant.inputs] == ["x"]
    (got,) = compiled.run({"x": x}).values()
    want = np.asarray(mlp(x))
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    for variant in ("fp16", "int8"):
        (approx,) = edgewasm.load(path.parent, variant=variant).run({"x": x}).values()
        assert np.abs(approx - want).max() < 0.1, variant


def test_jax_function_of_two_named_inputs(tmp_path):
    jax = need("jax", "jax2onnx")
    jnp = jax.numpy

    def attend(query, keys):
        return jax.nn.softmax(query @ keys.T / 2.0, axis=-1)

    rng = np.random.default_rng(7)
    feeds = {"query": rng.standard_normal((4, 8)).astype(np.float32),
             "keys": rng.standard_normal((5, 8)).astype(np.float32)}
    path = edgewasm.compile(attend, tmp_path / "b", example_inputs=feeds)
    compiled = edgewasm.load(path.parent)
    assert [t.name for t in compiled.variant.inputs] == ["query", "keys"]
    (got,) = compiled.run(feeds).values()
    np.testing.assert_allclose(got, np.asarray(attend(jnp.asarray(feeds["query"]), jnp.asarray(feeds["keys"]))),
                               atol=1e-5, rtol=1e-4)


def test_flax_linen_module_with_params(tmp_path):
    jax = need("jax", "jax2onnx", "flax")
    import flax.linen as nn

    class Net(nn.Module):
        @nn.compact
        def __call__(self, tokens):
            h = nn.gelu(nn.Dense(10)(tokens))
            return nn.LayerNorm()(nn.Dense(4)(h))

    net = Net()
    x = np.random.default_rng(8).standard_normal((2, 7)).astype(np.float32)
    params = net.init(jax.random.PRNGKey(0), x)
    path = edgewasm.compile(net, tmp_path / "b", example_inputs=(x,), params=params)
    compiled = edgewasm.load(path.parent)
    assert [t.name for t in compiled.variant.inputs] == ["tokens"]
    (got,) = compiled.run({"tokens": x}).values()
    np.testing.assert_allclose(got, np.asarray(net.apply(params, x)), atol=1e-4, rtol=1e-4)
    # the params+apply spelling: a function closing over the variables
    path2 = edgewasm.compile(lambda tokens: net.apply(params, tokens), tmp_path / "c", example_inputs=(x,))
    (got2,) = edgewasm.load(path2.parent).run({"tokens": x}).values()
    np.testing.assert_allclose(got2, got, atol=1e-5)
    with pytest.raises(ExportError, match="params="):
        edgewasm.compile(net, tmp_path / "d", example_inputs=(x,))


# ---- Keras ----

def test_keras_functional_model(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = need("keras", "tensorflow", "tf2onnx")
    keras.utils.set_random_seed(0)
    pixels = keras.Input((6,), name="pixels")
    extra = keras.Input((3,), name="extra")
    h = keras.layers.Dense(8, activation="relu")(pixels)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Concatenate()([h, extra]))
    model = keras.Model([pixels, extra], out)
    rng = np.random.default_rng(9)
    feeds = {"pixels": rng.standard_normal((4, 6)).astype(np.float32),
             "extra": rng.standard_normal((4, 3)).astype(np.float32)}
    path = edgewasm.compile(model, tmp_path / "b", example_inputs=feeds, variants="fp32,fp16,int8")
    assert manifest(path)["variants"]["fp32"]["report"]["exporter"] == "keras model.export(format='onnx')"
    want = np.asarray(model([feeds["pixels"], feeds["extra"]]))
    compiled = edgewasm.load(path.parent)
    assert sorted(t.name for t in compiled.variant.inputs) == ["extra", "pixels"]
    (got,) = compiled.run(feeds).values()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
    for variant in ("fp16", "int8"):
        (approx,) = edgewasm.load(path.parent, variant=variant).run(feeds).values()
        assert np.abs(approx - want).max() < 0.05, variant


def test_keras_sequential_with_exact_gelu_and_subclassed_model(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = need("keras", "tensorflow", "tf2onnx")
    keras.utils.set_random_seed(1)
    x = np.random.default_rng(12).standard_normal((3, 5)).astype(np.float32)
    # exact GELU: tf2onnx writes a non-standard Erfc node, which the door rewrites as 1 - Erf
    sequential = keras.Sequential([keras.layers.Dense(6, activation="gelu"), keras.layers.Dense(2)])
    path = edgewasm.compile(sequential, tmp_path / "s", example_inputs=(x,))
    compiled = edgewasm.load(path.parent)
    (got,) = compiled.run({compiled.variant.inputs[0].name: x}).values()
    np.testing.assert_allclose(got, np.asarray(sequential(x)), atol=1e-5, rtol=1e-4)

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, inputs):
            return keras.ops.tanh(self.dense(inputs))

    sub = Sub()
    path = edgewasm.compile(sub, tmp_path / "c", example_inputs=x)
    compiled = edgewasm.load(path.parent)
    (got,) = compiled.run({compiled.variant.inputs[0].name: x}).values()
    np.testing.assert_allclose(got, np.asarray(sub(x)), atol=1e-5, rtol=1e-4)


def test_flax_nnx_module_and_integer_inputs(tmp_path):
    jax = need("jax", "jax2onnx", "flax")
    from flax import nnx

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.linear = nnx.Linear(5, 3, rngs=rngs)

        def __call__(self, feats):
            return nnx.relu(self.linear(feats))

    net = Net(nnx.Rngs(0))
    x = np.random.default_rng(13).standard_normal((2, 5)).astype(np.float32)
    path = edgewasm.compile(net, tmp_path / "n", example_inputs=(x,))
    compiled = edgewasm.load(path.parent)
    assert [t.name for t in compiled.variant.inputs] == ["feats"]
    (got,) = compiled.run({"feats": x}).values()
    np.testing.assert_allclose(got, np.asarray(net(x)), atol=1e-5, rtol=1e-4)

    table = np.random.default_rng(14).standard_normal((10, 4)).astype(np.float32)

    def lookup(ids):
        return jax.numpy.take(table, ids, axis=0).sum(axis=1)

    ids = np.array([[1, 2, 3], [4, 5, 9]], np.int32)
    path = edgewasm.compile(lookup, tmp_path / "i", example_inputs=(ids,))
    compiled = edgewasm.load(path.parent)
    assert compiled.variant.inputs[0].dtype == "int32"
    (got,) = compiled.run({"ids": ids}).values()
    np.testing.assert_allclose(got, np.asarray(lookup(ids)), atol=1e-6)


# ---- dispatch, errors, check, --wat ----

def test_kind_of_imports_no_framework():
    code = ("import sys, edgewasm.frontdoors as f\n"
            "def g(x): return x\n"
            "assert f.kind_of(g) == 'jax' and f.kind_of(3) is None\n"
            "assert not {'torch', 'jax', 'keras', 'tensorflow'} & set(sys.modules), sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_objects_and_onnx_with_examples_are_refused(tmp_path):
    with pytest.raises(edgewasm.errors.UnsupportedModelError, match="cannot compile a builtins.int"):
        edgewasm.compile(3, tmp_path / "b")
    with pytest.raises(ExportError, match="example_inputs"):
        edgewasm.compile(b"\x08\x0a", tmp_path / "b", example_inputs=(np.zeros(1),))


def test_missing_framework_names_the_pip_command(tmp_path):
    code = ("import sys; sys.modules['jax'] = None\n"
            "import edgewasm\n"
            "try:\n    edgewasm.compile(lambda x: x, sys.argv[1], example_inputs=([1.0],))\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], capture_output=True, text=True).stdout
    assert out.startswith("FrameworkMissingError") and "pip install 'edgewasm[jax]'" in out
    assert out.count("\n") == 1
    assert issubclass(FrameworkMissingError, edgewasm.errors.EdgewasmError)


@pytest.mark.browser
def test_edgewasm_check_passes_on_a_torch_result(tmp_path):
    torch = need("torch", "onnxscript")
    model = _cnn(torch)
    x = np.random.default_rng(10).standard_normal((1, 3, 11, 13)).astype(np.float32)
    path = edgewasm.compile(model, tmp_path / "b", example_inputs=(x,))
    run = subprocess.run([sys.executable, "-m", "edgewasm.cli", "check", str(path.parent)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _onnx_mlp(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(11)
    w = numpy_helper.from_array(rng.standard_normal((5, 4)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="dense_1"), helper.make_node("Tanh", ["h"], ["y"], name="act_1")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), path)
    return path


def _strip_names(wasm: bytes) -> bytes:
    from edgewasm.backend.assemble import without_custom_sections

    return without_custom_sections(wasm)


def test_compile_wat_writes_readable_modules_that_assemble_to_model_wasm(tmp_path):
    import wasmtime

    model = _onnx_mlp(tmp_path / "m.onnx")
    out = tmp_path / "b"
    run = subprocess.run([sys.executable, "-m", "edgewasm.cli", "compile", str(model), "-o", str(out),
                          "--wat", "--variants", "fp32,int8"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for variant in ("fp32", "int8"):
        text = (out / variant / "model.wat").read_text()
        assert ";; dense_1" in text and ";; act_1" in text  # layers commented
        entry = manifest(out / "manifest.json")["variants"][variant]
        assert entry["kernels"] and all(f"(func ${k}" in text for k in entry["kernels"])  # kernels named
        assert _strip_names(bytes(wasmtime.wat2wasm(text))) == (out / variant / "model.wasm").read_bytes()
    plain = tmp_path / "plain"
    subprocess.run([sys.executable, "-m", "edgewasm.cli", "compile", str(model), "-o", str(plain)], check=True,
                   capture_output=True)
    assert not list(plain.glob("*/model.wat"))


# ---- examples ----

@pytest.mark.browser
@pytest.mark.parametrize("script,modules", [("torch_cnn.py", ("torch", "onnxscript")),
                                            ("jax_mlp.py", ("jax", "jax2onnx")),
                                            ("keras_model.py", ("keras", "tensorflow", "tf2onnx"))])
def test_examples_run(tmp_path, script, modules):
    need(*modules)
    run = subprocess.run([sys.executable, str(ROOT / "examples" / script), str(tmp_path / "bundle")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert "matches" in run.stdout
    assert (tmp_path / "bundle" / "manifest.json").is_file()


def test_torch_door_after_tensorflow_in_one_process():
    """TensorFlow loaded first, then a torch export (dynamo imports triton, whose LLVM segfaults after
    TensorFlow's): the door must still export, in a fresh interpreter so nothing else is loaded."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")
    script = (
        "import tensorflow, torch, numpy as np, edgewasm, tempfile, pathlib\n"
        "model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.GELU()).eval()\n"
        "x = np.ones((2, 4), np.float32)\n"
        "out = pathlib.Path(tempfile.mkdtemp()) / 'b'\n"
        "edgewasm.compile(model, out, example_inputs=(x,))\n"
        "(y,) = edgewasm.load(out).run({'input': x}).values()\n"
        "print('max', float(np.abs(y - model(torch.from_numpy(x)).detach().numpy()).max()))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(result.stdout.split("max ")[1]) < 1e-5

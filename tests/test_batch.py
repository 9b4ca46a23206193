"""`edgewasm batch` on a local Dask cluster: the bits of `model.run`, flat memory, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

import edgewasm
from edgewasm.batch import BatchError, output_paths, run_batch

from models import make_mlp, make_model

try:
    import distributed  # noqa: F401
except ImportError:
    if os.environ.get("CI") == "true":
        raise  # CI installs the dev extra, which has dask[distributed]: absent there is a failure
    pytest.skip("dask.distributed is not installed (pip install 'edgewasm[batch]')", allow_module_level=True)

ROWS = 100_000
BATCH = 64


def _anon_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    (root / "mlp.onnx").write_bytes(make_mlp([64, 32, 10]).SerializeToString())
    edgewasm.compile(root / "mlp.onnx", root / "mlp", batch=BATCH)
    edgewasm.compile(root / "mlp.onnx", root / "mlp1", batch=1)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((ROWS, 64), dtype=np.float32)  # not a multiple of 64: the last chunk is padded
    np.save(root / "x.npy", x)
    del x
    return root


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as c:
        yield c


def test_batch_gives_model_run_bits_in_flat_memory(work, capfd):
    before = _anon_kib()
    report = run_batch(work / "mlp", {"x": work / "x.npy"}, work / "out.npy", workers=2, chunk_rows=4096)
    client_growth = _anon_kib() - before
    assert report.rows == ROWS and report.chunks == -(-ROWS // 4096) and report.workers == 2
    assert "rows/s" in capfd.readouterr().err  # the progress bar

    out = np.load(work / "out.npy", mmap_mode="r")
    assert out.dtype == np.float32 and out.shape == (ROWS, 10)
    x = np.load(work / "x.npy", mmap_mode="r")
    model = edgewasm.load(work / "mlp")
    for start in range(0, ROWS, BATCH):
        rows = np.array(x[start:start + BATCH])
        n = len(rows)
        if n < BATCH:
            rows = np.concatenate([rows, np.zeros((BATCH - n, 64), np.float32)])
        expected = model.run({"x": rows})["y"][:n]
        assert np.array_equal(out[start:start + n].view(np.uint32), expected.view(np.uint32)), start
    # row by row on a batch-1 build: the same bits (a row's result ignores its neighbours)
    single = edgewasm.load(work / "mlp1")
    for i in [0, 1, 63, 64, 4095, 4096, ROWS - 1]:
        assert np.array_equal(single.run({"x": np.array(x[i:i + 1])})["y"].view(np.uint32), out[i:i + 1].view(np.uint32))

    # every worker process loaded the bundle once, whatever the number of chunks it ran
    loads = report.loads_per_worker()
    assert len(loads) == 2 and set(loads.values()) == {1}, loads
    assert sum(1 for _ in report.tasks) == report.chunks
    # memory stays flat: the input is 25.6 MB and the output 4 MB, yet neither the workers'
    # anonymous memory nor the client's grows by more than a few chunks (4096 rows = 1 MiB)
    assert report.anon_growth_kib() < 8 * 1024, report.tasks
    assert client_growth < 24 * 1024, client_growth


def test_cli_on_an_existing_scheduler_with_several_outputs(work, cluster, tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["relu"]),
             helper.make_node("ArgMax", ["x"], ["best"], axis=1, keepdims=0)]
    model = make_model(nodes, [("x", ["N", 5])], [("relu", ["N", 5])], {}, "two")
    model.graph.output.append(helper.make_tensor_value_info("best", TensorProto.INT64, ["N"]))
    (tmp_path / "two.onnx").write_bytes(model.SerializeToString())
    edgewasm.compile(tmp_path / "two.onnx", tmp_path / "two", batch=8)
    x = np.random.default_rng(1).standard_normal((1003, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)

    for out, files in [(tmp_path / "scores.npy", {"relu": "scores_relu.npy", "best": "scores_best.npy"}),
                       (tmp_path / "outdir", {"relu": "outdir/relu.npy", "best": "outdir/best.npy"})]:
        result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "batch", tmp_path / "two", "--input",
                                 f"x={tmp_path / 'x.npy'}", "-o", out, "--scheduler", cluster.scheduler_address,
                                 "--chunk-rows", "100"], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert "1003 rows in 11 chunks" in result.stdout and "1003/1003 rows" in result.stderr
        relu, best = (np.load(tmp_path / files[k]) for k in ("relu", "best"))
        assert relu.dtype == np.float32 and relu.shape == (1003, 5) and np.array_equal(relu, np.maximum(x, 0))
        assert best.dtype == np.int64 and best.shape == (1003,) and np.array_equal(best, x.argmax(axis=1))


def test_bad_inputs_are_one_line_errors(work, tmp_path):
    np.save(tmp_path / "wide.npy", np.zeros((10, 65), np.float32))
    np.save(tmp_path / "f64.npy", np.zeros((10, 64), np.float64))
    (tmp_path / "junk.npy").write_bytes(b"not an npy file")
    cases = [
        (["--input", f"z={work / 'x.npy'}"], "no input named 'z'"),
        (["--input", f"x={tmp_path / 'wide.npy'}"], "has shape (10, 65)"),
        (["--input", f"x={tmp_path / 'f64.npy'}"], "holds float64, the model takes float32"),
        (["--input", f"x={tmp_path / 'junk.npy'}"], "cannot memory-map"),
        (["--input", f"x={tmp_path / 'missing.npy'}"], "cannot memory-map"),
        (["--input", "x"], "expects NAME=FILE.npy"),
        (["--input", f"x={work / 'x.npy'}", "--chunk-rows", "0"], "--chunk-rows must be >= 1"),
    ]
    for extra, message in cases:
        result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "batch", work / "mlp", *extra,
                                 "-o", tmp_path / "o.npy"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (extra, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (extra, result.stderr)
    assert not (tmp_path / "o.npy").exists()  # refused before any output was created


def test_without_dask_the_error_names_the_pip_command(work, tmp_path):
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] in ('dask', 'distributed'):\n"
               "            raise ImportError(name)\n"
               "sys.meta_path.insert(0, Block())\n"
               "from edgewasm.cli import main\n"
               "sys.exit(main(sys.argv[1:]))\n")
    result = subprocess.run([sys.executable, "-c", blocker, "batch", work / "mlp", "--input", f"x={work / 'x.npy'}",
                             "-o", tmp_path / "o.npy"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "pip install 'edgewasm[batch]'" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_output_paths():
    assert output_paths(Path("o.npy"), ["y"]) == {"y": Path("o.npy")}
    assert output_paths(Path("d/o.npy"), ["a", "b/c"]) == {"a": Path("d/o_a.npy"), "b/c": Path("d/o_b_c.npy")}
    assert output_paths(Path("d"), ["a"]) == {"a": Path("d/a.npy")}
    with pytest.raises(BatchError, match="collide"):
        output_paths(Path("d"), ["a/b", "a:b"])


def test_a_worker_that_cannot_see_the_files_says_so(work, tmp_path):
    from edgewasm.batch import run_chunk

    with pytest.raises(BatchError, match="workers must see the bundle, the inputs and the outputs at the same paths"):
        run_chunk(str(work / "mlp"), None, {"x": str(tmp_path / "elsewhere.npy")}, {"y": str(tmp_path / "o.npy")}, 0, 64)


def test_several_inputs_of_different_dtypes(cluster, tmp_path):
    nodes = [helper.make_node("Cast", ["ids"], ["idsf"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["x", "idsf"], ["y"])]
    graph = helper.make_graph(nodes, "two_inputs",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
                               helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", batch=16)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((777, 4)).astype(np.float32)
    ids = rng.integers(-5, 5, (777, 4))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "ids.npy", ids)
    report = run_batch(tmp_path / "b", {"x": tmp_path / "x.npy", "ids": tmp_path / "ids.npy"}, tmp_path / "y.npy",
                       scheduler=cluster.scheduler_address, chunk_rows=50, progress=False)
    assert report.chunks == 16
    assert np.array_equal(np.load(tmp_path / "y.npy"), x * ids.astype(np.float32))

    np.save(tmp_path / "short.npy", ids[:700])
    with pytest.raises(BatchError, match="different numbers of rows"):
        run_batch(tmp_path / "b", {"x": tmp_path / "x.npy", "ids": tmp_path / "short.npy"}, tmp_path / "z.npy",
                  scheduler=cluster.scheduler_address)
    with pytest.raises(BatchError, match=r"missing --input for \['ids'\]"):
        run_batch(tmp_path / "b", {"x": tmp_path / "x.npy"}, tmp_path / "z.npy", scheduler=cluster.scheduler_address)
    np.save(tmp_path / "ids32.npy", ids.astype(np.int32))
    with pytest.raises(BatchError, match="holds int32, the model takes int64"):
        run_batch(tmp_path / "b", {"x": tmp_path / "x.npy", "ids": tmp_path / "ids32.npy"}, tmp_path / "z.npy",
                  scheduler=cluster.scheduler_address)
    assert not (tmp_path / "z.npy").exists()

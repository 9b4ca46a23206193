"""Runtime bounds on the wasmtime host: memory refused before instantiation, stack capped,
a deadline interrupts `run`, and after any trap the model is re-made and usable again."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import edgewasm
from edgewasm.errors import DeadlineExceeded, ExecutionError, ResourceLimitError
from edgewasm.runtime.config import RuntimeConfig

from models import make_mlp as mlp

HOSTILE = Path(__file__).parent / "data" / "hostile.wat"


def mode(m: float) -> dict:
    return {"x": np.array([m], np.float32)}


def test_behaving_call_works():
    assert edgewasm.load(HOSTILE).run(mode(0))["y"][0] == 1.0


def test_trap_is_typed_and_the_model_stays_usable():
    model = edgewasm.load(HOSTILE)
    with pytest.raises(ExecutionError, match="unreachable|trapped"):
        model.run(mode(1))
    assert model.run(mode(0))["y"][0] == 1.0


def test_stack_overflow_is_typed():
    model = edgewasm.load(HOSTILE, config=RuntimeConfig(stack_limit=64 * 1024))
    with pytest.raises(ExecutionError, match="stack"):
        model.run(mode(2))
    assert model.run(mode(0))["y"][0] == 1.0


def test_deadline_interrupts_an_endless_run():
    model = edgewasm.load(HOSTILE, config=RuntimeConfig(deadline=0.2))
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="0.2 s deadline"):
        model.run(mode(3))
    assert time.monotonic() - start < 5  # bounded, not hung
    assert model.run(mode(0))["y"][0] == 1.0


def test_memory_limit_refuses_before_instantiation(tmp_path):
    (tmp_path / "m.onnx").write_bytes(mlp([512, 512, 10]).SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    with pytest.raises(ResourceLimitError, match=r"needs 1\.\d MiB .* limit is 0\.5 MiB"):
        edgewasm.load(tmp_path / "b", config=RuntimeConfig(memory_limit=512 * 1024))
    big = tmp_path / "big.wat"
    big.write_text('(module (memory (export "memory") 9000) (func (export "run") (result i32) (i32.const 0)))')
    big.with_suffix(".json").write_text(HOSTILE.with_suffix(".json").read_text())
    with pytest.raises(ResourceLimitError, match="562.5 MiB .* limit is 512.0 MiB"):
        edgewasm.load(big)


def test_no_deadline_runs_on_an_engine_without_epoch_checks():
    from edgewasm.runtime.wasmtime_host import engine

    model = edgewasm.load(HOSTILE, config=RuntimeConfig(deadline=None))
    assert model.run(mode(0))["y"][0] == 1.0
    assert model.instance.engine is engine(RuntimeConfig().stack_limit, interruptible=False)
    with pytest.raises(ExecutionError, match="unreachable|trapped"):
        model.run(mode(1))
    assert model.run(mode(0))["y"][0] == 1.0


@pytest.mark.parametrize("batch,kernel", [(1, "f32_gemm_1x32"), (8, "f32_gemm_4x8")])
def test_every_engines_loop_gives_the_same_bits(tmp_path, batch, kernel):
    """Each engine runs its own GEMM loop (picked by the loop-variant word); the bits must agree."""
    from edgewasm.runtime.sandbox import LOOP_VARIANT_OFFSET, LOOP_VARIANT_V8

    (tmp_path / "m.onnx").write_bytes(mlp([301, 71, 13]).SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", batch=batch)
    model = edgewasm.load(tmp_path / "b")
    assert kernel in model.variant.kernels
    x = {"x": np.random.default_rng(batch).standard_normal((batch, 301)).astype(np.float32)}
    expected = model.run(x)["y"]
    for word in (0, LOOP_VARIANT_V8):  # Cranelift's loops under epoch checks, V8's load-splat loops
        model.instance.write(LOOP_VARIANT_OFFSET, word.to_bytes(4, "little"))
        assert np.array_equal(model.run(x)["y"].view(np.uint32), expected.view(np.uint32))


@pytest.fixture(scope="module")
def deep_mlp(tmp_path_factory):
    """12 layers of 1024x1024 at batch 64: ~0.8 GFLOP, tens of ms, far longer than a 1 ms deadline."""
    out = tmp_path_factory.mktemp("deep")
    (out / "m.onnx").write_bytes(mlp([1024] * 12 + [10]).SerializeToString())
    edgewasm.compile(out / "m.onnx", out / "b", batch=64)
    x = {"x": np.random.default_rng(0).standard_normal((64, 1024)).astype(np.float32)}
    return out / "b", x


def test_a_compiled_model_meets_its_deadline_between_layers_without_epoch_checks(deep_mlp):
    from edgewasm.runtime.wasmtime_host import engine

    bundle, x = deep_mlp
    expected = edgewasm.load(bundle, config=RuntimeConfig(deadline=None)).run(x)["y"]
    model = edgewasm.load(bundle, config=RuntimeConfig(deadline=0.001))
    assert model.variant.deadline_checks
    assert model.instance.engine is engine(RuntimeConfig().stack_limit, interruptible=False)
    with pytest.raises(DeadlineExceeded, match="0.001 s deadline .*between layers"):
        model.run(x)
    model.instance.config = RuntimeConfig(deadline=60.0)  # the same instance, now with time enough
    assert np.array_equal(model.run(x)["y"].view(np.uint32), expected.view(np.uint32))


def test_the_deadline_clock_may_wrap(deep_mlp, monkeypatch):
    """The clock word is a wrapping signed 32-bit count: a deadline past the wrap still stops a run,
    and a long one across it does not stop a run early."""
    from edgewasm.runtime import wasmtime_host

    bundle, x = deep_mlp
    model = edgewasm.load(bundle, config=RuntimeConfig(deadline=0.001))
    monkeypatch.setattr(wasmtime_host, "_clock", (1 << 31) - 2)  # the ticker goes on: 2**31 - 1, -2**31, ...
    with pytest.raises(DeadlineExceeded):
        model.run(x)
    model.instance.config = RuntimeConfig(deadline=60.0)
    monkeypatch.setattr(wasmtime_host, "_clock", (1 << 31) - 2)
    assert model.run(x)["y"].shape == (64, 10)
    assert wasmtime_host._clock < 0 and model.instance.deadline_words[1] < 0  # both lay past the wrap


def test_a_dropped_model_is_freed_though_the_ticker_writes_its_clock(deep_mlp):
    """The ticker holds clocked instances weakly, also between its ticks: a model that is dropped is
    freed (its linear memory with it), not kept alive by the ticker's last list."""
    import gc
    import weakref

    bundle, x = deep_mlp
    model = edgewasm.load(bundle)
    assert model.instance.deadline_words is not None  # the ticker writes its clock word
    model.run(x)
    time.sleep(0.03)  # a few ticks: the ticker has listed the instance
    instance = weakref.ref(model.instance)
    del model
    deadline = time.monotonic() + 2
    while instance() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    assert instance() is None

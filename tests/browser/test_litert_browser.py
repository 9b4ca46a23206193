"""The bench's LiteRT.js engines (bench.litert) in Chromium: both builds run a `.tflite` twin and
agree with TensorFlow Lite's own interpreter. Needs TensorFlow (the `keras` extra) for the twin and
npm for @litertjs/core (staged once, like onnxruntime-web)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from edgewasm.bench.prepare import prepare_suite_model
from edgewasm.bench.suite import GraphBuilder, SuiteModel

pytestmark = pytest.mark.browser


def small_cnn():
    """A MobileNet-like block at 24x24: stem conv/2, ReLU6, depthwise 3x3, 1x1, pooling, classifier."""
    g = GraphBuilder(seed=3)
    x = g.relu6(g.conv("x", 3, 16, kernel=3, stride=2))
    x = g.relu6(g.conv(x, 16, 16, kernel=3, groups=16))
    x = g.op("Flatten", [g.op("GlobalAveragePool", [g.conv(x, 16, 24)])], axis=1)
    return g.model("small_cnn", [("x", [1, 3, 24, 24])], g.dense(x, 24, 10), [1, 10])


class BenchPage:
    """The slice of bench.browser.BenchBrowser the LiteRT engines use, over the test session's page."""

    def __init__(self, session):
        self.session, self.page_info = session, {"timerResolutionMs": 0.005}

    def serve(self, directory):
        return self.session.register(directory)

    def evaluate(self, script, argument=None):
        return self.session.page.evaluate(script, argument)

    def log(self, message):
        print(message)


def test_litert_runs_a_twin_in_chromium_and_agrees_with_tensorflow(browser, tmp_path):
    pytest.importorskip("tensorflow", reason="twins need the keras extra (tensorflow-cpu)")
    from edgewasm.bench.litert import LiteRtEngine
    from edgewasm.bench.twins import run_tflite, twin_for

    (model,) = prepare_suite_model(SuiteModel("small-cnn", "", 1, small_cnn), tmp_path)
    model.twin = twin_for(onnx.load(str(model.onnx_path)), model.name, model.inputs)
    feeds = [value for _, value in model.twin.inputs(model.inputs)]
    assert feeds[0].shape == (1, 24, 24, 3)  # NHWC, as TFLite wants it
    (want,), _ = run_tflite(model.twin.tflite.read_bytes(), feeds)
    page = BenchPage(browser)
    for engine_id in ("litert", "litert-compat"):
        engine = LiteRtEngine(page, engine_id)
        assert engine.refusal(model) is None
        loaded = engine.load(model)
        try:
            (got,) = loaded.outputs()
            times = loaded.block(3)
        finally:
            loaded.close()
            engine.close()
        diff = float(np.max(np.abs(got - want)))
        print(f"{engine_id}: max |LiteRT.js - TF Lite| = {diff:.3g}")
        assert got.shape == want.shape and diff <= 1e-4 * max(1.0, float(np.max(np.abs(want))))
        assert len(times) == 3 and all(t > 0 for t in times)



"""CNNs in headless Chromium give the bits wasmtime gives: a full-width MobileNetV2 at 224x224,
a ResNet with basic blocks, and a small model that reaches every other convolution, pooling,
padding and per-channel kernel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import helper

import edgewasm

from cnn_models import make_mobilenet_v2, make_resnet
from models import make_model
from test_browser_host import assert_same_bits, input_sets

pytestmark = pytest.mark.browser


def make_cnn_zoo():
    """ConvTranspose, depthwise 5x5 (generic-taps kernel), MaxPool, AveragePool (count_include_pad),
    a BatchNormalization that cannot fold (its input is the graph input), reflect Pad, odd channels."""
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["bn"]),
        helper.make_node("Pad", ["bn", "pads"], ["p"], mode="reflect"),
        helper.make_node("Conv", ["p", "dw"], ["d"], group=5, pads=[2, 2, 2, 2]),
        helper.make_node("MaxPool", ["d"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("ConvTranspose", ["mp", "wt"], ["up"], strides=[2, 2], pads=[1, 1, 0, 0]),
        helper.make_node("AveragePool", ["up"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1,
                         ceil_mode=1, strides=[2, 2]),
    ]
    inits = {"g": rng.uniform(0.5, 1.5, 5), "b": rng.standard_normal(5), "m": rng.standard_normal(5),
             "v": rng.uniform(0.5, 1.5, 5), "pads": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64),
             "dw": rng.standard_normal((5, 1, 5, 5)) * 0.2, "wt": rng.standard_normal((5, 7, 3, 3)) * 0.3}
    inits = {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in inits.items()}
    return make_model(nodes, [("x", ["N", 5, 13, 11])], [("y", ["N", 7, "H", "W"])], inits, "cnn_zoo")


def make_winograd_odd():
    """Two stride-1 3x3 convolutions on the Winograd path (backend/convolution.py): odd sizes,
    asymmetric pads, channel counts that are not multiples of 4, a fused ReLU."""
    rng = np.random.default_rng(4)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[0, 2, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["y"], pads=[1, 1, 1, 1])]
    inits = {"w1": rng.standard_normal((13, 9, 3, 3)) * 0.3, "b1": rng.standard_normal(13),
             "w2": rng.standard_normal((10, 13, 3, 3)) * 0.3, "b2": rng.standard_normal(10)}
    inits = {k: v.astype(np.float32) for k, v in inits.items()}
    return make_model(nodes, [("x", ["N", 9, 11, 9])], [("y", ["N", 10, "H", "W"])], inits, "winograd_odd")


CASES = {  # name: (model, batch)
    "mobilenet_v2_224": (lambda: make_mobilenet_v2(1.0, 224), 1),
    "resnet_basic_blocks": (lambda: make_resnet((1, 1, 1, 1), (16, 24, 32, 48), resolution=64, classes=20,
                                                batch="N"), 2),
    "cnn_zoo": (make_cnn_zoo, 2),
    "winograd_odd": (make_winograd_odd, 2),
}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cnn_bundles")
    compiled = {}
    for name, (build, batch) in CASES.items():
        path = root / f"{name}.onnx"
        path.write_bytes(build().SerializeToString())
        edgewasm.compile(path, root / name, batch=batch)
        compiled[name] = root / name
    return compiled


@pytest.mark.parametrize("name", CASES)
def test_cnn_browser_matches_wasmtime_bit_for_bit(browser, bundles, name):
    server = edgewasm.load(bundles[name])
    sets = input_sets(server.inputs)
    if name == "mobilenet_v2_224":
        sets = sets[::2]  # ordinary values and IEEE specials; the net is the slowest case
    for inputs in sets:
        expected = server.run(inputs)
        actual = browser.run(bundles[name], inputs)
        assert sorted(actual) == sorted(expected)
        for output in expected:
            assert_same_bits(actual[output], expected[output])

"""Train the demo's digit classifier and export it to ONNX by hand.

scikit-learn's bundled 8x8 digits (no download), a small MLP, and an ONNX graph written with
onnx.helper (Gemm -> Relu -> Gemm -> Softmax), checked against `predict_proba`. Everything is
seeded, so the same versions of the libraries give the same model.

    python examples/train_digits.py digits.onnx
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT, OUTPUT = "pixels", "probabilities"
PIXEL_MAX = 16.0  # the digits' pixels are counts 0..16; the model sees pixels / 16


@dataclass
class Digits:
    """A fixed train/held-out split; pixels stay 0..16 (what the page draws and samples.json holds)."""

    train_pixels: np.ndarray
    train_labels: np.ndarray
    test_pixels: np.ndarray
    test_labels: np.ndarray


def load_digits_split(seed: int = 0, test_fraction: float = 0.2) -> Digits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    xtr, xte, ytr, yte = train_test_split(data.data, data.target, test_size=test_fraction, random_state=seed,
                                          stratify=data.target)
    return Digits(xtr, ytr, xte, yte)


def model_input(pixels: np.ndarray) -> np.ndarray:
    return (np.asarray(pixels, dtype=np.float32) / np.float32(PIXEL_MAX)).reshape(-1, 64)


def train_mlp(digits: Digits, hidden: int = 32, seed: int = 0):
    """An MLPClassifier that converges well inside max_iter (a warning would mean a changed setup)."""
    from sklearn.neural_network import MLPClassifier

    classifier = MLPClassifier(hidden_layer_sizes=(hidden,), random_state=seed, max_iter=1000)
    return classifier.fit(model_input(digits.train_pixels), digits.train_labels)


def export_onnx(classifier) -> onnx.ModelProto:
    """The fitted MLP as ONNX: [N, 64] float32 pixels/16 -> [N, 10] class probabilities."""
    if classifier.activation != "relu" or classifier.out_activation_ != "softmax" or len(classifier.coefs_) != 2:
        raise ValueError("export_onnx handles one ReLU hidden layer with a softmax output")
    (w1, w2), (b1, b2) = classifier.coefs_, classifier.intercepts_
    constants = {"w1": w1, "b1": b1, "w2": w2, "b2": b2}
    nodes = [
        helper.make_node("Gemm", [INPUT, "w1", "b1"], ["hidden"], name="fc1"),
        helper.make_node("Relu", ["hidden"], ["hidden_relu"], name="relu1"),
        helper.make_node("Gemm", ["hidden_relu", "w2", "b2"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], [OUTPUT], axis=-1, name="softmax"),
    ]
    classes = len(classifier.classes_)
    graph = helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", classes])],
        initializer=[numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10,
                              producer_name="edgewasm-examples")
    onnx.checker.check_model(model, full_check=True)
    return model


def check_export(model: onnx.ModelProto, classifier, pixels: np.ndarray, atol: float = 1e-5) -> float:
    """Largest |ONNX - predict_proba| on `pixels`; raises if above `atol` (onnx's reference runtime)."""
    from onnx.reference import ReferenceEvaluator

    x = model_input(pixels)
    (ours,) = ReferenceEvaluator(model).run(None, {INPUT: x})
    diff = float(np.abs(ours - classifier.predict_proba(x)).max())
    if diff > atol:
        raise AssertionError(f"the ONNX export differs from predict_proba by {diff:g} (> {atol:g})")
    return diff


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="where to write the .onnx file")
    args = parser.parse_args(argv)
    digits = load_digits_split()
    classifier = train_mlp(digits)
    model = export_onnx(classifier)
    diff = check_export(model, classifier, digits.test_pixels)
    args.output.write_bytes(model.SerializeToString())
    accuracy = classifier.score(model_input(digits.test_pixels), digits.test_labels)
    print(f"wrote {args.output}: held-out accuracy {accuracy:.4f}, max |onnx - sklearn| {diff:.2e}")


if __name__ == "__main__":
    main()

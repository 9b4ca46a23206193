"""Real architectures in the bench, by name: graphs as real exporters wrote them, seeded weights.

They come from the project's model zoo (tests/zoo in a source checkout; EDGEWASM_ZOO names another
copy): torchvision, transformers and PaddleOCR graphs exported by torch.onnx (dynamo) or shipped in
a wheel, stored without their weights and restored with seeded fills of the same shape and scale.
Nothing is downloaded from a model hub. The bench keeps each graph as exported and only fixes its
symbolic input dimensions (batch 1, a BERT's sequence at 128), so every engine runs one static graph.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import onnx

from .suite import SuiteModel

ZOO_ENV = "EDGEWASM_ZOO"


class ZooUnavailable(Exception):
    """The zoo is not on this machine (edgewasm installed from a wheel, no source checkout)."""


def zoo_module():
    """tests/zoo/zoo.py of the source checkout this package runs from (or $EDGEWASM_ZOO/zoo.py)."""
    directory = Path(os.environ.get(ZOO_ENV) or Path(__file__).resolve().parents[3] / "tests" / "zoo")
    path = directory / "zoo.py"
    if not path.is_file():
        raise ZooUnavailable(f"the real models need the model zoo (tests/zoo of a source checkout, or set "
                             f"{ZOO_ENV}); not found at {directory}")
    name = "edgewasm_bench_zoo"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def static_graph(zoo_name: str, shapes: dict[str, list[int]]) -> onnx.ModelProto:
    """The zoo model with its weights restored and its inputs' symbolic dimensions fixed."""
    proto = zoo_module().load(zoo_name)
    for value in proto.graph.input:
        if value.name in shapes:
            for dim, size in zip(value.type.tensor_type.shape.dim, shapes[value.name]):
                dim.ClearField("dim_param")
                dim.dim_value = int(size)
    return proto


def zoo_inputs(zoo_name: str, shapes: dict[str, list[int]], seed: int = 0) -> dict[str, np.ndarray]:
    """The zoo's inputs for the model (token ids in the vocabulary, masks with padding), at `shapes`."""
    return zoo_module().inputs(zoo_name, seed, shapes)


def _real(name: str, zoo_name: str, description: str, sequence: int | None = None) -> SuiteModel:
    def shapes() -> dict[str, list[int]]:
        stored = zoo_module().meta(zoo_name)["shapes"]
        return {k: [v[0], sequence] if sequence else list(v) for k, v in stored.items()}

    return SuiteModel(name, description, 1, lambda: static_graph(zoo_name, shapes()),
                      inputs=lambda: zoo_inputs(zoo_name, shapes()))


REAL = (
    _real("efficientnet-b0", "tv_efficientnet_b0", "torchvision EfficientNet-B0, 1x3x224x224 (torch.onnx dynamo)"),
    _real("mobilenetv3-small", "tv_mobilenet_v3_small",
          "torchvision MobileNetV3-small, 1x3x224x224 (torch.onnx dynamo)"),
    _real("convnext-t", "tv_convnext_tiny", "torchvision ConvNeXt-T, 1x3x128x128 (torch.onnx dynamo)"),
    _real("resnet18", "tv_resnet18", "torchvision ResNet-18, 1x3x224x224 (torch.onnx dynamo)"),
    _real("bert-s128", "hf_bert_dynamo",
          "transformers BERT encoder (hidden 64, 2 layers, 4 heads), sequence 128 (torch.onnx dynamo)", sequence=128),
    _real("whisper-encoder", "hf_whisper_encoder",
          "transformers Whisper encoder (d 64, 2 layers), 80 mels x 64 frames (torch.onnx dynamo)"),
    _real("ssdlite-det", "tv_ssdlite320_mobilenet_v3_large",
          "torchvision SSDlite320 MobileNetV3-large detector (boxes + logits, no NMS), 1x3x320x320"),
    _real("ppocr-det", "ppocr_v4_det", "PP-OCRv4 text detector (the rapidocr wheel's graph), 1x3x128x128"),
    _real("lraspp-seg", "tv_lraspp_mobilenet_v3_large",
          "torchvision LR-ASPP MobileNetV3-large segmentation, 1x3x224x224 (torch.onnx dynamo)"),
)
REAL_NAMES = tuple(m.name for m in REAL)

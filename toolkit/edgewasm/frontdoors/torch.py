"""PyTorch door: `torch.onnx.export(dynamo=True)`, falling back to the TorchScript exporter when the
dynamo exporter fails (or onnxscript is missing); the log and the compile report name the one used.

Input names follow `forward`'s parameters; the example inputs (numpy arrays or tensors, positional
or by name) fix every input's shape and dtype. The module is exported in eval mode (BatchNorm's
running statistics, no dropout) and put back in the mode it had.
"""

from __future__ import annotations

import io
import sys
import warnings

from . import ExportError, Exported, as_examples, bind_names, missing

EXPORTERS = ("auto", "dynamo", "torchscript")
DYNAMO = "torch.onnx.export(dynamo=True)"
TORCHSCRIPT = "torch.onnx.export(dynamo=False) (TorchScript)"


def _tensor(torch, name, value):
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        import numpy as np

        return torch.from_numpy(np.ascontiguousarray(np.asarray(value)))
    except (TypeError, ValueError) as exc:
        raise ExportError(f"example input {name!r} is not an array or tensor: {exc}") from None


def _without_triton_after_tensorflow() -> None:
    """The dynamo exporter imports triton (the GPU kernel compiler in torch's CUDA wheels) when it can;
    loaded after TensorFlow in one process, triton's LLVM segfaults the interpreter. The export runs on
    the CPU and never needs triton, so once TensorFlow is loaded torch is told triton is absent."""
    if "tensorflow" in sys.modules and "triton" not in sys.modules:
        sys.modules["triton"] = None  # `import triton` now raises ImportError, which torch handles


def _dynamo(torch, module, args, kwargs, names, opset):
    import onnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, args, kwargs=kwargs or None, dynamo=True, external_data=False,
                                    opset_version=opset, verbose=False, input_names=names)
    return onnx.load_model_from_string(program.model_proto.SerializeToString())


def _torchscript(torch, module, args, kwargs, names, opset):
    import onnx

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args + ((kwargs,) if kwargs else ()), buffer, dynamo=False,
                          input_names=names, opset_version=min(opset or 17, 20), do_constant_folding=True)
    return onnx.load_model_from_string(buffer.getvalue())


def export(module, example_inputs, log=lambda m: None, exporter: str = "auto", opset: int | None = None,
           **unused) -> Exported:
    if unused:
        raise ExportError(f"the PyTorch door takes exporter= and opset=, not {', '.join(sorted(unused))}")
    if exporter not in EXPORTERS:
        raise ExportError(f"exporter must be one of {', '.join(EXPORTERS)}, got {exporter!r}")
    _without_triton_after_tensorflow()
    try:
        import torch
    except ImportError as exc:
        raise missing("torch", "torch", exc) from None
    args, kwargs = as_examples(example_inputs)
    named = bind_names(module.forward, args, kwargs)
    tensors = {name: _tensor(torch, name, value) for name, value in named}
    # Positional where the signature allows it, so both exporters see the same call.
    import inspect

    keyword_only = {n for n, p in inspect.signature(module.forward).parameters.items()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY}
    call_args = tuple(t for n, t in tensors.items() if n not in keyword_only)
    call_kwargs = {n: t for n, t in tensors.items() if n in keyword_only}
    names = list(tensors)
    shapes = {n: tuple(int(d) for d in t.shape) for n, t in tensors.items()}

    was_training = module.training
    module.eval()
    try:
        attempts = {"auto": ("dynamo", "torchscript"), "dynamo": ("dynamo",), "torchscript": ("torchscript",)}[exporter]
        failures = []
        for attempt in attempts:
            label = DYNAMO if attempt == "dynamo" else TORCHSCRIPT
            log(f"exporting {type(module).__name__} with {label} ...")
            try:
                if attempt == "dynamo":
                    try:
                        import onnxscript  # noqa: F401  (the dynamo exporter's dependency)
                    except ImportError as exc:
                        raise missing("torch", "onnxscript", exc) from None
                    proto = _dynamo(torch, module, call_args, call_kwargs, names, opset)
                else:
                    proto = _torchscript(torch, module, call_args, call_kwargs, names, opset)
            except Exception as exc:  # noqa: BLE001  (any exporter failure: try the next one, else report it)
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                failures.append(f"{label} failed: {type(exc).__name__}: {first}")
                log(failures[-1] + (" -> falling back to TorchScript" if attempt == "dynamo" and len(attempts) > 1 else ""))
                continue
            log(f"exported with {label}")
            return Exported(proto, shapes, label, type(module).__name__.lower(), failures)
        raise ExportError("; ".join(failures))
    finally:
        module.train(was_training)

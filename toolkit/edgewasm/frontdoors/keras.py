"""Keras door: Keras 3's own `model.export(path, format="onnx")` (TensorFlow backend; Keras drives
tf2onnx internally, which needs tensorflow-cpu and tf2onnx).

The example inputs (one array, a list in the model's input order, or a dict by input name) are
run through the model once (Keras exports only a model that has been called) and fix the shapes:
the exported graph keeps a symbolic batch dimension, which the examples' shapes then fix.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import ExportError, Exported, missing


def _standard_ops(proto) -> int:
    """tf2onnx writes TensorFlow's Erfc (exact GELU) as an `Erfc` node, which ONNX does not define:
    rewrite each as 1 - Erf(x). Returns how many it rewrote."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph, rewritten, nodes = proto.graph, 0, []
    for node in graph.node:
        if node.op_type == "Erfc" and node.domain in ("", "ai.onnx"):
            erf, one = f"{node.output[0]}__erf", f"{node.output[0]}__one"
            dtype = next((vi.type.tensor_type.elem_type for vi in list(graph.value_info) + list(graph.input)
                          if vi.name == node.input[0]), 1)
            graph.initializer.append(numpy_helper.from_array(
                np.ones((), helper.tensor_dtype_to_np_dtype(dtype)), one))
            nodes += [helper.make_node("Erf", [node.input[0]], [erf], name=f"{node.name}__erf"),
                      helper.make_node("Sub", [one, erf], list(node.output), name=node.name)]
            rewritten += 1
        else:
            nodes.append(node)
    if rewritten:
        del graph.node[:]
        graph.node.extend(nodes)
    return rewritten


def _input_names(model) -> list[str]:
    """The model's input names, or [] for a model not built yet (a Sequential without an Input, a
    subclassed model)."""
    try:
        inputs = model.inputs or []
    except (AttributeError, ValueError):
        return []
    return [getattr(t, "name", f"input_{i}").split(":")[0] for i, t in enumerate(inputs)]


def export(model, example_inputs, log=lambda m: None, opset: int | None = None, **unused) -> Exported:
    if unused:
        raise ExportError(f"the Keras door takes opset=, not {', '.join(sorted(unused))}")
    if example_inputs is None:
        raise ExportError("a Keras model needs example_inputs=(...) to fix its input shapes and dtypes")
    try:
        import keras
        import numpy as np
        import onnx
    except ImportError as exc:
        raise missing("keras", "keras", exc) from None
    for module in ("tensorflow", "tf2onnx"):
        try:
            __import__(module)
        except ImportError as exc:
            raise missing("keras", module, exc) from None
    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"Keras exports ONNX through TensorFlow here; this Keras runs on {keras.backend.backend()!r} "
                          "(set KERAS_BACKEND=tensorflow before importing keras)")

    names = _input_names(model)
    if isinstance(example_inputs, dict):
        if names and set(example_inputs) != set(names):
            raise ExportError(f"example_inputs name {sorted(example_inputs)}, the model's inputs are {names}")
        names = names or list(example_inputs)
        arrays = [np.asarray(example_inputs[n]) for n in names]
    else:
        arrays = [np.asarray(a) for a in (example_inputs if isinstance(example_inputs, (list, tuple)) else [example_inputs])]
        if names and len(names) != len(arrays):
            raise ExportError(f"the model has {len(names)} inputs ({', '.join(names)}), example_inputs give {len(arrays)}")
        names = names or [f"input_{i}" for i in range(len(arrays))]
    model(arrays[0] if len(arrays) == 1 else arrays)  # Keras exports only a model that has been called
    log(f"exporting {model.name} with keras model.export(format='onnx') ...")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        try:
            options = {"opset_version": opset} if opset else {}
            model.export(str(path), format="onnx", verbose=False, **options)
        except Exception as exc:  # noqa: BLE001
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ExportError(f"Keras could not export {model.name} to ONNX: {type(exc).__name__}: {first}") from None
        proto = onnx.load(str(path))
    if _standard_ops(proto):
        log("rewrote tf2onnx's Erfc nodes as 1 - Erf (ONNX has no Erfc)")
    exported = [i.name for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    if len(exported) != len(arrays):
        raise ExportError(f"the exported graph has {len(exported)} inputs, example_inputs give {len(arrays)}")
    by_position = dict(zip(exported, arrays))
    shapes = {n: tuple(int(d) for d in by_position[n].shape) for n in exported}
    log("exported with keras model.export(format='onnx')")
    return Exported(proto, shapes, "keras model.export(format='onnx')", model.name.lower())

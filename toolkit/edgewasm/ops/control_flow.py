"""If, Loop and Scan.

If with a condition known at compile time is its taken branch, imported in its place. If with a
condition computed at run time compiles both branches between Branch markers; `run` executes only
the taken one (codegen emits a wasm `if`), and each branch ends by copying its results into the
If's outputs, so both branches must give them the same shapes and dtypes. Loop (with a trip count
or a condition that folds at compile time) and Scan are unrolled: the body is imported once per
iteration (frontend/subgraphs.py), its scan outputs stacked with Reshape + Concat.
"""

from __future__ import annotations

import numpy as np

from ..backend.gather import Dim, emit_gather
from ..backend.program import Ptr
from ..dtypes import itemsize
from ..errors import EdgewasmError, ModelFormatError, UnsupportedModelError
from ..frontend.arguments import normalize_axis
from ..frontend.subgraphs import MAX_UNROLLED_ITERATIONS
from ..ir import Node

IR_OP = ("Branch", "Copy")


def _prefix(node) -> str:
    return f"{node.name or node.output[0]}/"


def _bind(im, node, output: str, value: str) -> None:
    """The node's `output` is `value` (a constant stays a constant; a tensor becomes a view)."""
    if not output:
        return
    if value in im.constants:
        im.constants[output] = im.constants[value]
    else:
        im.emit("Reshape", [value], output, im.shape(value), node.name, dtype=im.dtype(value))


def import_if(im, node, at) -> None:
    cond = node.input[0]
    if im.shape(cond) not in ((), (1,)) or im.dtype(cond) != "bool":
        raise ModelFormatError(f"If node {node.name!r}: the condition must be one bool, got {im.dtype(cond)} "
                               f"of shape {im.shape(cond)}")
    branches = {"then": at["then_branch"], "else": at["else_branch"]}
    if any(len(g.output) != len(node.output) for g in branches.values()):
        raise ModelFormatError(f"If node {node.name!r}: each branch must give {len(node.output)} outputs")
    if cond in im.constants:  # known now: the If is its taken branch
        taken = "then" if bool(np.asarray(im.constants[cond]).reshape(-1)[0]) else "else"
        for output, value in zip(node.output, im.inline(branches[taken], {}, f"{_prefix(node)}{taken}/")):
            _bind(im, node, output, value)
        return
    im.nodes.append(Node("Branch", [cond], [], {"part": "if"}, node.name))
    then_values = _import_branch(im, node, branches["then"], "then")
    if then_values is not None:
        for output, value in zip(node.output, then_values):
            im.emit("Copy", [value], output, im.shape(value), node.name, dtype=im.dtype(value))
    im.nodes.append(Node("Branch", [], [], {"part": "else"}, node.name))
    else_values = _import_branch(im, node, branches["else"], "else")
    if then_values is None and else_values is None:
        raise UnsupportedModelError(f"If node {node.name!r}: neither branch compiles with these input shapes")
    for output, value in zip(node.output, else_values or []):
        if then_values is None:
            im.emit("Copy", [value], output, im.shape(value), node.name, dtype=im.dtype(value))
            continue
        if (im.shape(value), im.dtype(value)) != (im.shape(output), im.dtype(output)):
            raise UnsupportedModelError(
                f"If node {node.name!r}: its branches give output {output!r} different shapes or dtypes "
                f"(then {im.dtype(output)} {im.shape(output)}, else {im.dtype(value)} {im.shape(value)}); "
                "shapes are static, so both branches must agree")
        im.nodes.append(Node("Copy", [value], [output], {}, node.name))
    im.nodes.append(Node("Branch", [], [], {"part": "end"}, node.name))


def _import_branch(im, node, graph, side: str) -> list[str] | None:
    """A branch's output names, or None when it cannot compile with the static shapes (e.g. the
    8 kHz branch of a model fixed to 16 kHz inputs): then the importer is rolled back and the
    branch becomes a run-time failure that names the node and the reason, should it be taken."""
    nodes, tensors, constants = len(im.nodes), set(im.tensors), set(im.constants)
    try:
        return im.inline(graph, {}, f"{_prefix(node)}{side}/")
    except EdgewasmError as exc:
        del im.nodes[nodes:]
        for name in set(im.tensors) - tensors:
            del im.tensors[name]
        for name in set(im.constants) - constants:
            del im.constants[name]
        reason = str(exc).split("\n")[0]
        im.nodes.append(Node("Branch", [], [], {"part": "fail", "reason": f"If node {node.name!r}: the {side} branch "
                                                f"was taken, but it cannot run with these input shapes ({reason})"},
                             node.name))
        return None


def _scalar(im, node, name: str, what: str):
    if name not in im.constants:
        from .folded import run_time_sources
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: {what} is computed at run time; loops are "
                                    "unrolled at compile time, so it must be known then (its output shape is "
                                    f"the value of {run_time_sources(im, [name])})")
    return np.asarray(im.constants[name]).reshape(-1)[0]


def import_loop(im, node, at) -> None:
    body = at["body"]
    trip_name = node.input[0] if node.input and node.input[0] else None
    cond_name = node.input[1] if len(node.input) > 1 and node.input[1] else None
    carried = list(node.input[2:])
    n = len(carried)
    formal = [vi.name for vi in body.input]
    if len(formal) != 2 + n or len(body.output) < 1 + n:
        raise ModelFormatError(f"Loop node {node.name!r}: the body takes {len(formal)} inputs and gives "
                               f"{len(body.output)} outputs for {n} loop-carried values")
    trips = int(_scalar(im, node, trip_name, "the trip count M")) if trip_name else None
    running = bool(_scalar(im, node, cond_name, "the condition")) if cond_name else True
    if trips is None and cond_name is None:
        raise UnsupportedModelError(f"Loop node {node.name!r} has neither a trip count nor a condition")
    limit = trips if trips is not None else MAX_UNROLLED_ITERATIONS + 1
    if limit > MAX_UNROLLED_ITERATIONS:
        raise UnsupportedModelError(f"Loop node {node.name!r}: {'trip count ' + str(trips) if trips is not None else 'no trip count'}; "
                                    f"loops are unrolled, up to {MAX_UNROLLED_ITERATIONS} iterations")
    values, scans = carried, [[] for _ in range(len(body.output) - 1 - n)]
    iteration = 0
    while running and iteration < limit:
        counter, condition = im.fresh(f"{_prefix(node)}i"), im.fresh(f"{_prefix(node)}cond")
        im.constants[counter], im.constants[condition] = np.array(iteration, np.int64), np.array(True)
        bindings = {name: value for name, value in zip(formal, [counter, condition, *values]) if name}
        results = im.inline(body, bindings, f"{_prefix(node)}{iteration}/")
        running = bool(_scalar(im, node, results[0], "the condition the body gives"))
        values = results[1:1 + n]
        for stack, value in zip(scans, results[1 + n:]):
            stack.append(value)
        iteration += 1
    for output, value in zip(node.output[:n], values):
        _bind(im, node, output, value)
    for output, stack in zip(node.output[n:], scans):
        if not stack:
            raise UnsupportedModelError(f"Loop node {node.name!r} runs no iteration, so its scan output "
                                        f"{output!r} has no shape")
        _stack(im, node, stack, 0, output)


def _import_scan8(im, node, at) -> None:
    """Scan-8: every input has a batch axis first (scan inputs: [batch, sequence, ...]); each batch
    element is an opset-9 scan of its own, unrolled, and the results are stacked along the batch.
    sequence_lens (the optional first input) is supported when absent or every length is the full one."""
    body, k = at["body"], int(at["num_scan_inputs"])
    rest = list(node.input[1:])
    states, scanned = rest[:len(rest) - k], rest[len(rest) - k:]
    n, outputs = len(states), len(body.output) - len(states)
    dirs = [int(d) for d in at.get("directions", [0] * k)]
    if k < 1 or len(body.input) != n + k or len(dirs) != k or outputs < 0 or len(node.output) > n + outputs:
        raise ModelFormatError(f"Scan node {node.name!r}: its body, inputs and directions disagree")
    if any(len(im.shape(x)) < 1 for x in states) or any(len(im.shape(x)) < 2 for x in scanned):
        raise ModelFormatError(f"Scan node {node.name!r}: opset 8's inputs have a batch axis first "
                               "(and the scan inputs a sequence axis next)")
    batches = {im.shape(x)[0] for x in rest}
    lengths = {im.shape(x)[1] for x in scanned}
    if len(batches) != 1 or len(lengths) != 1:
        raise ModelFormatError(f"Scan node {node.name!r}: the inputs disagree on the batch or sequence length")
    batch, steps = batches.pop(), lengths.pop()
    if node.input[0]:
        lens = np.asarray(im.const(node.input[0], node, "sequence_lens")).reshape(-1)
        if lens.size != batch or (lens != steps).any():
            raise UnsupportedModelError(f"Scan node {node.name!r}: sequence_lens {lens.tolist()} shorter than the "
                                        f"sequence ({steps}) is not supported")
    if batch * steps > MAX_UNROLLED_ITERATIONS:
        raise UnsupportedModelError(f"Scan node {node.name!r}: {batch} x {steps} steps; scans are unrolled, up to "
                                    f"{MAX_UNROLLED_ITERATIONS}")
    if batch == 0:
        raise UnsupportedModelError(f"Scan node {node.name!r} has an empty batch, so its outputs have no shape")
    formal = [vi.name for vi in body.input]
    finals, stacks = [[] for _ in range(n)], [[] for _ in range(outputs)]
    for b in range(batch):
        values = [_take(im, node, x, 0, b) for x in states]
        sequences = [_take(im, node, x, 0, b) for x in scanned]
        scans = [[] for _ in range(outputs)]
        for t in range(steps):
            slices = [_take(im, node, x, 0, steps - 1 - t if direction else t) for x, direction in zip(sequences, dirs)]
            results = im.inline(body, dict(zip(formal, [*values, *slices])), f"{_prefix(node)}{b}/{t}/")
            values = results[:n]
            for stack, value in zip(scans, results[n:]):
                stack.append(value)
        for final, value in zip(finals, values):
            final.append(value)
        for i, stack in enumerate(scans):
            if not stack:
                raise UnsupportedModelError(f"Scan node {node.name!r} has no steps, so its scan outputs have no shape")
            per_batch = im.fresh(f"{_prefix(node)}{b}/scan{i}")
            _stack(im, node, stack, 0, per_batch)
            stacks[i].append(per_batch)
    for output, parts in zip(node.output, [*finals, *stacks]):
        _stack(im, node, parts, 0, output)


def import_scan(im, node, at) -> None:
    if im.opset < 9:
        _import_scan8(im, node, at)
        return
    body, k = at["body"], int(at["num_scan_inputs"])
    states, scanned = list(node.input[:len(node.input) - k]), list(node.input[len(node.input) - k:])
    n, outputs = len(states), len(body.output) - len(states)
    in_axes = [int(a) for a in at.get("scan_input_axes", [0] * k)]
    in_dirs = [int(d) for d in at.get("scan_input_directions", [0] * k)]
    out_axes = [int(a) for a in at.get("scan_output_axes", [0] * outputs)]
    out_dirs = [int(d) for d in at.get("scan_output_directions", [0] * outputs)]
    if len(body.input) != n + k or len(in_axes) != k or len(in_dirs) != k or outputs < 0 \
            or len(out_axes) != outputs or len(out_dirs) != outputs:
        raise ModelFormatError(f"Scan node {node.name!r}: its body, inputs and axis/direction lists disagree")
    in_axes = [normalize_axis(node, a, len(im.shape(x)), "scan_input_axes entry") for a, x in zip(in_axes, scanned)]
    lengths = {im.shape(x)[a] for a, x in zip(in_axes, scanned)}
    if len(lengths) != 1:
        raise ModelFormatError(f"Scan node {node.name!r}: the scan inputs have different lengths {sorted(lengths)}")
    steps = lengths.pop()
    if steps > MAX_UNROLLED_ITERATIONS:
        raise UnsupportedModelError(f"Scan node {node.name!r}: {steps} steps; scans are unrolled, up to "
                                    f"{MAX_UNROLLED_ITERATIONS}")
    formal = [vi.name for vi in body.input]
    values, scans = states, [[] for _ in range(outputs)]
    for t in range(steps):
        slices = [_take(im, node, x, axis, steps - 1 - t if direction else t)
                  for x, axis, direction in zip(scanned, in_axes, in_dirs)]
        results = im.inline(body, dict(zip(formal, [*values, *slices])), f"{_prefix(node)}{t}/")
        values = results[:n]
        for stack, value in zip(scans, results[n:]):
            stack.append(value)
    for output, value in zip(node.output[:n], values):
        _bind(im, node, output, value)
    for output, stack, axis, direction in zip(node.output[n:], scans, out_axes, out_dirs):
        if not stack:
            raise UnsupportedModelError(f"Scan node {node.name!r} has no steps, so its output {output!r} has no shape")
        axis = normalize_axis(node, axis, len(im.shape(stack[0])) + 1, "scan_output_axes entry")
        _stack(im, node, stack[::-1] if direction else stack, axis, output)


def _take(im, node, x: str, axis: int, index: int) -> str:
    """x[..., index, ...] along axis (the axis removed)."""
    if x in im.constants:
        name = im.fresh(f"{_prefix(node)}slice")
        im.constants[name] = np.take(im.constants[x], index, axis=axis)
        return name
    name = im.fresh(f"{_prefix(node)}slice")
    shape = im.shape(x)
    im.emit("Gather", [x], name, shape[:axis] + shape[axis + 1:], node.name, dtype=im.dtype(x), axis=axis,
            indices=np.array(index, np.int64))
    return name


def _stack(im, node, values: list[str], axis: int, output: str) -> None:
    """np.stack(values, axis) into `output`."""
    if not output:
        return
    if all(v in im.constants for v in values):
        im.constants[output] = np.stack([im.constants[v] for v in values], axis=axis)
        return
    shape, dtype = im.shape(values[0]), im.dtype(values[0])
    if any(im.shape(v) != shape or im.dtype(v) != dtype for v in values):
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: iterations give {output!r} different "
                                    "shapes or dtypes; shapes are static")
    expanded = shape[:axis] + (1,) + shape[axis:]
    parts = []
    for v in values:
        part = im.fresh(f"{output}_part")
        if v in im.constants:
            im.constants[part] = im.constants[v].reshape(expanded)
        else:
            im.emit("Reshape", [v], part, expanded, node.name, dtype=dtype)
        parts.append(part)
    stacked = expanded[:axis] + (len(values),) + expanded[axis + 1:]
    im.emit("Concat", parts, output, stacked, node.name, dtype=dtype, axis=axis)


IMPORTS = {"If": (import_if, 1, 1), "Loop": (import_loop, 0, 2**31),  # Loop's M or cond may be left empty
           "Scan": (import_scan, 0, 2**31)}  # opset 8's first input (sequence_lens) may be left empty


def lower(graph, node, program) -> None:
    if node.op == "Branch":  # codegen turns these markers into a wasm if/else (and a failing return)
        part = node.attrs["part"]
        program.call(f"__{part}", [Ptr(node.inputs[0])] if node.inputs else [], node.name, failure=node.attrs.get("reason"))
        return
    x, y = node.inputs[0], node.outputs[0]
    info = graph.info(y)
    esize = itemsize(info.dtype)
    emit_gather(program, node.name, program.operand(graph, x), Ptr(y), [Dim(info.size, esize, esize)],
                tag=f"copy{len(program.calls)}", esize=esize)


def export(ex, node) -> None:
    if node.op == "Branch":
        if node.attrs["part"] != "fail":  # the reference graph cannot express the failure: it keeps the outputs
            ex.branch(node.attrs["part"], node.inputs[0] if node.inputs else None, node.name)
        return
    x = ex.graph_const(node.inputs[0]) if ex.graph.is_constant(node.inputs[0]) else node.inputs[0]
    ex.branch_output(x, node.outputs[0])


def flops(graph, node) -> int:
    return 0


"""RotaryEmbedding (opset 23): rotary position embedding, decomposed at import into existing IR ops
(no kernel of its own), as onnx's reference computes it.

input (B, H, S, D) or (B, S, H*D) (num_heads required); cos_cache/sin_cache (max_pos, rd/2) gathered
by position_ids (B, S), or already (B, S, rd/2) when position_ids is absent. The first rd channels of
each head (rd = rotary_embedding_dim, the head size when 0) are split into halves x1, x2
(interleaved: even and odd channels) and rotated:
    real = cos * x1 - sin * x2,  imag = sin * x1 + cos * x2
then written back (interleaved: as pairs); the rest of the head passes through. The work is done in
the input's own layout (cos/sin reshaped to broadcast), so no transpose is needed. float16 and
bfloat16 compute in float32 and are cast back.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import optional_input
from ..frontend.recurrent import Builder
from .linear_attention import _finish, _widened

IR_OP = None

DTYPES = ("float32", "float16", "bfloat16")


def import_rotary_embedding(im, node, at) -> None:
    where = f"RotaryEmbedding node {node.name!r}"
    x, cos, sin = node.input[:3]
    pos = optional_input(node, 3)
    dtype = im.dtype(x)
    if dtype not in DTYPES:
        raise UnsupportedModelError(f"{where}: input {x!r} has dtype {dtype}; the spec allows float32, float16 "
                                    "and bfloat16")
    for name in (cos, sin):
        if im.dtype(name) != dtype:
            raise ModelFormatError(f"{where}: {name!r} has dtype {im.dtype(name)}, input has {dtype}")
    if pos is not None and im.dtype(pos) != "int64":
        raise ModelFormatError(f"{where}: position_ids {pos!r} has dtype {im.dtype(pos)}; the spec requires int64")
    shape = tuple(im.shape(x))
    interleaved = bool(at.get("interleaved", 0))
    num_heads = int(at.get("num_heads", 0))
    b = Builder(im, node)
    if len(shape) == 4:
        batch, heads, seq, head = shape
        work = shape
    elif len(shape) == 3:
        batch, seq, hidden = shape
        if num_heads <= 0 or hidden % num_heads:
            raise ModelFormatError(f"{where}: a 3D input needs num_heads dividing its hidden size {hidden} "
                                   f"(num_heads={num_heads})")
        heads, head = num_heads, hidden // num_heads
        work = (batch, seq, heads, head)
    else:
        raise ModelFormatError(f"{where}: input {x!r} has rank {len(shape)}; the spec allows 3 or 4")
    rd = int(at.get("rotary_embedding_dim", 0)) or head
    if rd > head or rd % 2:
        raise ModelFormatError(f"{where}: rotary_embedding_dim {rd} must be even and at most the head size {head}")
    half = rd // 2

    def table(name: str) -> str:
        t = _widened(im, node, b, name)
        if pos is not None:
            ts = im.shape(t)
            if len(ts) != 2 or ts[1] != half:
                raise ModelFormatError(f"{where}: {name!r} has shape {list(ts)}; with position_ids it must be "
                                       f"(max_position, {half})")
            if tuple(im.shape(pos)) != (batch, seq):
                raise ModelFormatError(f"{where}: position_ids {pos!r} has shape {list(im.shape(pos))}, "
                                       f"expected {[batch, seq]}")
            pv = b.value(pos)
            if pv is not None:
                if pv.min(initial=0) < 0 or pv.max(initial=0) >= ts[0]:
                    raise ModelFormatError(f"{where}: position_ids out of range [0, {ts[0]})")
                t = b.take_rows(t, pv.astype(np.int64))
            else:
                t = b.emit("Gather", [t, pos], (batch, seq, half), axis=0)
        elif tuple(im.shape(t)) != (batch, seq, half):
            raise ModelFormatError(f"{where}: {name!r} has shape {list(im.shape(t))}; without position_ids it "
                                   f"must be {[batch, seq, half]}")
        # broadcast over heads in the working layout
        return b.reshape(t, (batch, 1, seq, half) if len(shape) == 4 else (batch, seq, 1, half))

    c, s = table(cos), table(sin)
    xf = b.reshape(_widened(im, node, b, x), work)
    last = 3
    rot = b.slice(xf, last, 0, rd)
    lead = work[:3]
    if interleaved:
        pairs = b.reshape(rot, lead + (half, 2))
        x1 = b.reshape(b.slice(pairs, 4, 0, 1), lead + (half,))
        x2 = b.reshape(b.slice(pairs, 4, 1, 1), lead + (half,))
    else:
        x1, x2 = b.slice(rot, last, 0, half), b.slice(rot, last, half, half)
    real = b.sub(b.mul(c, x1), b.mul(s, x2))
    imag = b.add(b.mul(s, x1), b.mul(c, x2))
    if interleaved:
        out = b.reshape(b.concat([b.reshape(real, lead + (half, 1)), b.reshape(imag, lead + (half, 1))], 4),
                        lead + (rd,))
    else:
        out = b.concat([real, imag], last)
    if rd < head:
        out = b.concat([out, b.slice(xf, last, rd, head - rd)], last)
    _finish(im, node, b, b.reshape(out, shape), node.output[0], dtype)


IMPORTS = {"RotaryEmbedding": (import_rotary_embedding, 3, 4)}

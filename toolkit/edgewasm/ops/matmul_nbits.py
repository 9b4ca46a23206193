"""onnxruntime's MatMulNBits (com.microsoft; transformers.js's q4 and q4f16 files,
onnxruntime's MatMulNBitsQuantizer): Y = A @ W [+ bias] with W [K, N] stored blockwise along K in
`bits`-bit integers, each block of `block_size` values with its own scale and zero point:
    W[k, n] = (q[n, k] - zp[n, k // block_size]) * scale[n, k // block_size]
q packed low bits first, rows of N padded to whole blocks; zero points packed the same way (uint8)
or given in the scales' dtype, 2^(bits-1) when absent. The weights are dequantized at compile time
(the difference, an exact small integer, times the scale: one rounding in the scales' dtype, then
float32) into a float MatMul: onnxruntime's own CPU path at accuracy levels 0-1. They ship as
float32 (or the activations' float16), 32/bits times the packed bytes: a q8 file of the same model
is 4x smaller in a bundle. Per-column group indices (g_idx,
act-order) and accuracy_level 4 (activations quantized to int8 first) are refused by name."""

from __future__ import annotations

import numpy as np
from onnx import helper

from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = None


def _unpack(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """Little-endian bit fields of `bits` bits from uint8 rows: [rows, bytes] -> [rows, count]."""
    fields = np.unpackbits(packed.astype(np.uint8)[..., None], axis=-1, bitorder="little")
    fields = fields.reshape(*packed.shape[:-1], -1)[..., : count * bits].reshape(*packed.shape[:-1], count, bits)
    return (fields.astype(np.int32) << np.arange(bits, dtype=np.int32)).sum(axis=-1)


def dequantized_weights(im, node, at) -> np.ndarray:
    where = f"MatMulNBits node {node.name!r}"
    names = list(node.input) + [""] * (6 - len(node.input))
    _, b_name, scales_name, zp_name, g_idx, _ = names
    if g_idx:
        raise UnsupportedModelError(f"{where}: g_idx (act-order group indices) is not supported")
    if int(at.get("accuracy_level", 0)) == 4:
        raise UnsupportedModelError(f"{where}: accuracy_level 4 (int8 activations) is not supported")
    try:
        k, n, bits, block = int(at["K"]), int(at["N"]), int(at.get("bits", 4)), int(at["block_size"])
    except KeyError as missing:
        raise ModelFormatError(f"{where}: the {missing} attribute is required") from None
    if not 2 <= bits <= 8 or block < 16 or block & (block - 1):
        raise ModelFormatError(f"{where}: bits {bits} (2..8) and block_size {block} (a power of two >= 16)")
    blocks = -(-k // block)
    packed = im.const(b_name, node, "B (the packed weights)")
    if packed.dtype != np.uint8 or packed.size != n * blocks * (block * bits // 8):
        raise ModelFormatError(f"{where}: B must be uint8 [N, blocks, block_size * bits / 8] = "
                               f"[{n}, {blocks}, {block * bits // 8}], got {packed.dtype} {list(packed.shape)}")
    q = _unpack(packed.reshape(n * blocks, -1), bits, block).reshape(n, blocks * block)
    scales = im.const(scales_name, node, "the scales")
    if scales.size != n * blocks:
        raise ModelFormatError(f"{where}: {scales.size} scales for {n} x {blocks} blocks")
    scales = scales.reshape(n, blocks)
    if not zp_name:
        zp = np.full((n, blocks), 1 << (bits - 1), np.int32)
    else:
        zp = im.const(zp_name, node, "the zero points")
        if zp.dtype == np.uint8:
            per_row = -(-blocks * bits // 8)
            if zp.size != n * per_row:
                raise ModelFormatError(f"{where}: {zp.size} packed zero points for {n} rows of {blocks} blocks")
            zp = _unpack(zp.reshape(n, per_row), bits, blocks)
        elif zp.size == n * blocks and zp.dtype == scales.dtype:
            zp = zp.reshape(n, blocks)
        else:
            raise ModelFormatError(f"{where}: zero points must be packed uint8 or {scales.dtype} per block, got "
                                   f"{zp.dtype} {list(zp.shape)}")
    centered = q.reshape(n, blocks, block) - np.asarray(zp).reshape(n, blocks, 1)  # exact (int or small float)
    w = (centered.astype(scales.dtype) * scales[:, :, None]).astype(np.float32)  # one rounding per value
    return np.ascontiguousarray(w.reshape(n, blocks * block)[:, :k].T)


def import_matmul_nbits(im, node, at) -> None:
    w = dequantized_weights(im, node, at)
    a, y = node.input[0], node.output[0]
    name = im.fresh(f"{node.input[1]}__dequantized")
    im.constants[name] = w.astype(np.dtype(im.dtype(a))) if im.dtype(a) != "float32" else w
    bias = node.input[5] if len(node.input) > 5 else ""
    product = im.fresh(f"{y}__product") if bias else y
    nodes = [helper.make_node("MatMul", [a, name], [product], name=node.name)]
    if bias:
        nodes.append(helper.make_node("Add", [product, bias], [y], name=f"{node.name} (bias)"))
    im.import_nodes(nodes)


IMPORTS = {"MatMulNBits": (import_matmul_nbits, 3, 6)}

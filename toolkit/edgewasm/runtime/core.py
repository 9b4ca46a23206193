"""Host-independent runtime: validate inputs, move bytes in and out, call `run` once.

Stdlib only. A host (wasmtime or the browser) supplies an `Instance` that can write and read
linear memory and call `run`; everything a user can get wrong is checked here, once, for both.
"""

from __future__ import annotations

import array
import struct
import sys
import time
from typing import Any, Callable, Protocol

from ..bundle import DTYPES, SUB_BYTE_BITS, TensorSpec, VariantSpec, packed_nbytes
from ..errors import BundleError, ExecutionError, IndexOutOfRangeError, InputError


class Instance(Protocol):
    """One instantiated model module (its own memory: instances never share state)."""

    def write(self, offset: int, data: bytes | memoryview) -> None: ...

    def read(self, offset: int, nbytes: int) -> bytes: ...

    def call(self, export: str) -> int: ...


class Tensor:
    """A stdlib n-d array for hosts without numpy: flat data plus a shape. The data is an
    `array.array`, or the little-endian bytes of a dtype array.array lacks (float16, bfloat16,
    the float8 types: one byte per element; int4, uint4, float4_e2m1fn, int2, uint2: packed as
    ONNX packs them, two 4-bit or four 2-bit elements per byte, the first in the low bits).
    `tolist()` decodes every dtype to Python numbers."""

    def __init__(self, data: array.array | bytes, shape: tuple[int, ...], dtype: str = "float32"):
        self.data, self.shape, self.dtype = data, tuple(shape), dtype

    def tolist(self) -> Any:
        def nest(flat: list, shape: tuple[int, ...]) -> list:
            if len(shape) <= 1:
                return flat
            step = len(flat) // shape[0]
            return [nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]

        if isinstance(self.data, array.array):
            flat = self.data.tolist()
        elif self.dtype == "float16":
            flat = list(struct.unpack(f"<{len(self.data) // 2}e", self.data))
        elif self.dtype == "bfloat16":
            flat = [struct.unpack("<f", b"\0\0" + self.data[i:i + 2])[0] for i in range(0, len(self.data), 2)]
        else:
            size = 1
            for d in self.shape:
                size *= d
            codes = unpack_codes(self.dtype, bytes(self.data), size)
            values = code_values(self.dtype)
            flat = [values[c] for c in codes]
        if self.dtype == "bool":
            flat = [bool(v) for v in flat]
        return nest(flat, self.shape) if self.shape else flat[0]

    def tobytes(self) -> bytes:
        return self.data.tobytes() if isinstance(self.data, array.array) else bytes(self.data)

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 1

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, dtype={self.dtype})"


def encode_input(spec: TensorSpec, value: Any) -> bytes:
    """Any accepted input kind -> the little-endian bytes the module expects, or InputError.

    Accepted: numpy arrays (exact dtype, ml_dtypes' for bfloat16/float8/int4/..., and shape),
    `array.array` and `memoryview` of the right item type and element count (flat or with matching
    shape), `Tensor`, nested lists (dtypes Python can pack: floats, integers, bool), and
    raw `bytes`/`bytearray`/byte memoryviews holding the dtype's own encoding (one byte per element
    for the float8 dtypes; the sub-byte ones packed as ONNX packs them, or one per byte as ml_dtypes
    holds them: the only way to pass those without numpy).
    """
    code, itemsize = DTYPES[spec.dtype]
    where = f"input {spec.name!r}"
    bits = SUB_BYTE_BITS.get(spec.dtype)
    if hasattr(value, "__array_interface__") and hasattr(value, "dtype"):  # numpy, without importing it
        if (value.dtype.char != "f" or spec.dtype != "float32") and value.dtype.name != spec.dtype:
            raise InputError(f"{where}: dtype {value.dtype}, expected {spec.dtype} "
                             f"(convert with .astype('{spec.dtype}'))")
        if tuple(value.shape) != spec.shape:
            raise InputError(f"{where}: shape {tuple(value.shape)}, expected {spec.shape}")
        if value.dtype.byteorder == ">":
            value = value.astype(value.dtype.newbyteorder("<"))
        data = value.tobytes(order="C")
        if bits:  # ml_dtypes keeps one element per byte; the module reads the code in the low bits
            data = data.translate(_MASKS[bits])
    elif isinstance(value, Tensor):
        if value.shape != spec.shape:
            raise InputError(f"{where}: shape {value.shape}, expected {spec.shape}")
        if value.dtype != spec.dtype and not (isinstance(value.data, array.array) and code):
            raise InputError(f"{where}: a {value.dtype} Tensor, expected {spec.dtype}")
        data = _typed_bytes(where, value.data, code, itemsize) if isinstance(value.data, array.array) else \
            _raw_bytes(where, spec, bytes(value.data))
    elif isinstance(value, (bytes, bytearray)) or (isinstance(value, memoryview) and value.format in ("B", "c")):
        data = _raw_bytes(where, spec, bytes(value))  # raw: the dtype's encoding, already little-endian
    elif isinstance(value, memoryview):
        if value.format != code or value.itemsize != itemsize:
            raise InputError(f"{where}: memoryview of format {value.format!r}, expected {code!r} ({spec.dtype})"
                             " or raw bytes ('B')")
        if value.ndim > 1 and tuple(value.shape) != spec.shape:
            raise InputError(f"{where}: shape {tuple(value.shape)}, expected {spec.shape}")
        data = _little_endian(value.tobytes(), itemsize)
    elif isinstance(value, array.array):
        data = _typed_bytes(where, value, code, itemsize)
    elif isinstance(value, (list, tuple)):
        if not code:
            layout = (f"packed, {8 // bits} elements per byte, the first in the low bits" if bits else
                      "one byte per element" if itemsize == 1 else "little-endian")
            raise InputError(f"{where}: a nested list cannot encode {spec.dtype}; pass a numpy array of "
                             f"ml_dtypes.{spec.dtype} or its raw bytes ({layout})")
        flat = _flatten(where, value, spec.shape)
        try:  # array.array where it has the typecode (float32 overflow gives inf, as before); struct for 'e'
            packed = array.array(code, flat).tobytes() if code != "e" else struct.pack(f"={len(flat)}e", *flat)
            data = _little_endian(packed, itemsize)
        except (struct.error, TypeError, OverflowError):
            raise InputError(f"{where}: nested list must hold numbers that fit {spec.dtype}") from None
    else:
        raise InputError(f"{where}: unsupported type {type(value).__name__}; pass a numpy array, "
                         "array.array, memoryview, bytes or nested list")
    if len(data) != spec.nbytes:
        raise InputError(f"{where}: {len(data) // itemsize} elements, expected {spec.size} for shape {spec.shape}")
    return data


def _raw_bytes(where: str, spec: TensorSpec, data: bytes) -> bytes:
    """Raw bytes of `spec`'s dtype as the module holds them: a sub-byte dtype packed as ONNX packs it
    (or one element per byte, as ml_dtypes' arrays hold it)."""
    bits = SUB_BYTE_BITS.get(spec.dtype)
    if bits and len(data) == packed_nbytes(spec.dtype, spec.size):
        return unpack_codes(spec.dtype, data, spec.size)
    if bits and len(data) == spec.size:
        return data.translate(_MASKS[bits])
    if len(data) != spec.nbytes or bits:
        expected = (f"{packed_nbytes(spec.dtype, spec.size)} (packed, {8 // bits} per byte)" if bits
                    else str(spec.nbytes))
        raise InputError(f"{where}: {len(data)} raw bytes, expected {expected} "
                         f"({spec.size} x {spec.dtype} for shape {spec.shape})")
    return data


_MASKS = {bits: bytes(b & ((1 << bits) - 1) for b in range(256)) for bits in (2, 4)}
_SHIFTS = {shift: bytes((b << shift) & 0xFF for b in range(256)) for shift in (2, 4, 6)}
_FIELDS = {(bits, shift): bytes((b >> shift) & ((1 << bits) - 1) for b in range(256))
           for bits in (2, 4) for shift in range(0, 8, bits)}


def pack_codes(dtype: str, codes: bytes) -> bytes:
    """One element per byte (the code in the low bits) -> ONNX's packing of a sub-byte dtype: 8 / bits
    elements per byte, the first in the low bits, the last byte zero-padded."""
    bits = SUB_BYTE_BITS[dtype]
    per = 8 // bits
    codes = bytes(codes).translate(_MASKS[bits])
    nbytes = -(-len(codes) // per)
    codes += bytes(nbytes * per - len(codes))
    packed = 0
    for j in range(per):
        lane = codes[j::per] if j == 0 else codes[j::per].translate(_SHIFTS[j * bits])
        packed |= int.from_bytes(lane, "little")
    return packed.to_bytes(nbytes, "little")


def unpack_codes(dtype: str, packed: bytes, size: int) -> bytes:
    """ONNX's packing of a sub-byte dtype -> `size` elements, one per byte (the code in the low bits)."""
    bits = SUB_BYTE_BITS.get(dtype)
    if not bits:
        return bytes(packed[:size])
    per = 8 // bits
    out = bytearray(len(packed) * per)
    for j in range(per):
        out[j::per] = bytes(packed).translate(_FIELDS[(bits, j * bits)])
    return bytes(out[:size])


# (exponent bits, mantissa bits, bias, kind) of the small float dtypes; kind: "ieee" has inf and NaNs
# (all-ones exponent), "fn" only NaN (all ones), "fnuz" only NaN (the code of -0), "none" neither.
SMALL_FLOATS = {"float8_e4m3fn": (4, 3, 7, "fn"), "float8_e4m3fnuz": (4, 3, 8, "fnuz"),
                "float8_e5m2": (5, 2, 15, "ieee"), "float8_e5m2fnuz": (5, 2, 16, "fnuz"),
                "float4_e2m1fn": (2, 1, 1, "none")}


def code_values(dtype: str) -> list:
    """The Python number every code of a float8 or sub-byte dtype stands for (index = code)."""
    if dtype in _CODE_VALUES:
        return _CODE_VALUES[dtype]
    if dtype == "float8_e8m0fnu":
        values = [2.0 ** (c - 127) for c in range(255)] + [float("nan")]
    elif dtype in SMALL_FLOATS:
        e_bits, m_bits, bias, kind = SMALL_FLOATS[dtype]
        width = 1 + e_bits + m_bits
        values = []
        for c in range(1 << width):
            sign = -1.0 if c >> (width - 1) else 1.0
            e, m = (c >> m_bits) & ((1 << e_bits) - 1), c & ((1 << m_bits) - 1)
            if (kind == "fn" and c & 0x7F == 0x7F) or (kind == "fnuz" and c == 0x80) or \
                    (kind == "ieee" and e == (1 << e_bits) - 1 and m):
                values.append(float("nan"))
            elif kind == "ieee" and e == (1 << e_bits) - 1:
                values.append(sign * float("inf"))
            elif e == 0:
                values.append(sign * m * 2.0 ** (1 - bias - m_bits))
            else:
                values.append(sign * ((1 << m_bits) + m) * 2.0 ** (e - bias - m_bits))
    elif dtype in SUB_BYTE_BITS:
        bits = SUB_BYTE_BITS[dtype]
        signed = dtype.startswith("int")
        values = [c - (1 << bits) if signed and c >> (bits - 1) else c for c in range(1 << bits)]
        values += [values[c & ((1 << bits) - 1)] for c in range(1 << bits, 256)]
    else:
        raise InputError(f"a {dtype} tensor has no Python number type; read its bytes with .tobytes()")
    _CODE_VALUES[dtype] = values
    return values


_CODE_VALUES: dict[str, list] = {}


def _typed_bytes(where: str, value: array.array, code: str, itemsize: int) -> bytes:
    if value.typecode != code:
        raise InputError(f"{where}: array.array of typecode {value.typecode!r}, expected {code!r}")
    return _little_endian(value.tobytes(), itemsize)


def _little_endian(data: bytes, itemsize: int) -> bytes:
    if sys.byteorder == "little" or itemsize == 1:
        return data
    swapped = array.array({2: "H", 4: "f", 8: "d"}[itemsize], data)
    swapped.byteswap()
    return swapped.tobytes()


def _flatten(where: str, value: Any, shape: tuple[int, ...]) -> list:
    flat: list = []

    def walk(v: Any, depth: int) -> None:
        if depth == len(shape):
            if isinstance(v, (list, tuple)):
                raise InputError(f"{where}: nested list is deeper than shape {shape}")
            flat.append(v)
            return
        if not isinstance(v, (list, tuple)) or len(v) != shape[depth]:
            got = len(v) if isinstance(v, (list, tuple)) else "a scalar"
            raise InputError(f"{where}: nested list has {got} at depth {depth}, expected {shape[depth]} "
                             f"(shape {shape})")
        for item in v:
            walk(item, depth + 1)

    walk(value, 0)
    return flat


def decode_tensor(spec: TensorSpec, raw: bytes) -> Tensor:
    code, itemsize = DTYPES[spec.dtype]
    if spec.dtype in SUB_BYTE_BITS:  # packed as ONNX packs them (the module holds one per byte)
        return Tensor(pack_codes(spec.dtype, raw), spec.shape, spec.dtype)
    if code in ("", "e"):  # no array.array typecode: the tensor keeps its little-endian bytes
        return Tensor(bytes(raw), spec.shape, spec.dtype)
    return Tensor(array.array(code, _little_endian(raw, itemsize)), spec.shape, spec.dtype)


def encode_inputs(variant: VariantSpec, inputs: dict[str, Any]) -> list[tuple[TensorSpec, bytes]]:
    """Check names, then encode every input; nothing is written unless all of them are valid."""
    if not isinstance(inputs, dict):
        raise InputError("inputs must be a dict of {input name: array}")
    expected = [t.name for t in variant.inputs]
    unknown = sorted(set(inputs) - set(expected))
    missing = [n for n in expected if n not in inputs]
    if unknown or missing:
        raise InputError(f"inputs do not match the model: missing {missing}, unknown {unknown}; "
                         f"expected {expected}")
    return [(t, encode_input(t, inputs[t.name])) for t in variant.inputs]


class Model:
    """A loaded variant: `run({name: array}) -> {name: array}`, one `run` call per inference."""

    def __init__(self, variant: VariantSpec, instance: Instance,
                 make_output: Callable[[TensorSpec, bytes], Any] = decode_tensor, host: str = ""):
        self.variant = variant
        self.instance = instance
        self.make_output = make_output
        self.host = host

    @property
    def inputs(self) -> list[TensorSpec]:
        return self.variant.inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self.variant.outputs

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        for spec, data in encode_inputs(self.variant, inputs):
            self.instance.write(spec.offset, data)
        check_status(self.variant, "run", self.instance.call("run"))
        return {t.name: self.make_output(t, self.instance.read(t.offset, t.nbytes)) for t in self.variant.outputs}

    def profile(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """One inference through a --profile build's per-layer entry points, each timed by the host.

        Returns {"outputs": the same outputs `run` gives, "layers": [{"export", "node", "ms"}]}.
        """
        if not self.variant.layers:
            raise BundleError(f"variant {self.variant.name} has no per-layer entry points; "
                              "compile it with `edgewasm compile --profile`")
        for spec, data in encode_inputs(self.variant, inputs):
            self.instance.write(spec.offset, data)
        layers = []
        for layer in self.variant.layers:
            started = time.perf_counter()
            status = self.instance.call(layer["export"])
            elapsed = (time.perf_counter() - started) * 1000
            check_status(self.variant, f"{layer['export']} ({layer['node']})", status)
            layers.append({**layer, "ms": elapsed})
        outputs = {t.name: self.make_output(t, self.instance.read(t.offset, t.nbytes)) for t in self.variant.outputs}
        return {"outputs": outputs, "layers": layers}

    def __repr__(self) -> str:
        ins = ", ".join(f"{t.name}{list(t.shape)}" for t in self.inputs)
        outs = ", ".join(f"{t.name}{list(t.shape)}" for t in self.outputs)
        return f"<edgewasm.Model {self.variant.name} on {self.host}: ({ins}) -> ({outs})>"


def check_status(variant: VariantSpec, export: str, status: int) -> None:
    """Raise the typed error a nonzero status of `export` stands for (the manifest's failures)."""
    if status == 0:
        return
    if 0 < status <= len(variant.failures):
        message = variant.failures[status - 1]
        if message.endswith("out of range"):  # a run-time index or length (the index kernels' failures)
            raise IndexOutOfRangeError(f"{message}; {export} stopped before writing outside it")
        raise ExecutionError(f"{message}; {export} stopped")
    raise ExecutionError(f"{export} returned status {status}")


def load_weights(variant: VariantSpec, instance: Instance, fetch: Callable[[str], bytes],
                 verify: Callable) -> None:
    """Write every weight chunk (verified first) at its offset, then call `init` if exported."""
    for chunk in variant.weights:
        instance.write(chunk.offset, verify(chunk, fetch(chunk.file)))
    if variant.has_init and instance.call("init") != 0:
        raise ExecutionError("model init returned a non-zero status")


def sidecar_variant(meta: dict, module_file: str, module_bytes: bytes, pages: int) -> VariantSpec:
    """A bring-your-own module's small manifest (inputs/outputs with offsets) as a variant."""
    from ..bundle import FileSpec, check_layout, parse_tensor, sha256

    try:
        inputs = [parse_tensor(t, "inputs") for t in meta["inputs"]]
        outputs = [parse_tensor(t, "outputs") for t in meta["outputs"]]
    except (KeyError, TypeError):
        raise BundleError("the module's manifest needs 'inputs' and 'outputs' lists") from None
    variant = VariantSpec(meta.get("name", "custom"), FileSpec(module_file, sha256(module_bytes), len(module_bytes)),
                          pages, inputs, outputs, has_init=bool(meta.get("init", False)))
    check_layout(variant)
    return variant


"""The bundle: manifest schema, writing, and validation (stdlib only: the browser reads it too).

```
BUNDLE/manifest.json
BUNDLE/<variant>/model.wasm, weights-000.bin ..., reference.onnx
```
Every file is named with its sha256; every offset and size is checked against the module's memory
before a host writes a byte, so a damaged or hostile manifest is refused, never half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BundleError, IntegrityError, ManifestDigestError

FORMAT = "edgewasm-bundle"
FORMAT_VERSION = 1
PAGE = 65536
# dtype name (numpy's, or ml_dtypes' for the types numpy lacks) -> (struct/array.array typecode, or
# "" where Python has none; bytes per element in memory). Inputs and outputs keep the graph's dtypes.
# bool is one byte (0 or 1), read as array.array('B').
#
# The low-precision dtypes (float8_e4m3fn, float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz,
# float8_e8m0fnu, float4_e2m1fn, int4, uint4, int2, uint2) hold one element per byte in linear
# memory, exactly as ml_dtypes holds them in a numpy array: the element's code in the low bits
# (SUB_BYTE_BITS of them for the sub-byte types) and zero high bits, so a manifest's nbytes is
# the element count for all of them and kernels address them like int8 (they mask the code).
# Outside numpy, a host moves sub-byte tensors packed as ONNX packs them (raw_data): two 4-bit or
# four 2-bit elements per byte, the first element in the low bits, the last byte padded with
# zeros (`packed_nbytes`); runtime.core packs outputs into the stdlib Tensor's bytes and unpacks
# raw inputs. The float8 types travel as one byte per element everywhere.
DTYPES = {"float32": ("f", 4), "float64": ("d", 8), "float16": ("e", 2), "bfloat16": ("", 2),
          "int8": ("b", 1), "uint8": ("B", 1), "int16": ("h", 2), "uint16": ("H", 2),
          "int32": ("i", 4), "uint32": ("I", 4), "int64": ("q", 8), "uint64": ("Q", 8), "bool": ("B", 1),
          "float8_e4m3fn": ("", 1), "float8_e4m3fnuz": ("", 1), "float8_e5m2": ("", 1),
          "float8_e5m2fnuz": ("", 1), "float8_e8m0fnu": ("", 1), "float4_e2m1fn": ("", 1),
          "int4": ("", 1), "uint4": ("", 1), "int2": ("", 1), "uint2": ("", 1)}
FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
                "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn")
SUB_BYTE_BITS = {"int4": 4, "uint4": 4, "float4_e2m1fn": 4, "int2": 2, "uint2": 2}
LOW_PRECISION = ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu",
                 "float4_e2m1fn", "int4", "uint4", "int2", "uint2")
DEFAULT_CHUNK_BYTES = 1 << 20


def packed_nbytes(dtype: str, size: int) -> int:
    """Bytes of `size` elements of `dtype` outside the module: packed for the sub-byte dtypes."""
    bits = SUB_BYTE_BITS.get(dtype)
    return -(-size * bits // 8) if bits else size * DTYPES[dtype][1]


@dataclass(frozen=True)
class TensorSpec:
    """One input or output at the module boundary: where it lives in linear memory."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape),
                "offset": self.offset, "nbytes": self.nbytes}


@dataclass(frozen=True)
class FileSpec:
    file: str  # relative to the bundle root, '/'-separated
    sha256: str
    nbytes: int


@dataclass(frozen=True)
class ChunkSpec(FileSpec):
    offset: int = 0  # where the chunk's bytes go in linear memory


@dataclass
class VariantSpec:
    name: str
    module: FileSpec
    pages: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    weights: list[ChunkSpec] = field(default_factory=list)
    has_init: bool = False
    kernels: list[str] = field(default_factory=list)
    reference: FileSpec | None = None
    report: dict = field(default_factory=dict)
    layers: list[dict] = field(default_factory=list)  # a --profile build: [{"export", "node"}] in run order
    failures: list[str] = field(default_factory=list)  # run() status i + 1 means failures[i]
    threads: int = 1  # a --threads N build: imports one shared memory, runs on up to N threads
    deadline_checks: bool = False  # run() stops at the host's deadline word between layers (runtime/sandbox.py)

    @property
    def memory_bytes(self) -> int:
        return self.pages * PAGE


@dataclass
class BundleSpec:
    name: str
    variants: dict[str, VariantSpec]
    default_variant: str
    raw: dict

    def variant(self, name: str | None = None) -> VariantSpec:
        key = name or self.default_variant
        if key not in self.variants:
            raise BundleError(f"bundle {self.name!r} has no variant {key!r}; it has {sorted(self.variants)}")
        return self.variants[key]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify_bytes(spec: FileSpec, data: bytes) -> bytes:
    """Return `data` if it matches the manifest; refuse it with the file's name otherwise."""
    if len(data) != spec.nbytes:
        raise IntegrityError(f"{spec.file}: expected {spec.nbytes} bytes, got {len(data)} (truncated or replaced?)")
    if sha256(data) != spec.sha256:
        raise IntegrityError(f"{spec.file}: sha256 does not match the manifest (corrupted or replaced)")
    return data


def manifest_pin(expected: str | None) -> str | None:
    """A manifest_sha256 argument as 64 lower-case hex digits (None: nothing pinned)."""
    if expected is None:
        return None
    pin = expected.strip().lower() if isinstance(expected, str) else ""
    if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
        raise BundleError(f"manifest_sha256 must be 64 hex digits (the sha256 of manifest.json), got {expected!r}")
    return pin


def check_manifest_digest(data: bytes, expected: str | None, where: str) -> bytes:
    """Return the manifest's bytes if they have the pinned sha256 (hex; None pins nothing)."""
    pin = manifest_pin(expected)
    if pin is None:
        return data
    actual = sha256(data)
    if actual != pin:
        raise ManifestDigestError(f"{where}: manifest.json has sha256 {actual}, not the pinned {pin} "
                                  "(edited or replaced since it was pinned); refusing to load it")
    return data


# -- reading ---------------------------------------------------------------------------------


def parse_manifest(text: str | bytes) -> BundleSpec:
    """Parse and validate a manifest; every problem is a BundleError naming the field."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"manifest.json is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BundleError("manifest.json is not an edgewasm bundle manifest (missing format)")
    if raw.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"manifest format_version {raw.get('format_version')!r} is not supported "
            f"(this edgewasm reads version {FORMAT_VERSION})"
        )
    variants_raw = _get(raw, "variants", dict, "manifest")
    if not variants_raw:
        raise BundleError("manifest has no variants")
    variants = {name: _parse_variant(name, v) for name, v in variants_raw.items()}
    default = raw.get("default_variant", next(iter(variants)))
    if not isinstance(default, str) or default not in variants:
        raise BundleError(f"manifest default_variant {default!r} is not one of its variants")
    return BundleSpec(str(raw.get("name", "model")), variants, default, raw)


def _get(obj: dict, key: str, kind: type, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise BundleError(f"manifest: {where} lacks {key!r}")
    value = obj[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise BundleError(f"manifest: {where}.{key} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _optional(obj: dict, key: str, kind: type, default, where: str):
    return _get(obj, key, kind, where) if key in obj else default


def _file(obj: dict, where: str) -> FileSpec:
    path = _get(obj, "file", str, where)
    if path.startswith("/") or ".." in path.split("/") or "\\" in path:
        raise BundleError(f"manifest: {where}.file {path!r} must be a relative path inside the bundle")
    return FileSpec(path, _get(obj, "sha256", str, where), _get(obj, "nbytes", int, where))


def _parse_variant(name: str, v: dict) -> VariantSpec:
    where = f"variants.{name}"
    pages = _get(v, "memory", dict, where)
    spec = VariantSpec(
        name=name,
        module=_file(_get(v, "module", dict, where), f"{where}.module"),
        pages=_get(pages, "pages", int, f"{where}.memory"),
        inputs=[parse_tensor(t, f"{where}.inputs") for t in _get(v, "inputs", list, where)],
        outputs=[parse_tensor(t, f"{where}.outputs") for t in _get(v, "outputs", list, where)],
        weights=[_chunk(c, f"{where}.weights") for c in _optional(v, "weights", list, [], where)],
        has_init=_optional(v, "init", bool, False, where),
        kernels=_optional(v, "kernels", list, [], where),
        reference=_file(v["reference"], f"{where}.reference") if "reference" in v else None,
        report=_optional(v, "report", dict, {}, where),
        layers=[_layer(entry, f"{where}.layers") for entry in _optional(v, "layers", list, [], where)],
        failures=_optional(v, "failures", list, [], where),
        threads=_optional(v, "threads", int, 1, where),
        deadline_checks=_optional(v, "deadline_checks", bool, False, where),
    )
    if spec.threads < 1:
        raise BundleError(f"manifest: {where}.threads must be >= 1")
    if not all(isinstance(message, str) for message in spec.failures):
        raise BundleError(f"manifest: {where}.failures must be a list of strings")
    if not all(isinstance(kernel, str) for kernel in spec.kernels):
        raise BundleError(f"manifest: {where}.kernels must be a list of strings")
    check_layout(spec)
    return spec


def _layer(entry: dict, where: str) -> dict:
    export = _get(entry, "export", str, where)
    if not export.startswith("layer_") or not export[6:].isdigit():
        raise BundleError(f"manifest: {where} export {export!r} is not a profiling entry point (layer_<n>)")
    return {"export": export, "node": _get(entry, "node", str, where)}


def parse_tensor(t: dict, where: str) -> TensorSpec:
    dtype = _get(t, "dtype", str, where)
    if dtype not in DTYPES:
        raise BundleError(f"manifest: {where} dtype {dtype!r} is not supported ({sorted(DTYPES)})")
    shape = tuple(_get(t, "shape", list, where))
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise BundleError(f"manifest: {where} shape {list(shape)} must be non-negative integers")
    return TensorSpec(_get(t, "name", str, where), dtype, shape,
                      _get(t, "offset", int, where), _get(t, "nbytes", int, where))


def _chunk(c: dict, where: str) -> ChunkSpec:
    f = _file(c, where)
    return ChunkSpec(f.file, f.sha256, f.nbytes, _get(c, "offset", int, where))


def check_layout(v: VariantSpec) -> None:
    """Every region a host will touch must lie inside the module's memory; sizes must agree."""
    limit = v.memory_bytes
    if v.pages < 1 or v.pages > 65536:
        raise BundleError(f"variant {v.name}: memory pages {v.pages} out of range")
    regions = [(f"input {t.name}", t.offset, t.nbytes) for t in v.inputs]
    regions += [(f"output {t.name}", t.offset, t.nbytes) for t in v.outputs]
    regions += [(f"weights {c.file}", c.offset, c.nbytes) for c in v.weights]
    for label, offset, nbytes in regions:
        if offset < 0 or nbytes < 0 or offset + nbytes > limit:
            raise BundleError(
                f"variant {v.name}: {label} at [{offset}, {offset + nbytes}) lies outside "
                f"the module's {limit} bytes of memory"
            )
    for t in v.inputs + v.outputs:
        if t.nbytes != t.size * DTYPES[t.dtype][1]:
            raise BundleError(f"variant {v.name}: {t.name} has nbytes {t.nbytes} but shape {list(t.shape)}")
    names = [t.name for t in v.inputs]
    if len(set(names)) != len(names):
        raise BundleError(f"variant {v.name}: duplicate input names {names}")


# -- writing ---------------------------------------------------------------------------------


@dataclass
class VariantBuild:
    """What the compiler hands to the writer for one variant."""

    name: str
    wasm: bytes
    pages: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    weights_offset: int
    weights: bytes
    kernels: list[str]
    reference_onnx: bytes
    report: dict
    has_init: bool = False
    layers: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    threads: int = 1
    deadline_checks: bool = False


def write_bundle(out: Path, name: str, source_sha256: str, variants: list[VariantBuild],
                 toolkit_version: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Path:
    """Write the bundle directory and return the manifest's path."""
    if chunk_bytes < 16 or chunk_bytes % 16:
        raise BundleError(f"chunk size must be a positive multiple of 16 bytes, got {chunk_bytes}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "toolkit_version": toolkit_version,
        "name": name,
        "source": {"sha256": source_sha256},
        "default_variant": variants[0].name,
        "variants": {},
    }
    for v in variants:
        vdir = out / v.name
        vdir.mkdir(exist_ok=True)
        for stale in vdir.glob("weights-*.bin"):
            stale.unlink()
        chunks = []
        for i, start in enumerate(range(0, len(v.weights), chunk_bytes)):
            piece = v.weights[start:start + chunk_bytes]
            rel = f"{v.name}/weights-{i:03d}.bin"
            (out / rel).write_bytes(piece)
            chunks.append({"file": rel, "offset": v.weights_offset + start, "nbytes": len(piece),
                           "sha256": sha256(piece)})
        (vdir / "model.wasm").write_bytes(v.wasm)
        (vdir / "reference.onnx").write_bytes(v.reference_onnx)
        manifest["variants"][v.name] = {
            "module": {"file": f"{v.name}/model.wasm", "sha256": sha256(v.wasm), "nbytes": len(v.wasm)},
            "reference": {"file": f"{v.name}/reference.onnx", "sha256": sha256(v.reference_onnx),
                          "nbytes": len(v.reference_onnx)},
            "memory": {"pages": v.pages},
            "init": v.has_init,
            "inputs": [t.to_json() for t in v.inputs],
            "outputs": [t.to_json() for t in v.outputs],
            "weights": chunks,
            "kernels": v.kernels,
            "report": v.report,
            **({"layers": v.layers} if v.layers else {}),
            **({"failures": v.failures} if v.failures else {}),
            **({"threads": v.threads} if v.threads > 1 else {}),
            **({"deadline_checks": True} if v.deadline_checks else {}),
        }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    parse_manifest(path.read_text())  # never write what we would refuse to read
    return path

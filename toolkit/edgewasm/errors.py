"""Typed errors: every failure a user can cause maps to one class.

The CLI turns any `EdgewasmError` into a one-line message and exit code 2; anything
else is a bug in edgewasm and keeps its traceback.
"""


class EdgewasmError(Exception):
    """Base class of every error a user can cause (bad model, bad bundle, bad input)."""


class ModelFormatError(EdgewasmError):
    """The ONNX file is unreadable, truncated or structurally invalid."""


class UnsupportedModelError(EdgewasmError):
    """The model is valid ONNX but uses operators, attributes or dtypes edgewasm cannot compile."""


class Float32OnlyError(UnsupportedModelError):
    """An op's kernels compute float32 only, and an input has another dtype (the importer computes
    float16/bfloat16 nodes in float32 between casts instead)."""


class DynamicShapeError(UnsupportedModelError):
    """A dimension stays symbolic after the batch size is fixed."""


class CompileLimitError(UnsupportedModelError):
    """Compiling would allocate a tensor or a memory plan beyond the compile limit (`--max-bytes`)."""


class BundleError(EdgewasmError):
    """The bundle or its manifest is missing, malformed or refers outside the module's memory."""


class IntegrityError(BundleError):
    """A bundle file's bytes do not match the sha256 recorded in its manifest."""


class ManifestDigestError(IntegrityError):
    """The bundle's manifest.json is not the one its loader pinned (`load(..., manifest_sha256=...)`):
    edited or replaced since the page or program that loads it was made."""


class InputError(EdgewasmError):
    """Inputs given to `Model.run` do not match the model's names, shapes or dtypes."""


class ExecutionError(EdgewasmError):
    """The module trapped or its `run` returned a non-zero status."""


class IndexOutOfRangeError(ExecutionError):
    """An index computed at run time (Gather, Scatter, ...) lies outside its tensor: `run` stopped
    before touching anything outside it and returned the status naming the node."""


class ResourceLimitError(EdgewasmError):
    """The model needs more memory than the runtime config allows; refused before instantiation."""


class DeadlineExceeded(ExecutionError):
    """`run` took longer than the runtime config's deadline; the instance is re-made, still usable."""


class CompressionError(EdgewasmError):
    """A variant name or compression option is invalid, or the data given for calibration,
    distillation or evaluation does not fit the model."""


class PolicyError(EdgewasmError):
    """The variant policy was given an unknown priority, an impossible context or no variants."""


class UnsupportedBrowserError(BundleError):
    """The browser lacks a WebAssembly feature every edgewasm module needs (SIMD128)."""


class NetworkError(BundleError):
    """A bundle file could not be fetched at all (offline, connection refused) nor read from the cache."""


class ThreadsError(EdgewasmError, ValueError):
    """A thread count a build or host cannot use (--threads; load(..., threads=k))."""

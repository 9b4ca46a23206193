"""Runtime bounds a host enforces on every model (stdlib: both hosts share it)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ResourceLimitError

MiB = 1 << 20
GiB = 1 << 30
PAGE_MIN_LIMIT, PAGE_MAX_LIMIT = 512 * MiB, 4 * GiB  # the page's default: at least this, at most wasm32's reach


def page_memory_limit(device_memory_gb: float | None) -> int:
    """The page's default memory limit: half of what `navigator.deviceMemory` reports (browsers say
    0.25 .. 8 GB), at least 512 MiB (also when the browser does not say) and at most 4 GiB."""
    if not device_memory_gb or device_memory_gb <= 0:
        return PAGE_MIN_LIMIT
    return int(min(PAGE_MAX_LIMIT, max(PAGE_MIN_LIMIT, device_memory_gb * GiB / 2)))


@dataclass(frozen=True)
class RuntimeConfig:
    """memory_limit: bytes of linear memory a model may have (refused before instantiation). The
      default is the page's floor, so a bundle any page loads loads on its server twin too (a
      32M-parameter CNN needs ~210 MiB); in the page it follows the device (`page_memory_limit`).
    stack_limit: bytes of wasm stack (wasmtime's max_wasm_stack).
    deadline: seconds one `run` may take before it is stopped (wasmtime only; None = no deadline).
      A compiled module checks it before each layer (a --threads build: before each barrier), so
      it costs next to nothing and a run ends at most one layer late; a bring-your-own module is
      interrupted by the engine's epoch checks, which cost 20-40% of a whole model.
    """

    memory_limit: int = PAGE_MIN_LIMIT
    stack_limit: int = 512 * 1024
    deadline: float | None = 10.0

    def check_memory(self, needed: int, what: str = "the model") -> None:
        if needed > self.memory_limit:
            raise ResourceLimitError(
                f"{what} needs {needed / MiB:.1f} MiB of linear memory; the runtime limit is "
                f"{self.memory_limit / MiB:.1f} MiB (raise it to allow this: RuntimeConfig(memory_limit=...), or "
                f"--memory-limit MIB on the command line)"
            )

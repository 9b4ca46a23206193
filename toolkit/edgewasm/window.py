"""Window: the static sliding-window geometry of a convolution or pooling IR node.

The frontend resolves ONNX's spatial attributes (auto_pad, pads, strides, dilations, ceil_mode,
output_shape) into one of these; passes rewrite it (a folded Pad widens pads_begin); the backend
turns it into indirection buffers. Tuples are per spatial dim, outermost first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads_begin: tuple[int, ...]
    pads_end: tuple[int, ...]  # as given or derived; may be negative when an output is cropped

    @property
    def taps(self) -> int:
        return math.prod(self.kernel)

    @property
    def out_pixels(self) -> int:
        return math.prod(self.out_spatial)

    @property
    def in_pixels(self) -> int:
        return math.prod(self.in_spatial)

    @property
    def is_pointwise(self) -> bool:
        """Every output pixel reads exactly the input pixel at the same place (a 1x1, stride-1,
        unpadded window): the convolution is a plain GEMM over pixels."""
        ones = (1,) * len(self.kernel)
        return (self.kernel == ones and self.strides == ones and self.pads_begin == (0,) * len(ones)
                and self.out_spatial == self.in_spatial)

    @property
    def is_global(self) -> bool:
        """One output pixel whose window is the whole unpadded input (GlobalAveragePool)."""
        zeros = (0,) * len(self.kernel)
        return (self.out_pixels == 1 and self.kernel == self.in_spatial and self.pads_begin == zeros
                and self.dilations == (1,) * len(self.kernel))

"""Edge vs cloud: the page's answer next to its server twin's (`POST /api/infer`, wasmtime).

`ask_server` sends the exact input bytes the page gave its own model and compares the outputs bit
for bit (a NaN equals any NaN, as in the numerics contract). `cloud_estimate_ms` puts a measured
loopback round trip under an emulated network: the page cannot throttle its own requests, so the
link's cost is added from the profile's round-trip time and bandwidths, which are Chrome
DevTools' throttling presets. The arithmetic is stdlib only, so it is tested on a server too.
"""

from __future__ import annotations

import array
import base64
import json
from dataclasses import dataclass

from ..errors import EdgewasmError

EXPONENT_BITS, MANTISSA_BITS = 0x7F800000, 0x007FFFFF


class ServerTwinError(EdgewasmError):
    """The server twin could not be reached or refused the request."""


@dataclass(frozen=True)
class NetworkProfile:
    name: str
    rtt_ms: float
    down_kbps: float | None  # None: not limited
    up_kbps: float | None

    def transfer_ms(self, request_bytes: int, response_bytes: int) -> float:
        """Round trip plus serialization of both bodies (1 kbps moves 1 bit per millisecond)."""
        up = request_bytes * 8 / self.up_kbps if self.up_kbps else 0.0
        down = response_bytes * 8 / self.down_kbps if self.down_kbps else 0.0
        return self.rtt_ms + up + down


# Chrome DevTools' presets (latency and throughput, including their 0.9 / 0.8 factors).
PROFILES = (
    NetworkProfile("loopback", 0.0, None, None),
    NetworkProfile("fast-4g", 165.0, 8100.0, 1350.0),
    NetworkProfile("fast-3g", 562.5, 1440.0, 675.0),
    NetworkProfile("slow-3g", 2000.0, 400.0, 400.0),
)


def cloud_estimate_ms(loopback_ms: float, profile: NetworkProfile, request_bytes: int, response_bytes: int) -> float:
    """A server round trip over `profile`: the measured loopback one plus the emulated link."""
    return loopback_ms + profile.transfer_ms(request_bytes, response_bytes)


def _is_nan(bits: int) -> bool:
    return bits & EXPONENT_BITS == EXPONENT_BITS and bits & MANTISSA_BITS != 0


def same_float32_bits(ours: bytes, theirs: bytes, dtype: str = "float32") -> bool:
    """Bit-identical little-endian data, except that any float32 NaN equals any float32 NaN (other
    dtypes compare byte for byte)."""
    if ours == theirs:
        return True
    if dtype != "float32" or len(ours) != len(theirs) or len(ours) % 4:
        return False
    a, b = array.array("I", ours), array.array("I", theirs)
    return all(x == y or (_is_nan(x) and _is_nan(y)) for x, y in zip(a, b))


@dataclass(frozen=True)
class TwinAnswer:
    """The server's outputs (raw little-endian bytes), its compute time and the round trip."""

    variant: str
    outputs: dict[str, bytes]
    server_ms: float
    round_trip_ms: float
    request_bytes: int
    response_bytes: int

    def matches(self, ours: dict[str, bytes]) -> bool:
        return sorted(ours) == sorted(self.outputs) and all(same_float32_bits(ours[k], self.outputs[k]) for k in ours)


def infer_request(model: str, variant: str, inputs: dict[str, tuple[tuple[int, ...], bytes]],
                  dtypes: dict[str, str] | None = None) -> str:
    """The JSON body of `POST /api/infer` for raw inputs {name: (shape, little-endian bytes)} of the
    given dtypes (float32 where none is given)."""
    dtypes = dtypes or {}
    return json.dumps({"model": model, "variant": variant, "inputs": {
        name: {"shape": list(shape), "dtype": dtypes.get(name, "float32"), "b64": base64.b64encode(data).decode()}
        for name, (shape, data) in inputs.items()}})


def parse_infer_response(text: str) -> tuple[str, dict[str, bytes], float]:
    """(variant, {output: bytes}, server latency ms) from `/api/infer`'s JSON."""
    try:
        reply = json.loads(text)
        outputs = {name: base64.b64decode(item["b64"]) for name, item in reply["outputs"].items()}
        return str(reply["variant"]), outputs, float(reply["latency_ms"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ServerTwinError(f"the server's answer is not an /api/infer response: {exc}") from None


async def ask_server(api_url: str, model: str, variant: str,
                     inputs: dict[str, tuple[tuple[int, ...], bytes]]) -> TwinAnswer:
    """Run the same input bytes on the server (browser only: it uses the page's `fetch`)."""
    import js
    from pyodide.ffi import JsException, to_js

    body = infer_request(model, variant, inputs)
    options = to_js({"method": "POST", "headers": {"content-type": "application/json"}, "body": body},
                    dict_converter=js.Object.fromEntries)
    started = js.performance.now()
    try:
        response = await js.fetch(api_url, options)
        text = await response.text()
    except JsException as exc:
        raise ServerTwinError(f"cannot reach {api_url}: {exc}") from None
    round_trip = js.performance.now() - started
    if not response.ok:
        try:
            reason = json.loads(text)["error"]
        except (ValueError, KeyError, TypeError):
            reason = text[:200]
        raise ServerTwinError(f"{api_url} answered HTTP {response.status}: {reason}")
    served_variant, outputs, server_ms = parse_infer_response(text)
    return TwinAnswer(served_variant, outputs, server_ms, round_trip, len(body.encode()), len(text.encode()))

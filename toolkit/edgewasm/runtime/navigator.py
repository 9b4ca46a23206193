"""Read the adaptive policy's `Context` from the page's `navigator` (browser only).

Each API is optional and missing in some browsers (`getBattery` and `connection` are Chromium
only, `deviceMemory` needs a secure context): what the browser does not say stays None, which the
policy reads as no pressure. `overrides` lets a page (or a test) state a signal itself.
"""

from __future__ import annotations

from .adaptive import EFFECTIVE_TYPES, Context


async def read_context(priority: str = "balanced", **overrides) -> Context:
    import js
    from pyodide.ffi import JsException

    navigator = js.navigator
    sensed: dict = {"priority": priority}
    get_battery = getattr(navigator, "getBattery", None)
    if get_battery is not None:
        try:
            battery = await navigator.getBattery()
            sensed["battery_level"] = float(battery.level)
            sensed["charging"] = bool(battery.charging)
        except JsException:  # blocked by a permissions policy
            pass
    connection = getattr(navigator, "connection", None)
    if connection is not None:
        effective_type = getattr(connection, "effectiveType", None)
        if effective_type in EFFECTIVE_TYPES:
            sensed["effective_type"] = str(effective_type)
        sensed["save_data"] = bool(getattr(connection, "saveData", False))
    if (device_memory := device_memory_gb()) is not None:
        sensed["device_memory_gb"] = device_memory
    sensed.update(overrides)
    return Context(**sensed)


def device_memory_gb() -> float | None:
    """`navigator.deviceMemory` in GB, or None where the browser does not say."""
    import js

    device_memory = getattr(js.navigator, "deviceMemory", None)
    return float(device_memory) if isinstance(device_memory, (int, float)) and device_memory > 0 else None

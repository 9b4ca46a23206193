"""Adaptive variants: pick one of a bundle's variants (fp32, fp16, int8, ...) from the device's context.

Stdlib only, and free of any browser API: the page fills a `Context` from `navigator`
(`runtime/navigator.py`), a server fills one explicitly, and both get the same answer from the
same `Policy`. The policy, in order:

1. Rank the variants from most to least precise (fp32 > fp16 > int8, read from the variant's
   name or its report's `methods`; a relaxed-SIMD tier variant, 7-bit weights, after its equals);
   among equals, the larger download first.
2. Drop the variants whose linear memory exceeds the memory budget: 1/16 of `deviceMemory`
   (browsers report 0.25 .. 8 GB, so 16 .. 512 MiB). If none fits, keep the smallest.
3. Drop the variants whose measured accuracy (the report's `accuracy`, from `edgewasm compile
   --eval`) is more than 1 point below the best variant's: compression may save bytes, but the
   policy never trades away a visible share of the answers on its own.
4. Drop, for 'power' and 'balanced', every variant measured slower than one above it in the
   ranking (the report's `latency.vs_fp32`, timed through wasmtime at compile time when a bundle
   has several variants; beyond SLOWER_MARGIN and SLOWER_FLOOR_MS, since compile-time runs are
   noisy and a few microseconds per run matter less than the download): a lighter
   variant that makes each inference longer spends more energy, not less. So a step down never
   reaches a variant slower than one it passed over, and the last one left is the fastest (within
   the margin) of the variants the accuracy bound keeps. Variants without a measurement stay.
5. Priority 'accuracy' takes the first of what is left, 'power' the last. 'balanced' (the
   default) steps down by the strongest of these signals (not their sum):
   - battery below 20 % and not charging, `saveData`, or a 2g / slow-2g connection: to the last;
   - battery below 50 % and not charging, a 3g connection, or `deviceMemory` <= 1 GB: one step.
   Unknown signals (an API the browser lacks) count as no pressure.

The `Choice` says which variant and why, in words a page can show, with the numbers (latency
relative to fp32, memory, download) of the chosen variant and of those it skipped as slower.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from ..bundle import VariantSpec
from ..errors import PolicyError
from .simd import needs_relaxed

PRIORITIES = ("accuracy", "balanced", "power")
EFFECTIVE_TYPES = ("slow-2g", "2g", "3g", "4g")
LOW_BATTERY, HALF_BATTERY = 0.20, 0.50
MEMORY_SHARE = 16  # a model may use 1/16 of the device's memory
MAX_ACCURACY_DROP = 0.01  # below the best measured accuracy, a variant is not chosen automatically
SLOWER_MARGIN = 0.10  # a variant is slower than another when its measured latency exceeds it by this share
SLOWER_FLOOR_MS = 0.05  # ... and by at least this much per run (measured at compile time)
MiB = 1 << 20
GiB = 1 << 30
TO_LIGHTEST = 1 << 30  # a step count past the end of any ranking


@dataclass(frozen=True)
class Context:
    """What the runtime knows about the device; None means the browser did not say."""

    priority: str = "balanced"
    battery_level: float | None = None  # 0.0 .. 1.0 (navigator.getBattery().level)
    charging: bool | None = None
    effective_type: str | None = None  # navigator.connection.effectiveType
    save_data: bool = False  # navigator.connection.saveData
    device_memory_gb: float | None = None  # navigator.deviceMemory

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise PolicyError(f"priority must be one of {', '.join(PRIORITIES)}; got {self.priority!r}")
        if self.battery_level is not None and not 0.0 <= self.battery_level <= 1.0:
            raise PolicyError(f"battery_level must be within 0..1, got {self.battery_level!r}")
        if self.effective_type is not None and self.effective_type not in EFFECTIVE_TYPES:
            raise PolicyError(f"effective_type must be one of {', '.join(EFFECTIVE_TYPES)}; "
                              f"got {self.effective_type!r}")
        if self.device_memory_gb is not None and self.device_memory_gb <= 0:
            raise PolicyError(f"device_memory_gb must be positive, got {self.device_memory_gb!r}")

    def to_json(self) -> dict:
        return {"priority": self.priority, "battery_level": self.battery_level, "charging": self.charging,
                "effective_type": self.effective_type, "save_data": self.save_data,
                "device_memory_gb": self.device_memory_gb}


@dataclass(frozen=True)
class Choice:
    """The chosen variant, the ranking it was taken from, and the reasons, most decisive first."""

    variant: str
    ranking: tuple[str, ...]
    reasons: tuple[str, ...]
    context: Context = field(default_factory=Context)

    def explain(self) -> str:
        return f"{self.variant}: " + "; ".join(self.reasons)

    def next_variant(self) -> str | None:
        """The variant to prefetch: the neighbour in the ranking a change of context would pick."""
        index = self.ranking.index(self.variant)
        for candidate in (index + 1, index - 1):
            if 0 <= candidate < len(self.ranking):
                return self.ranking[candidate]
        return None

    def to_json(self) -> dict:
        return {"variant": self.variant, "ranking": list(self.ranking), "reasons": list(self.reasons),
                "context": self.context.to_json()}


def precision_bits(variant: VariantSpec) -> int:
    """Numeric precision of a variant: from its name (fp16, int8, ...) or its report's methods."""
    words = [variant.name, *map(str, variant.report.get("methods", []))]
    bits = [int(m.group(1)) for word in words for m in re.finditer(r"(?:fp|float|f|int|q|i)(4|8|16|32)", word.lower())]
    return min(bits) if bits else 32


def download_bytes(variant: VariantSpec) -> int:
    return variant.module.nbytes + sum(chunk.nbytes for chunk in variant.weights)


def latency_vs_fp32(variant: VariantSpec) -> float | None:
    """Measured latency relative to fp32 (the report's `latency.vs_fp32`), or None if not measured."""
    latency = variant.report.get("latency")
    value = latency.get("vs_fp32") if isinstance(latency, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def latency_ms(variant: VariantSpec) -> float | None:
    """Measured milliseconds per run at compile time (the report's `latency.ms`), or None."""
    latency = variant.report.get("latency")
    value = latency.get("ms") if isinstance(latency, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def slower(variant: VariantSpec, than: VariantSpec) -> bool:
    """Measured slower beyond SLOWER_MARGIN and, where both carry milliseconds, SLOWER_FLOOR_MS."""
    ratio, theirs = latency_vs_fp32(variant), latency_vs_fp32(than)
    if ratio is None or theirs is None or ratio <= theirs * (1 + SLOWER_MARGIN):
        return False
    ms, their_ms = latency_ms(variant), latency_ms(than)
    return ms is None or their_ms is None or ms - their_ms >= SLOWER_FLOOR_MS


def numbers(variant: VariantSpec) -> str:
    """'fp16 (0.95x fp32's latency, 21.0 MiB memory, 7.9 MiB download)': what the policy weighed."""
    ratio = latency_vs_fp32(variant)
    speed = f"{ratio:.2f}x fp32's latency, " if ratio is not None else ""
    return (f"{variant.name} ({speed}{variant.memory_bytes / MiB:.1f} MiB memory, "
            f"{download_bytes(variant) / MiB:.1f} MiB download)")


def _accuracy(variant: VariantSpec) -> float | None:
    """Measured accuracy from the report: `{"accuracy": {"accuracy": 0.97, ...}}` (`--eval`) or a number."""
    value = variant.report.get("accuracy")
    if isinstance(value, dict):
        value = value.get("accuracy")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class Policy:
    """The documented variant policy (see the module docstring); subclass to change a rule."""

    def rank(self, variants: Iterable[VariantSpec]) -> list[VariantSpec]:
        """Most precise first; the larger download first among equals."""
        variants = list(variants)
        if not variants:
            raise PolicyError("there are no variants to choose from")
        return sorted(variants, key=lambda v: (-precision_bits(v), needs_relaxed(v), -download_bytes(v)))

    def choose(self, variants: Iterable[VariantSpec], context: Context | None = None) -> Choice:
        context = context or Context()
        ranking = self.rank(variants)
        names = tuple(v.name for v in ranking)
        eligible, memory_reason = self._fitting(ranking, context)
        eligible, accuracy_reason = self._accurate_enough(eligible)
        speed_reason = ""
        if context.priority == "accuracy":
            chosen, reasons = eligible[0], ["priority 'accuracy': the most accurate variant"]
        elif context.priority == "power":
            eligible, speed_reason = self._not_slower(eligible)
            chosen, reasons = eligible[-1], ["priority 'power': the lightest variant not slower than a more precise one"]
        else:
            eligible, speed_reason = self._not_slower(eligible)
            steps, pressure = self._pressure(context)
            chosen = eligible[min(steps, len(eligible) - 1)]
            reasons = ["priority 'balanced'", *pressure] if pressure else \
                ["priority 'balanced' and nothing calls for saving: the most accurate variant"]
        reasons.append(numbers(chosen))
        reasons += [reason for reason in (speed_reason, memory_reason, accuracy_reason) if reason]
        return Choice(chosen.name, names, tuple(reasons), context)

    def _not_slower(self, ranking: list[VariantSpec]) -> tuple[list[VariantSpec], str]:
        """The variants no slower (see `slower`) than every measured variant above them."""
        kept, skipped = [], []
        fastest: VariantSpec | None = None  # the fastest measured variant so far (the kept include it)
        for variant in ranking:
            ratio = latency_vs_fp32(variant)
            if fastest is not None and slower(variant, fastest):
                skipped.append(f"{numbers(variant)} is slower than {fastest.name} "
                               f"({latency_vs_fp32(fastest):.2f}x)")
                continue
            kept.append(variant)
            if ratio is not None and (fastest is None or ratio < latency_vs_fp32(fastest)):
                fastest = variant
        return kept, ("skipped as slower: " + "; ".join(skipped)) if skipped else ""

    def _fitting(self, ranking: list[VariantSpec], context: Context) -> tuple[list[VariantSpec], str]:
        if context.device_memory_gb is None:
            return ranking, ""
        budget = context.device_memory_gb * GiB / MEMORY_SHARE
        fitting = [v for v in ranking if v.memory_bytes <= budget]
        if not fitting:
            smallest = min(ranking, key=lambda v: v.memory_bytes)
            return [smallest], (f"no variant fits {budget / (1 << 20):.0f} MiB ({context.device_memory_gb:g} GB "
                                f"device / {MEMORY_SHARE}): the smallest in memory")
        if len(fitting) < len(ranking):
            dropped = ", ".join(v.name for v in ranking if v not in fitting)
            return fitting, f"{dropped} would exceed {budget / (1 << 20):.0f} MiB of memory"
        return fitting, ""

    def _accurate_enough(self, ranking: list[VariantSpec]) -> tuple[list[VariantSpec], str]:
        measured = {v.name: _accuracy(v) for v in ranking if _accuracy(v) is not None}
        if not measured:
            return ranking, ""
        best = max(measured.values())
        kept = [v for v in ranking if measured.get(v.name, best) >= best - MAX_ACCURACY_DROP]
        dropped = [f"{v.name} ({100 * measured[v.name]:.1f} %)" for v in ranking if v not in kept]
        if not dropped:
            return ranking, ""
        return kept, f"{', '.join(dropped)} more than {100 * MAX_ACCURACY_DROP:g} point below the best measured accuracy"

    def _pressure(self, context: Context) -> tuple[int, list[str]]:
        """(steps down the ranking, the signals that asked for them), strongest first."""
        signals: list[tuple[int, str]] = []
        on_battery = context.charging is False
        if context.battery_level is not None and on_battery:
            percent = f"battery {100 * context.battery_level:.0f} % and not charging"
            if context.battery_level < LOW_BATTERY:
                signals.append((TO_LIGHTEST, f"{percent}: the lightest variant"))
            elif context.battery_level < HALF_BATTERY:
                signals.append((1, f"{percent}: one step lighter"))
        if context.save_data:
            signals.append((TO_LIGHTEST, "data saver is on: the smallest download"))
        if context.effective_type in ("slow-2g", "2g"):
            signals.append((TO_LIGHTEST, f"{context.effective_type} connection: the smallest download"))
        elif context.effective_type == "3g":
            signals.append((1, "3g connection: one step lighter"))
        if context.device_memory_gb is not None and context.device_memory_gb <= 1:
            signals.append((1, f"{context.device_memory_gb:g} GB device: one step lighter"))
        signals.sort(key=lambda signal: -signal[0])
        return (signals[0][0] if signals else 0), [text for _, text in signals]


def choose_variant(variants: Iterable[VariantSpec], context: Context | None = None) -> Choice:
    """`Policy().choose(...)`: the default policy, for servers with an explicit context too."""
    return Policy().choose(variants, context)

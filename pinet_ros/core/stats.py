"""Rates, latencies and counters of a frame stream, for /diagnostics and the benchmarks (numpy only)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class StreamStats:
    """Thread-safe sliding-window statistics.

    Events are recorded with `time.monotonic()` seconds; rates and latency percentiles cover the last
    `window_s` seconds; counters are totals since start.
    """

    window_s: float = 5.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _inputs: deque = field(default_factory=deque, repr=False)
    _outputs: deque = field(default_factory=deque, repr=False)  # (t, latency_s, processing_s)
    counters: dict[str, int] = field(default_factory=lambda: {"received": 0, "processed": 0, "dropped": 0,
                                                              "invalid": 0, "no_camera_info": 0, "errors": 0,
                                                              "lift_failures": 0})

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + n

    def input(self, now: float | None = None) -> None:
        """An image arrived."""
        t = time.monotonic() if now is None else now
        with self._lock:
            self.counters["received"] += 1
            self._inputs.append(t)
            self._trim(t)

    def output(self, latency_s: float, processing_s: float, now: float | None = None) -> None:
        """A result was published `latency_s` after the image stamp, `processing_s` after it was taken up."""
        t = time.monotonic() if now is None else now
        with self._lock:
            self.counters["processed"] += 1
            self._outputs.append((t, float(latency_s), float(processing_s)))
            self._trim(t)

    def _trim(self, now: float) -> None:
        while self._inputs and now - self._inputs[0] > self.window_s:
            self._inputs.popleft()
        while self._outputs and now - self._outputs[0][0] > self.window_s:
            self._outputs.popleft()

    def snapshot(self, now: float | None = None) -> dict[str, float | int]:
        """Rates (Hz), latency and processing percentiles (ms, NaN without outputs) as floats, and the
        counters as exact ints."""
        t = time.monotonic() if now is None else now
        with self._lock:
            self._trim(t)
            span = self.window_s
            lat = np.array([o[1] for o in self._outputs]) * 1e3
            proc = np.array([o[2] for o in self._outputs]) * 1e3
            out = {"input_rate_hz": len(self._inputs) / span, "output_rate_hz": len(self._outputs) / span}
            for name, arr in (("latency", lat), ("processing", proc)):
                for q in (50, 95):
                    out[f"{name}_p{q}_ms"] = float(np.percentile(arr, q)) if arr.size else float("nan")
                out[f"{name}_max_ms"] = float(arr.max()) if arr.size else float("nan")
            out.update({k: int(v) for k, v in self.counters.items()})
        return out


def format_value(value: float | int) -> str:
    """A diagnostics value as text: integers exact (a counter of 1,234,567 stays "1234567"), floats with 6
    significant digits ("nan" when undefined)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.6g}"

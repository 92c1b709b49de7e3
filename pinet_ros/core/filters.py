"""One-Euro smoothing of joint positions (Casiez et al., CHI 2012), per tracked person.

The filter adapts its cut-off to the speed of the signal: slow motion is smoothed hard (little jitter),
fast motion passes with little lag. Written here because it is a dozen lines on numpy arrays and the
packaged implementations work on scalars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class OneEuroConfig:
    """Attributes:
        min_cutoff_hz: cut-off at rest (lower: smoother, more lag).
        beta: speed coefficient, 1/m (higher: less lag in fast motion).
        d_cutoff_hz: cut-off of the speed estimate.
    """

    min_cutoff_hz: float = 1.0
    beta: float = 0.3
    d_cutoff_hz: float = 1.0

    def __post_init__(self) -> None:
        for name in ("min_cutoff_hz", "d_cutoff_hz"):
            v = getattr(self, name)
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"OneEuroConfig.{name} must be > 0, got {v!r}")
        if not math.isfinite(self.beta) or self.beta < 0:
            raise ValueError(f"OneEuroConfig.beta must be >= 0, got {self.beta!r}")


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


@dataclass
class OneEuroFilter:
    """Filters an array signal (any shape, e.g. (17, 3) metres) sampled at irregular times."""

    config: OneEuroConfig = field(default_factory=OneEuroConfig)
    _x: np.ndarray | None = None
    _dx: np.ndarray | None = None
    _t: float | None = None

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """Filter sample `x` taken at time `t_s` (seconds); returns the smoothed array (same shape).

        A non-increasing time restarts the filter from `x`; a non-finite sample is returned as is and the next
        finite one restarts the filter.
        """
        x = np.asarray(x, np.float64)
        if not np.all(np.isfinite(x)):
            self._x = self._dx = self._t = None
            return x.copy()
        if self._x is None or self._t is None or t_s <= self._t or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t_s
            return x.copy()
        dt = t_s - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(self.config.d_cutoff_hz, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.config.min_cutoff_hz + self.config.beta * np.abs(self._dx)
        a = _alpha(cutoff, dt)
        self._x = a * x + (1 - a) * self._x
        self._t = t_s
        return self._x.copy()


@dataclass
class TrackSmoother:
    """One `OneEuroFilter` per track id; filters of tracks not updated for `max_age_s` are dropped."""

    config: OneEuroConfig = field(default_factory=OneEuroConfig)
    max_age_s: float = 2.0
    _filters: dict[int, OneEuroFilter] = field(default_factory=dict)
    _seen: dict[int, float] = field(default_factory=dict)

    def __call__(self, track_id: int, x: np.ndarray, t_s: float) -> np.ndarray:
        f = self._filters.setdefault(track_id, OneEuroFilter(self.config))
        self._seen[track_id] = t_s
        for tid in [k for k, seen in self._seen.items() if abs(t_s - seen) > self.max_age_s]:
            self._filters.pop(tid, None)
            self._seen.pop(tid, None)
        return f(x, t_s)

    def reset(self) -> None:
        self._filters.clear()
        self._seen.clear()

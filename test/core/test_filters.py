"""One-Euro filter: smooths jitter at rest, follows fast motion, restarts on bad time or data."""

import numpy as np
import pytest

from pinet_ros.core.filters import OneEuroConfig, OneEuroFilter, TrackSmoother


def test_reduces_jitter_of_a_still_signal():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(OneEuroConfig(min_cutoff_hz=1.0, beta=0.0))
    raw = 1.0 + rng.normal(0, 0.01, (300, 17, 3))
    out = np.stack([f(x, i / 30) for i, x in enumerate(raw)])
    assert out[50:].std() < 0.4 * raw[50:].std()


def test_follows_a_ramp_with_little_lag_when_beta_is_high():
    slow = OneEuroFilter(OneEuroConfig(min_cutoff_hz=0.5, beta=0.0))
    fast = OneEuroFilter(OneEuroConfig(min_cutoff_hz=0.5, beta=5.0))
    t = np.arange(60) / 30
    x = 2.0 * t  # 2 m/s
    lag_slow = abs(x[-1] - [slow(np.array([v]), s) for v, s in zip(x, t)][-1][0])
    lag_fast = abs(x[-1] - [fast(np.array([v]), s) for v, s in zip(x, t)][-1][0])
    assert lag_fast < 0.5 * lag_slow


def test_restarts_on_time_going_back_or_nan():
    f = OneEuroFilter()
    f(np.zeros(3), 1.0)
    f(np.ones(3), 1.1)
    np.testing.assert_array_equal(f(np.full(3, 5.0), 0.5), np.full(3, 5.0))
    np.testing.assert_array_equal(f(np.full(3, 7.0), 0.6)[0] < 7.0, True)
    out = f(np.array([np.nan, 0, 0]), 0.7)
    assert np.isnan(out[0])  # passed through; the next good sample restarts
    np.testing.assert_array_equal(f(np.full(3, 2.0), 0.8), np.full(3, 2.0))


def test_track_smoother_keeps_one_state_per_id():
    s = TrackSmoother(OneEuroConfig(min_cutoff_hz=0.1))
    s(1, np.zeros(3), 0.0)
    s(2, np.full(3, 10.0), 0.0)
    a = s(1, np.ones(3), 0.1)
    b = s(2, np.full(3, 10.0), 0.1)
    assert np.all(a < 1.0) and np.allclose(b, 10.0)
    with pytest.raises(ValueError):
        OneEuroConfig(min_cutoff_hz=0)

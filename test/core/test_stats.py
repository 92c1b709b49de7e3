"""StreamStats: window rates, latency percentiles and counters."""

import math

from pinet_ros.core.stats import StreamStats


def test_rates_and_percentiles_over_the_window():
    s = StreamStats(window_s=2.0)
    for i in range(20):  # 10 Hz input for 2 s, every other frame published
        s.input(now=i * 0.1)
        if i % 2 == 0:
            s.output(latency_s=0.1 + 0.01 * i, processing_s=0.05, now=i * 0.1 + 0.05)
    snap = s.snapshot(now=1.96)
    assert snap["input_rate_hz"] == 10.0 and snap["output_rate_hz"] == 5.0
    assert math.isclose(snap["processing_p50_ms"], 50.0) and math.isclose(snap["latency_max_ms"], 280.0)
    assert snap["received"] == 20 and snap["processed"] == 10


def test_window_expires_and_counters_stay():
    s = StreamStats(window_s=1.0)
    s.input(now=0.0)
    s.output(0.2, 0.1, now=0.1)
    s.count("dropped", 3)
    snap = s.snapshot(now=5.0)
    assert snap["input_rate_hz"] == 0 and math.isnan(snap["latency_p95_ms"])
    assert snap["dropped"] == 3 and snap["received"] == 1


def test_counters_stay_exact_integers_in_diagnostics_text():
    from pinet_ros.core.stats import format_value

    s = StreamStats()
    s.count("received", 1_234_567)  # ~11 h at 30 Hz
    snap = s.snapshot()
    assert isinstance(snap["received"], int) and format_value(snap["received"]) == "1234567"
    assert format_value(2**53 + 1) == "9007199254740993"
    assert format_value(12.3456789) == "12.3457" and format_value(float("nan")) == "nan"

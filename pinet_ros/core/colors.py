"""One fixed colour per tracking id, shared by the RViz markers and the 2D overlay (stdlib + nothing else).

The hue walks the circle by the golden ratio, so consecutive ids (1, 2, 3, ...) get well separated colours
and a person keeps the same colour in every frame, every process and every tool.
"""

from __future__ import annotations

import colorsys
import operator

_GOLDEN = 0.618033988749895
_SATURATION = 0.85
_VALUE = 0.95


def color_for_id(track_id: int) -> tuple[float, float, float]:
    """Colour of a tracking id.

    Args:
        track_id: any integer (0 = untracked gets a colour too).
    Returns:
        (r, g, b), each a float in [0, 1]; a pure function of `track_id`.
    Raises:
        TypeError: `track_id` is not an integer.
    """
    i = operator.index(track_id)
    hue = (0.08 + i * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, _SATURATION, _VALUE)
    return float(r), float(g), float(b)


def color_for_id_rgb8(track_id: int) -> tuple[int, int, int]:
    """`color_for_id` as 0..255 integers, for drawing on uint8 RGB images."""
    return tuple(int(round(c * 255.0)) for c in color_for_id(track_id))  # type: ignore[return-value]

"""Small helpers shared by every layer (no fluxfit imports)."""

from __future__ import annotations

import math

__all__ = ["nested_equal"]


def nested_equal(a, b) -> bool:
    """Compare nested dicts/lists/scalars, treating NaN as equal to NaN.

    Floats must be equal exactly (this is for lossless round-trip checks).
    """
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(nested_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(nested_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b

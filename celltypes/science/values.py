"""Numbers as they leave the science core: NaN and infinities become None (JSON, CSV, tables, the database)."""

from __future__ import annotations

import math
from typing import TypeVar

T = TypeVar("T")


def finite_or_none(value: T) -> T | None:
    """``value``, or None when it is a float that is NaN or infinite (ints, strings and None pass through)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

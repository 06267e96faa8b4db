"""Value checks shared by every constructor: one message format, one home.

Every invalid value raises ``ValueError("<owner>.<name>: got <value>, allowed:
<what is allowed>")``, so the user learns the field, the value and what to put there.

>>> check_number("Demo", "gamma", 0.5, lo=0.0, hi=1.0)
0.5
>>> check_number("Demo", "gamma", 5.0, lo=0.0, hi=1.0)
Traceback (most recent call last):
...
ValueError: Demo.gamma: got 5.0, allowed: a number in [0, 1]
>>> check_number("Demo", "n_steps", -5, lo=1, integer=True)
Traceback (most recent call last):
...
ValueError: Demo.n_steps: got -5, allowed: an integer >= 1
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check", "check_number", "is_int", "is_real", "range_text"]


def is_int(value: Any) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """A real number (Python or NumPy int or float), not a bool. NaN and inf pass."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check(owner: str, name: str, value: Any, ok: bool, allowed: str) -> None:
    """Raise the project's ``ValueError`` for ``owner.name = value`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{owner}.{name}: got {value!r}, allowed: {allowed}")


def range_text(
    lo: float | None,
    hi: float | None,
    *,
    integer: bool = False,
    lo_open: bool = False,
    hi_open: bool = False,
    unit: str = "",
) -> str:
    """``"a number in [0, 1)"``, ``"an integer >= 1"``, ... with ``unit`` in brackets."""
    noun = "an integer" if integer else "a number"
    suffix = f" [{unit}]" if unit else ""
    if lo is not None and hi is not None:
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        return f"{noun} in {left}{lo:g}, {hi:g}{right}{suffix}"
    if lo is not None:
        return f"{noun} {'>' if lo_open else '>='} {lo:g}{suffix}"
    if hi is not None:
        return f"{noun} {'<' if hi_open else '<='} {hi:g}{suffix}"
    return f"a finite {'integer' if integer else 'number'}{suffix}"


def check_number(
    owner: str,
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    integer: bool = False,
    lo_open: bool = False,
    hi_open: bool = False,
    unit: str = "",
) -> Any:
    """Check that ``value`` is a finite number (an integer if ``integer``) in the range.

    ``lo_open`` / ``hi_open`` exclude the bound itself. Returns ``value``.
    """
    ok = (is_int(value) if integer else is_real(value)) and math.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    allowed = range_text(lo, hi, integer=integer, lo_open=lo_open, hi_open=hi_open, unit=unit)
    check(owner, name, value, ok, allowed)
    return value

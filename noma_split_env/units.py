"""dB / linear conversions: the one place where decibels become linear values.

All physics works in linear SI units ([W], [Hz], linear power gains); decibels appear
only in configuration and observations, and cross over here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["db_to_linear", "dbm_to_w", "linear_to_db", "w_to_dbm"]


def db_to_linear(value_db: ArrayLike) -> np.ndarray | float:
    """``10^(x/10)``: a power ratio [dB] as a linear ratio."""
    return np.power(10.0, np.asarray(value_db, dtype=np.float64) / 10.0)


def linear_to_db(value: ArrayLike) -> np.ndarray | float:
    """``10 log10(x)``: a linear power ratio in [dB] (``-inf`` for 0)."""
    return 10.0 * np.log10(np.asarray(value, dtype=np.float64))


def dbm_to_w(value_dbm: ArrayLike) -> np.ndarray | float:
    """A power [dBm] in [W]."""
    return db_to_linear(value_dbm) * 1e-3


def w_to_dbm(value_w: ArrayLike) -> np.ndarray | float:
    """A power [W] in [dBm]."""
    return linear_to_db(np.asarray(value_w, dtype=np.float64) * 1e3)

"""The continuous variables of one slot's problem: their layout and their budgets.

For a fixed split and subchannels, a descent works on the normalized vector

    x = (p / P_user_max, q / P_bs_max, e)        [3K], each block [K]

(uplink powers in a box ``[0, 1]``, downlink powers and edge shares each on a
simplex ``{x >= 0, sum x <= 1}``); entries of users that do not offload are held at 0
(``act`` marks the free entries). The projections are in the metric ``1/d`` of the
descent's diagonal scaling ``d`` (docs/model.md section 11.3).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["project", "project_budget", "revive"]


@njit(cache=True)
def project_budget(
    v: np.ndarray, d: np.ndarray, act: np.ndarray, lo: int, hi: int, out: np.ndarray
) -> None:
    """Projection of ``v[lo:hi]`` onto ``{x >= 0, sum x <= 1}`` in the metric ``1/d``.

    Minimizes ``sum (x - v)^2 / d`` over the active entries: ``x = max(v - theta d, 0)``
    with the smallest ``theta >= 0`` that meets the budget (Duchi et al. 2008 with
    weights; ``d = 1`` is the Euclidean projection). Inactive entries get 0.
    """
    total = 0.0
    for i in range(lo, hi):
        out[i] = max(v[i], 0.0) if act[i] else 0.0
        total += out[i]
    if total <= 1.0:
        return
    idx = np.empty(hi - lo, dtype=np.int64)
    ratio = np.empty(hi - lo)
    m = 0
    for i in range(lo, hi):
        if act[i] and v[i] > 0.0:
            idx[m] = i
            ratio[m] = v[i] / d[i]
            m += 1
    order = np.argsort(-ratio[:m])
    sum_v = 0.0
    sum_d = 0.0
    theta = 0.0
    for j in range(m):
        i = idx[order[j]]
        sum_v += v[i]
        sum_d += d[i]
        t = (sum_v - 1.0) / sum_d
        if ratio[order[j]] > t:
            theta = t
    for i in range(lo, hi):
        out[i] = max(v[i] - theta * d[i], 0.0) if act[i] else 0.0


@njit(cache=True)
def project(v: np.ndarray, d: np.ndarray, act: np.ndarray, k: int, out: np.ndarray) -> None:
    """``x = (p, q, e)`` normalized: box ``[0, 1]`` for p, budgets for q and e."""
    for i in range(k):
        out[i] = min(max(v[i], 0.0), 1.0) if act[i] else 0.0
    project_budget(v, d, act, k, 2 * k, out)
    project_budget(v, d, act, 2 * k, 3 * k, out)


@njit(cache=True)
def revive(x: np.ndarray, act: np.ndarray, lo: int, hi: int, default: float) -> None:
    """Give active entries at 0 the ``default``; scale the others to keep ``sum <= 1``."""
    revived = 0.0
    rest = 0.0
    for i in range(lo, hi):
        if act[i] and x[i] <= 0.0:
            revived += default
        elif act[i]:
            rest += x[i]
    if revived == 0.0:
        return
    scale = max(1.0 - revived, 0.0) / rest if revived + rest > 1.0 and rest > 0.0 else 1.0
    for i in range(lo, hi):
        if act[i]:
            x[i] = default if x[i] <= 0.0 else x[i] * scale

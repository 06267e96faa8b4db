"""The continuous variables of one slot's problem: their layout and their budgets.

For a fixed split and subchannels, a descent works on the normalized vector

    x = (p / P_user_max, q / P_bs_max, e)        [3K], each block [K]

(uplink powers in a box ``[0, 1]``, downlink powers and edge shares each on a
simplex ``{x >= 0, sum x <= 1}``); entries of users that do not offload are held at 0.
A descent moves only its *free* entries, listed as one index array ``idx`` into ``x``:
``n_p`` uplink-power entries first, then ``n_q`` downlink-power entries, then ``n_e``
edge-share entries (:class:`FreeVariables`). The fixed entries keep their values and
their part of each budget, so the free ones share what is left: ``cap_q`` of the
downlink power, ``cap_e`` of the edge server. With every offloading user's entries free
the caps are 1 and this is the whole problem. The projections are in the metric
``1/d`` of the descent's diagonal scaling ``d`` (docs/model.md section 11.3).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["FreeVariables", "free_variables", "project", "project_budget", "revive"]


class FreeVariables(NamedTuple):
    """The entries of ``x`` (module docstring) that a descent moves."""

    idx: np.ndarray
    """``[n_p + n_q + n_e]`` int indices into ``x``: p entries, then q, then e."""
    n_p: int
    """Free uplink powers."""
    n_q: int
    """Free downlink powers."""
    n_e: int
    """Free edge shares."""
    users: np.ndarray
    """The users with a free entry, in index order (whose outputs a step changes,
    together with their co-channel users, who are among them by construction)."""


@njit(cache=True)
def free_variables(free_p: np.ndarray, free_q: np.ndarray, free_e: np.ndarray) -> FreeVariables:
    """The :class:`FreeVariables` of three ``[K]`` bool masks."""
    k = free_p.shape[0]
    n_p, n_q, n_e = free_p.sum(), free_q.sum(), free_e.sum()
    idx = np.empty(n_p + n_q + n_e, dtype=np.int64)
    j = 0
    for block, mask in ((0, free_p), (1, free_q), (2, free_e)):
        for i in range(k):
            if mask[i]:
                idx[j] = block * k + i
                j += 1
    users = np.flatnonzero(free_p | free_q | free_e)
    return FreeVariables(idx, n_p, n_q, n_e, users)


@njit(cache=True, inline="always")
def project_budget(
    v: np.ndarray,
    d: np.ndarray,
    idx: np.ndarray,
    lo: int,
    hi: int,
    cap: float,
    out: np.ndarray,
    order: np.ndarray,
) -> None:
    """Projection of ``v[i]``, ``i`` in ``idx[lo:hi]``, onto ``{x >= 0, sum x <= cap}``
    in the metric ``1/d``, into ``out[i]`` (other entries untouched); ``order`` is int
    scratch of at least ``hi - lo`` entries. (Bounds, not a slice: a slice is a new
    array view, with its reference counting, on every call.)

    Minimizes ``sum (x - v)^2 / d`` over these entries: ``x = max(v - theta d, 0)``
    with the smallest ``theta >= 0`` that meets the budget (Duchi et al. 2008 with
    weights; ``d = 1`` is the Euclidean projection). The entries are ranked by
    ``v / d`` with an insertion sort: a budget is shared by a few users per descent,
    and the sort allocates nothing.
    """
    total = 0.0
    for pos in range(lo, hi):
        i = idx[pos]
        out[i] = max(v[i], 0.0)
        total += out[i]
    if total <= cap:
        return
    m = 0
    for pos in range(lo, hi):
        i = idx[pos]
        if v[i] > 0.0:  # insert i, keeping order[:m] by decreasing v / d
            r = v[i] / d[i]
            j = m
            while j > 0 and v[order[j - 1]] / d[order[j - 1]] < r:
                order[j] = order[j - 1]
                j -= 1
            order[j] = i
            m += 1
    sum_v = 0.0
    sum_d = 0.0
    theta = 0.0
    for j in range(m):
        i = order[j]
        sum_v += v[i]
        sum_d += d[i]
        t = (sum_v - cap) / sum_d
        if v[i] / d[i] > t:
            theta = t
    for pos in range(lo, hi):
        i = idx[pos]
        out[i] = max(v[i] - theta * d[i], 0.0)


@njit(cache=True, inline="always")
def project(
    v: np.ndarray,
    d: np.ndarray,
    free: FreeVariables,
    cap_q: float,
    cap_e: float,
    out: np.ndarray,
    order: np.ndarray,
) -> None:
    """The free entries of ``x = (p, q, e)`` normalized: box ``[0, 1]`` for p, the
    budgets ``cap_q`` for q and ``cap_e`` for e (module docstring), into ``out``
    (``order``: int scratch of ``len(x)`` entries)."""
    n_p, n_q = free.n_p, free.n_q
    for j in range(n_p):
        i = free.idx[j]
        out[i] = min(max(v[i], 0.0), 1.0)
    project_budget(v, d, free.idx, n_p, n_p + n_q, cap_q, out, order)
    project_budget(v, d, free.idx, n_p + n_q, free.idx.shape[0], cap_e, out, order)


@njit(cache=True)
def revive(
    x: np.ndarray, act: np.ndarray, free: np.ndarray, lo: int, hi: int, default: float
) -> None:
    """Give the free active entries of ``x[lo:hi]`` at 0 the ``default``; scale the
    other active entries to keep ``sum <= 1`` (fixed entries at 0 stay at 0)."""
    revived = 0.0
    rest = 0.0
    for i in range(lo, hi):
        if act[i] and free[i] and x[i] <= 0.0:
            revived += default
        elif act[i]:
            rest += x[i]
    if revived == 0.0:
        return
    scale = max(1.0 - revived, 0.0) / rest if revived + rest > 1.0 and rest > 0.0 else 1.0
    for i in range(lo, hi):
        if act[i]:
            x[i] = default if free[i] and x[i] <= 0.0 else x[i] * scale

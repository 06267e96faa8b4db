"""The descent core (numba): scaled projected gradient descent on one slot's powers
(and edge shares) for a fixed discrete choice, and the slot cost of a point.

:func:`descend` is the method of the package docstring (:mod:`agents.li_gd`); every
cost it sees is the one of :func:`noma_split_env.evaluate` (its compiled kernel, on
the same :class:`~noma_split_env.evaluate.KernelSlot`), and every gradient the
analytic one of :mod:`noma_split_env.gradient`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from agents.li_gd.variables import project, revive
from noma_split_env.evaluate import KernelSlot, Parts, evaluate_into, evaluate_parts, new_parts
from noma_split_env.gradient import gradient_kernel

__all__ = ["DescentSettings", "descend", "point_cost", "slot_cost"]

ARMIJO = 1e-4
"""Sufficient-decrease constant of the line search."""
FIRST_STEP = 0.25
"""First trial step, as a largest relative change of a variable."""
MAX_BACKTRACKS = 60
"""Halvings of a trial step before the descent gives up."""
SCALE_FLOOR = 1e-3
"""Floor of the diagonal scaling ``d = max(x, floor)^2``."""
MEMORY = 10
"""Costs remembered by the non-monotone Armijo rule."""


class DescentSettings(NamedTuple):
    """Everything a descent needs besides the slot and the discrete choice."""

    with_share: bool
    """The scenario allocates edge shares (``e`` is a variable)."""
    oma: bool
    """OMA access (no interference)."""
    deadline_s: float
    """tau [s]; ``inf`` without a deadline."""
    miss_penalty: float
    """mu."""
    p_max: float
    """P_user_max [W]."""
    q_max: float
    """P_bs_max [W]."""
    gtol: float
    """Stop at a scaled projected-gradient step of at most this."""
    ftol: float
    """Stop when a step changes the cost by at most ``ftol max(1, |C|)``."""
    max_iter: int
    """Gradients per descent, at most."""


@njit(cache=True)
def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a . b`` as a loop (numba's ``@`` needs SciPy's BLAS)."""
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i] * b[i]
    return total


@njit(cache=True)
def slot_cost(parts: Parts, mean_user_cost: float, deadline: float, mu: float) -> float:
    """``evaluate``'s slot cost from the kernel's output: mean user cost plus
    ``mu misses / K`` (a failed task is a miss; so is a latency above the deadline)."""
    misses = 0
    k_users = parts.latency.shape[0]
    for k in range(k_users):
        if parts.failed[k] or parts.latency[k] > deadline:
            misses += 1
    return mean_user_cost + mu * misses / k_users


@njit(cache=True)
def _powers(x: np.ndarray, p_max: float, q_max: float, p: np.ndarray, q: np.ndarray) -> None:
    """The powers [W] of the normalized point ``x`` (module ``variables``), into ``p``, ``q``."""
    k = p.shape[0]
    for i in range(k):
        p[i] = x[i] * p_max
        q[i] = x[k + i] * q_max


@njit(cache=True)
def descend(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p0: np.ndarray,
    q0: np.ndarray,
    e0: np.ndarray,
    slot_fields: tuple,
    settings_fields: tuple,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int, int]:
    """Scaled projected gradient descent from ``(p0, q0, e0)`` [W, W, 1], each ``[K]``.

    ``split``, ``ul_sub``, ``dl_sub`` (``[K]`` int) stay fixed; the slot is
    ``KernelSlot(*slot_fields)`` and the settings ``DescentSettings(*settings_fields)``
    (plain tuples cross into numba faster than named ones). Returns
    ``(p, q, e, cost, gradients, evaluations)``: the best point visited (so never
    above the start) and its slot cost; ``e`` is zeros without ``settings.with_share``.
    """
    slot = KernelSlot(*slot_fields)
    settings = DescentSettings(*settings_fields)
    k = split.shape[0]
    with_share, oma = settings.with_share, settings.oma
    deadline, mu = settings.deadline_s, settings.miss_penalty
    p_max, q_max = settings.p_max, settings.q_max
    active = split < slot.num_layers
    n_active = active.sum()
    act = np.zeros(3 * k, dtype=np.bool_)
    act[:k] = active
    act[k : 2 * k] = active
    if with_share:
        act[2 * k :] = active
    x = np.zeros(3 * k)
    x[:k] = p0 / p_max
    x[k : 2 * k] = q0 / q_max
    if with_share:
        x[2 * k :] = e0
    if n_active > 0:
        for i in range(k):
            if active[i] and x[i] <= 0.0:
                x[i] = 1.0
        revive(x, act, k, 2 * k, 1.0 / n_active)
        revive(x, act, 2 * k, 3 * k, 1.0 / n_active)
    d = np.ones(3 * k)
    x_new = np.zeros(3 * k)
    project(x.copy(), d, act, k, x)
    equal = not with_share
    parts, trial = new_parts(k), new_parts(k)  # the point's outputs, a trial step's
    p, q = np.empty(k), np.empty(k)
    _powers(x, p_max, q_max, p, q)
    uc, _, _, _ = evaluate_into(parts, split, ul_sub, dl_sub, p, q, x[2 * k :], equal, oma, slot)
    f = slot_cost(parts, uc, deadline, mu)
    evaluations = 1
    gradients = 0
    if n_active == 0:
        return x[:k] * p_max, x[k : 2 * k] * q_max, x[2 * k :].copy(), f, 0, 1
    g = np.zeros(3 * k)
    g_old = np.zeros(3 * k)
    step = np.zeros(3 * k)
    alpha = 0.0
    hist = np.full(MEMORY, f)
    best_x = x.copy()
    best_f = f
    while gradients < settings.max_iter:
        _powers(x, p_max, q_max, p, q)
        gp, gq, ge = gradient_kernel(split, ul_sub, dl_sub, p, q, parts, slot, with_share, oma)
        gradients += 1
        g[:k] = gp * p_max
        g[k : 2 * k] = gq * q_max
        g[2 * k :] = ge
        for i in range(3 * k):
            d[i] = max(x[i], SCALE_FLOOR) ** 2
        # stationarity: the unit scaled step, measured in the scaled metric
        project(x - d * g, d, act, k, x_new)
        pg = 0.0
        for i in range(3 * k):
            if act[i]:
                pg = max(pg, abs(x_new[i] - x[i]) / np.sqrt(d[i]))
        if pg <= settings.gtol:
            break
        if gradients == 1:
            alpha = FIRST_STEP / max(pg, 1e-300)
        else:
            sy = _dot(step, g - g_old)
            alpha = min(max(_dot(step, step / d) / sy, 1e-12), 1e12) if sy > 0.0 else alpha * 4.0
        accepted = False
        f_new = f
        for _ in range(MAX_BACKTRACKS):
            project(x - alpha * d * g, d, act, k, x_new)
            for i in range(3 * k):
                step[i] = x_new[i] - x[i]
            decrease = _dot(g, step)
            if decrease >= 0.0:
                break  # the step no longer moves: converged to round-off
            _powers(x_new, p_max, q_max, p, q)
            uc, _, _, _ = evaluate_into(
                trial, split, ul_sub, dl_sub, p, q, x_new[2 * k :], equal, oma, slot
            )
            evaluations += 1
            f_new = slot_cost(trial, uc, deadline, mu)
            if f_new <= hist.max() + ARMIJO * decrease:
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            break
        x[:] = x_new
        parts, trial = trial, parts
        g_old[:] = g
        small = abs(f - f_new) <= settings.ftol * max(1.0, abs(f))
        f = f_new
        hist[gradients % MEMORY] = f
        if f < best_f:
            best_f = f
            best_x[:] = x
        if small:
            break
    x = best_x
    f = best_f
    return x[:k] * p_max, x[k : 2 * k] * q_max, x[2 * k :].copy(), f, gradients, evaluations


@njit(cache=True)
def point_cost(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    e: np.ndarray,
    slot_fields: tuple,
    settings_fields: tuple,
) -> float:
    """The slot cost of the point ``(p, q, e)`` [W, W, 1] of a discrete choice (the
    arguments as for :func:`descend`)."""
    slot = KernelSlot(*slot_fields)
    settings = DescentSettings(*settings_fields)
    parts, uc, _, _, _ = evaluate_parts(
        split, ul_sub, dl_sub, p, q, e, not settings.with_share, settings.oma, slot
    )
    return slot_cost(parts, uc, settings.deadline_s, settings.miss_penalty)

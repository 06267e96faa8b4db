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
from numba import njit, prange

from agents.li_gd.variables import FreeVariables, free_variables, project, revive
from noma_split_env.evaluate import (
    FAILED,
    LATENCY,
    KernelSlot,
    LinkGroups,
    copy_parts,
    evaluate_parts,
    evaluate_users_into,
    link_groups,
    mean_user_cost,
    new_parts,
)
from noma_split_env.gradient import gradient_users_into

__all__ = [
    "GIVE_UP_HALVING",
    "GIVE_UP_RATE",
    "START_CHEAPER",
    "START_DEFAULT",
    "START_GIVEN",
    "DescentSettings",
    "default_start_into",
    "descend",
    "descend_moves",
    "give_up_bound",
    "joint_loop",
    "pair_loop",
    "point_cost",
    "refill_loop",
    "slot_cost",
    "split_loop",
    "swap_loop",
]

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
GIVE_UP_HALVING = 2
"""Gradients per halving of the give-up margin (:func:`give_up_bound`). With a halving
every ``give_up_after = 5`` gradients (then the default), warm-started candidates
within the margin of their rival ran on for 20 or more gradients before they were
dropped. Every 2: the same cost to 1e-6 on all 400 ``default`` slots of seeds 1 and 2
(against a multi-start reference), 7% fewer gradients on ``default``, 27% on
``dense`` at a 0.1% lower mean cost and 18% on ``massive``
(``benchmarks/bench_solvers.py``); every gradient saved more but put one ``default``
slot of the 400 0.15% higher."""
GIVE_UP_RATE = 5.0
"""A candidate that must beat a rival also stops, from ``give_up_after`` gradients
on (and at least 2), once its best cost is above the rival by more than this many
times what its last two gradients gained: at that pace it would need more than
``2 x GIVE_UP_RATE`` gradients to get there, and a descent's gains shrink as it
converges. Without it, candidates inside the give-up margin that crept down by tiny
steps ran on to convergence. On 200 ``default`` slots (seeds 1000..1199) Li-GD's
gradients fell from 2196 to 1979 (``give_up_after = 5``), the costs the same to 1e-6
but on one slot (0.007% higher). With ``give_up_after = 2``: 1758, 1774, 1793 and
1821 gradients for a factor of 2, 3, 5 and 10, one slot 0.007-0.012% higher with
each. The rule applies only while the descent stands at its best point: while its
non-monotone steps climb (the current cost above the best), the best cost stands
still and the rule would stop a descent that is crossing a ridge. One ``default``
slot (seed 3, slot 157) ended 0.62% above the multi-start cost that way: a
subchannel move needed a co-channel power lowered from the cap to a tenth of it,
and the best cost stood still for three gradients before it fell 0.6% below the
rival. Suspending the rule there cost 1.2-1.9% more gradients on 400 slots each
of seeds 1-2 and 3-4, no slot's cost higher; in larger cells, where non-monotone
steps are common, 9% on 20 ``dense`` slots (mean cost 0.19% lower) and 14% on 6
``massive`` slots (0.04% lower; seed 7 of each)."""
STALL = 2 * MEMORY
"""Gradients without a new best point (lower by more than ``ftol max(1, |C|)``)
after which a descent stops. The non-monotone rule accepts steps up to the worst of
the last ``MEMORY`` costs, so where the cost jumps (a task failing at the cap
boundary) the iterate can wander on without progress: on a ``massive`` slot, joint-
loop descents at poor depths ran all 500 gradients with their best cost unchanged
after the fifth. (Slow but steady descents are not stopped by this.)"""


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
    give_up_after: int
    """After this many gradients a descent whose best cost is still above its
    give-up bound (:func:`give_up_bound`), or above its rival by more than
    :data:`GIVE_UP_RATE` times what its last two gradients gained (where it stands
    at its best point), stops (a candidate that cannot win)."""
    give_up_slack: float
    """The give-up bound's margin above the rival, relative (``max(1, |rival|)``)."""


@njit(cache=True, inline="always")
def slot_cost(parts: np.ndarray, mean_user_cost: float, deadline: float, mu: float) -> float:
    """``evaluate``'s slot cost from an evaluated parts array
    (:func:`~noma_split_env.evaluate.new_parts`) and its mean user cost: that plus
    ``mu misses / K`` (a failed task is a miss; so is a latency above the deadline)."""
    misses = 0
    k_users = parts.shape[1]
    for k in range(k_users):
        if parts[FAILED, k] > 0.0 or parts[LATENCY, k] > deadline:
            misses += 1
    return mean_user_cost + mu * misses / k_users


@njit(cache=True, inline="always")
def _powers(x: np.ndarray, p_max: float, q_max: float, p: np.ndarray, q: np.ndarray) -> None:
    """The powers [W] of the normalized point ``x`` (module ``variables``), into ``p``, ``q``."""
    k = p.shape[0]
    for i in range(k):
        p[i] = x[i] * p_max
        q[i] = x[k + i] * q_max


@njit(cache=True, inline="always")
def give_up_bound(rival: float, gradients: int, after: int, slack: float) -> float:
    """The cost above which a candidate that must beat ``rival`` is dropped after
    ``gradients >= after`` gradients: ``rival + slack max(1, |rival|)`` at ``after``,
    the margin halving every :data:`GIVE_UP_HALVING` gradients more (a candidate still
    above its rival after many gradients is close to converged: it will not gain the
    margin back). ``inf`` without a rival."""
    if not np.isfinite(rival):
        return np.inf
    halvings = (gradients - after) / GIVE_UP_HALVING
    return rival + slack * max(1.0, abs(rival)) * 0.5**halvings


@njit(cache=True, inline="always")
def _keep(points: np.ndarray, row: int, p: np.ndarray, q: np.ndarray, e: np.ndarray) -> None:
    """Row ``row`` of a ``[C, 3, K]`` points array: the point ``(p, q, e)``."""
    points[row, 0] = p
    points[row, 1] = q
    points[row, 2] = e


START_GIVEN = 0
"""Start mode: the descent starts from the given point (after reviving zeros)."""
START_CHEAPER = 1
"""Start mode: the given point, or the default point if that already costs less."""
START_DEFAULT = 2
"""Start mode: the default point (GD's cold start): the free entries at max power and
equal parts of what the fixed entries leave of each budget, the rest as given."""


@njit(cache=True)
def _free_masks(
    groups: LinkGroups,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    ul_free: np.ndarray,
    dl_free: np.ndarray,
    with_share: bool,
) -> FreeVariables:
    """The free entries of a descent over the subchannel groups ``ul_free``,
    ``dl_free`` (``[N]`` bool): the uplink powers of the offloading users on a free
    uplink subchannel, the downlink powers of those on a free downlink subchannel, and
    (with shares) the edge shares of both."""
    k = ul_sub.shape[0]
    free_p = np.zeros(k, dtype=np.bool_)
    free_q = np.zeros(k, dtype=np.bool_)
    free_e = np.zeros(k, dtype=np.bool_)
    for i in range(k):
        if groups.active[i]:
            free_p[i] = ul_free[ul_sub[i]]
            free_q[i] = dl_free[dl_sub[i]]
            free_e[i] = with_share and (free_p[i] or free_q[i])
    return free_variables(free_p, free_q, free_e)


@njit(cache=True)
def _left(x: np.ndarray, act: np.ndarray, free_mask: np.ndarray, lo: int, hi: int) -> float:
    """What the fixed active entries of ``x[lo:hi]`` leave of a budget of 1."""
    used = 0.0
    for i in range(lo, hi):
        if act[i] and not free_mask[i]:
            used += x[i]
    return max(1.0 - used, 0.0)


@njit(cache=True)
def _default_point(
    x: np.ndarray, free: FreeVariables, cap_q: float, cap_e: float, out: np.ndarray
) -> None:
    """``x`` with the free entries at the default: p = 1, q = cap_q / n_q, e = cap_e / n_e."""
    out[:] = x
    n_p, n_q, n_e = free.n_p, free.n_q, free.n_e
    for j in range(n_p):
        out[free.idx[j]] = 1.0
    for j in range(n_p, n_p + n_q):
        out[free.idx[j]] = cap_q / n_q
    for j in range(n_p + n_q, n_p + n_q + n_e):
        out[free.idx[j]] = cap_e / n_e


@njit(cache=True, inline="always")
def _evaluate(
    out: np.ndarray,
    users: np.ndarray,
    groups: LinkGroups,
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    x: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    settings: DescentSettings,
    slot: KernelSlot,
) -> float:
    """The slot cost at ``x``, ``out`` updated for ``users`` (the others as they were)."""
    k = p.shape[0]
    _powers(x, settings.p_max, settings.q_max, p, q)
    evaluate_users_into(
        out,
        users,
        groups,
        split,
        ul_sub,
        dl_sub,
        p,
        q,
        x[2 * k :],
        not settings.with_share,
        settings.oma,
        slot,
    )
    mean = mean_user_cost(out)
    return slot_cost(out, mean, settings.deadline_s, settings.miss_penalty)


@njit(cache=True)
def descend(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p0: np.ndarray,
    q0: np.ndarray,
    e0: np.ndarray,
    ul_free: np.ndarray,
    dl_free: np.ndarray,
    start_mode: int,
    rival: float,
    slot_fields: tuple,
    settings_fields: tuple,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int, int]:
    """Scaled projected gradient descent from ``(p0, q0, e0)`` [W, W, 1], each ``[K]``.

    ``split``, ``ul_sub``, ``dl_sub`` (``[K]`` int) stay fixed; the slot is
    ``KernelSlot(*slot_fields)`` and the settings ``DescentSettings(*settings_fields)``
    (plain tuples cross into numba faster than named ones). Only the variables of the
    users on the subchannels marked in ``ul_free`` and ``dl_free`` (``[N]`` bool) move
    (module ``variables``); the cost of a step is evaluated for them alone (the
    others' outputs cannot change). ``start_mode`` is :data:`START_GIVEN`,
    :data:`START_CHEAPER` or :data:`START_DEFAULT`. ``rival`` is the cost the
    candidate must beat (``inf``: none): from ``settings.give_up_after`` gradients on,
    the descent stops once its best cost is above :func:`give_up_bound`, or (from 2
    gradients on, while the current point is its best) above ``rival`` by more than
    :data:`GIVE_UP_RATE` times what its last two gradients gained. Returns
    ``(p, q, e, cost, gradients, evaluations)``: the best point visited (so never
    above the start) and its slot cost; ``e`` is zeros without ``settings.with_share``.
    """
    slot = KernelSlot(*slot_fields)
    settings = DescentSettings(*settings_fields)
    k = split.shape[0]
    p_max, q_max = settings.p_max, settings.q_max
    groups = link_groups(split, ul_sub, dl_sub, slot)
    active = groups.active
    n_active = active.sum()
    act = np.zeros(3 * k, dtype=np.bool_)
    act[:k] = active
    act[k : 2 * k] = active
    if settings.with_share:
        act[2 * k :] = active
    x = np.zeros(3 * k)
    x[:k] = p0 / p_max
    x[k : 2 * k] = q0 / q_max
    if settings.with_share:
        x[2 * k :] = e0
    free = _free_masks(groups, ul_sub, dl_sub, ul_free, dl_free, settings.with_share)
    free_mask = np.zeros(3 * k, dtype=np.bool_)
    free_mask[free.idx] = True
    if n_active > 0:
        for i in range(k):
            if free_mask[i] and x[i] <= 0.0:
                x[i] = 1.0
        revive(x, act, free_mask, k, 2 * k, 1.0 / n_active)
        revive(x, act, free_mask, 2 * k, 3 * k, 1.0 / n_active)
    d = np.ones(3 * k)
    x_new = np.zeros(3 * k)
    every = free  # the initial projection makes every active entry feasible
    if not (ul_free.all() and dl_free.all()):
        ones = np.ones(ul_free.shape[0], np.bool_)
        every = _free_masks(groups, ul_sub, dl_sub, ones, ones, settings.with_share)
    order = np.empty(3 * k, dtype=np.int64)  # projection scratch
    project(x.copy(), d, every, 1.0, 1.0, x, order)
    cap_q = _left(x, act, free_mask, k, 2 * k)
    cap_e = _left(x, act, free_mask, 2 * k, 3 * k)
    parts, trial = new_parts(k), new_parts(k)  # the point's outputs, a trial step's
    p, q = np.empty(k), np.empty(k)
    all_users = np.arange(k)
    evaluations = 1
    if start_mode == START_DEFAULT:
        _default_point(x.copy(), free, cap_q, cap_e, x)
    f = _evaluate(parts, all_users, groups, split, ul_sub, dl_sub, x, p, q, settings, slot)
    if start_mode == START_CHEAPER and free.idx.shape[0] > 0:
        _default_point(x, free, cap_q, cap_e, x_new)
        f_cold = _evaluate(
            trial, all_users, groups, split, ul_sub, dl_sub, x_new, p, q, settings, slot
        )
        evaluations += 1
        if f_cold < f:
            x[:] = x_new
            f = f_cold
            parts, trial = trial, parts
    if n_active == 0 or free.idx.shape[0] == 0:
        return x[:k] * p_max, x[k : 2 * k] * q_max, x[2 * k :].copy(), f, 0, evaluations
    copy_parts(parts, trial)  # equal outside the free users from here on
    x_new[:] = x
    users = free.users
    idx = free.idx
    g = np.zeros(3 * k)
    g_old = np.zeros(3 * k)
    step = np.zeros(3 * k)
    v = np.zeros(3 * k)
    gp, gq, ge = np.zeros(k), np.zeros(k), np.zeros(k)
    inv_k = 1.0 / k
    alpha = 0.0
    hist = np.full(MEMORY, f)
    best_x = x.copy()
    best_f = f
    stalled = 0  # gradients since the last new best point
    gradients = 0
    best_1 = best_2 = f  # best_f one and two gradients ago
    while gradients < settings.max_iter:
        if gradients >= settings.give_up_after and np.isfinite(rival) and best_f > rival:
            # this candidate will not win: not worth converging
            if best_f > give_up_bound(
                rival, gradients, settings.give_up_after, settings.give_up_slack
            ):
                break
            # the rate rule, unless the steps are crossing a ridge (f above best_f)
            crawling = best_f - rival > GIVE_UP_RATE * (best_2 - best_f)
            if gradients >= 2 and f <= best_f and crawling:
                break
        best_2, best_1 = best_1, best_f
        _powers(x, p_max, q_max, p, q)
        gp[:] = 0.0
        gq[:] = 0.0
        ge[:] = 0.0
        gradient_users_into(
            gp,
            gq,
            ge,
            users,
            groups,
            ul_sub,
            dl_sub,
            p,
            q,
            parts,
            slot,
            settings.with_share,
            settings.oma,
        )
        gradients += 1
        for i in idx:
            if i < k:
                g[i] = gp[i] * inv_k * p_max
            elif i < 2 * k:
                g[i] = gq[i - k] * inv_k * q_max
            else:
                g[i] = ge[i - 2 * k] * inv_k
            d[i] = max(x[i], SCALE_FLOOR) ** 2
            v[i] = x[i] - d[i] * g[i]
        # stationarity: the unit scaled step, measured in the scaled metric
        project(v, d, free, cap_q, cap_e, x_new, order)
        pg = 0.0
        for i in idx:
            pg = max(pg, abs(x_new[i] - x[i]) / np.sqrt(d[i]))
        if pg <= settings.gtol:
            break
        if gradients == 1:
            alpha = FIRST_STEP / max(pg, 1e-300)
        else:
            sy = ss = 0.0
            for i in idx:
                sy += step[i] * (g[i] - g_old[i])
                ss += step[i] * (step[i] / d[i])
            alpha = min(max(ss / sy, 1e-12), 1e12) if sy > 0.0 else alpha * 4.0
        accepted = False
        f_new = f
        for _ in range(MAX_BACKTRACKS):
            for i in idx:
                v[i] = x[i] - alpha * d[i] * g[i]
            project(v, d, free, cap_q, cap_e, x_new, order)
            decrease = 0.0
            for i in idx:
                step[i] = x_new[i] - x[i]
                decrease += g[i] * step[i]
            if decrease >= 0.0:
                break  # the step no longer moves: converged to round-off
            f_new = _evaluate(
                trial, users, groups, split, ul_sub, dl_sub, x_new, p, q, settings, slot
            )
            evaluations += 1
            if f_new <= hist.max() + ARMIJO * decrease:
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            break
        for i in idx:
            x[i] = x_new[i]
            g_old[i] = g[i]
        parts, trial = trial, parts  # they differ only in the free users' entries
        small = abs(f - f_new) <= settings.ftol * max(1.0, abs(f))
        f = f_new
        hist[gradients % MEMORY] = f
        if best_f - f > settings.ftol * max(1.0, abs(best_f)):
            stalled = 0
        else:
            stalled += 1
        if f < best_f:
            best_f = f
            best_x[:] = x
        if small or stalled >= STALL:
            break
    x = best_x
    f = best_f
    return x[:k] * p_max, x[k : 2 * k] * q_max, x[2 * k :].copy(), f, gradients, evaluations


@njit(cache=True)
def default_start_into(
    split: np.ndarray,
    num_layers: np.ndarray,
    p_max: float,
    q_max: float,
    scale: float,
    p: np.ndarray,
    q: np.ndarray,
    e: np.ndarray,
) -> None:
    """``scale`` x (max power ``p_max``, equal parts of the BS power ``q_max``, equal
    edge shares) for the offloading users (``split < num_layers``), 0 for the others,
    into ``p``, ``q``, ``e`` (``[K]``; :meth:`~agents.li_gd.problem.SlotProblem.default_start`)."""
    m = 0
    for i in range(split.shape[0]):
        m += split[i] < num_layers[i]
    m = max(m, 1)
    for i in range(split.shape[0]):
        active = split[i] < num_layers[i]
        p[i] = scale * p_max if active else 0.0
        q[i] = scale * q_max / m if active else 0.0
        e[i] = 1.0 / m if active else 0.0


@njit(cache=True)
def joint_loop(
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    warm: bool,
    slot_fields: tuple,
    settings_fields: tuple,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The joint start: every user's split looped together, depth ``t = 0 .. L_max - 1``
    (``s_k = round(t L_k / L_max)``, as the env decodes a split), each depth's
    :func:`descend` over every variable from the previous depth's result (``warm``,
    Li-GD; the first from zeros, revived) or from the default point (GD: max power,
    equal shares of the BS power and the edge). Returns ``(costs [L_max], points
    [L_max, 3, K], gradients [L_max], evaluations)``. ``L_max >= 1``."""
    slot = KernelSlot(*slot_fields)
    settings = DescentSettings(*settings_fields)
    levels = slot.num_layers
    l_max = levels.max()
    k = levels.shape[0]
    every = np.ones(slot.ul_gain.shape[1], dtype=np.bool_)
    costs = np.empty(l_max)
    points = np.empty((l_max, 3, k))
    gradients = np.zeros(l_max, dtype=np.int64)
    evaluations = 0
    p, q, e = np.zeros(k), np.zeros(k), np.zeros(k)
    for t in range(l_max):
        split = (2 * t * levels + l_max) // (2 * l_max)
        if not warm:
            default_start_into(split, levels, settings.p_max, settings.q_max, 1.0, p, q, e)
        p, q, e, cost, g, ev = descend(
            split, ul_sub, dl_sub, p, q, e, every, every, START_GIVEN, np.inf, slot_fields,
            settings_fields,
        )  # fmt: skip
        costs[t] = cost
        _keep(points, t, p, q, e)
        gradients[t] = g
        evaluations += ev
    return costs, points, gradients, evaluations


@njit(cache=True)
def split_loop(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p0: np.ndarray,
    q0: np.ndarray,
    e0: np.ndarray,
    k: int,
    ul_free: np.ndarray,
    dl_free: np.ndarray,
    start_mode: int,
    slot_fields: tuple,
    settings_fields: tuple,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The split loop of user ``k``: :func:`descend` at ``s_k = 0, 1, ..., L_k`` in
    turn, each from the previous split's result (the loop-iteration warm start of
    Li-GD; ``start_mode`` as for :func:`descend`), over the groups ``ul_free``,
    ``dl_free``.

    The first descent starts from ``(p0, q0, e0)`` (k's entries zeroed if k is local
    there, so that it enters at the default values); the last (``s_k = L_k``, k local)
    from ``(p0, q0, e0)`` with k's entries zeroed (the others re-descended from the
    incumbent). Returns ``(costs [L_k+1], points [L_k+1, 3, K], gradients [L_k+1],
    evaluations)``; ``points[s]`` holds ``(p, q, e)``.
    """
    levels = KernelSlot(*slot_fields).num_layers[k]
    n_users = split.shape[0]
    costs = np.empty(levels + 1)
    points = np.empty((levels + 1, 3, n_users))
    gradients = np.zeros(levels + 1, dtype=np.int64)
    evaluations = 0
    cand = split.copy()
    p, q, e = p0.copy(), q0.copy(), e0.copy()
    if split[k] == levels:
        p[k] = q[k] = e[k] = 0.0
    for s in range(levels + 1):
        cand[k] = s
        if s == levels:  # local: the others from the incumbent
            p, q, e = p0.copy(), q0.copy(), e0.copy()
            p[k] = q[k] = e[k] = 0.0
        p, q, e, cost, g, ev = descend(
            cand, ul_sub, dl_sub, p, q, e, ul_free, dl_free, start_mode, np.inf,
            slot_fields, settings_fields,
        )  # fmt: skip
        costs[s] = cost
        _keep(points, s, p, q, e)
        gradients[s] = g
        evaluations += ev
    return costs, points, gradients, evaluations


@njit(cache=True)
def pair_loop(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p0: np.ndarray,
    q0: np.ndarray,
    e0: np.ndarray,
    k: int,
    j: int,
    ul_free: np.ndarray,
    dl_free: np.ndarray,
    start_mode: int,
    slot_fields: tuple,
    settings_fields: tuple,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Users ``k`` and ``j`` enter together: their splits looped jointly, depth ``t =
    0..L_max - 1`` (``s = round(t L / L_max)``, as the joint start), each descent from
    the previous depth's result; then each of the two alone (``s = 0..L - 1``, the
    other at the pair's best), chained the same way; ``start_mode`` as for
    :func:`descend`, over the groups ``ul_free``, ``dl_free``.

    Returns ``(cost, split, p, q, e, gradients, evaluations, descents)``: the best of
    all these descents (the first of equal costs), its splits and point; ``gradients``
    (``[L_k + 1]``) are booked at k's split of each descent."""
    levels = KernelSlot(*slot_fields).num_layers
    l_max = levels.max()
    gradients = np.zeros(levels[k] + 1, dtype=np.int64)
    evaluations = descents = 0
    cand = split.copy()
    p, q, e = p0, q0, e0
    best_cost = np.inf
    best_split = split.copy()
    best_p, best_q, best_e = p0, q0, e0
    for phase in range(3):  # the joint depths, then k alone, then j alone
        user = (k, k, j)[phase]
        if phase > 0:  # a single loop starts from the pair's best
            p, q, e = best_p, best_q, best_e
            cand[:] = best_split
        for s in range(l_max if phase == 0 else levels[user]):
            if phase == 0:
                cand[k] = (2 * s * levels[k] + l_max) // (2 * l_max)
                cand[j] = (2 * s * levels[j] + l_max) // (2 * l_max)
            else:
                cand[user] = s
            p, q, e, cost, g, ev = descend(
                cand, ul_sub, dl_sub, p, q, e, ul_free, dl_free, start_mode, np.inf,
                slot_fields, settings_fields,
            )  # fmt: skip
            gradients[cand[k]] += g
            evaluations += ev
            descents += 1
            if cost < best_cost:
                best_cost, best_p, best_q, best_e = cost, p, q, e
                best_split[:] = cand
    return best_cost, best_split, best_p, best_q, best_e, gradients, evaluations, descents


@njit(cache=True, parallel=True)
def descend_moves(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p0: np.ndarray,
    q0: np.ndarray,
    e0: np.ndarray,
    subs: np.ndarray,
    uplink: bool,
    decompose: bool,
    start_mode: int,
    rival: float,
    slot_fields: tuple,
    settings_fields: tuple,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`descend` for each row of ``subs`` (``[C, K]`` int) as the new subchannels
    of one link (``uplink`` or downlink), all from ``(p0, q0, e0)``.

    With ``decompose`` each descent moves only the users of the subchannels that some
    user left or joined. Each gives up against ``rival`` (:func:`give_up_bound`,
    :data:`GIVE_UP_RATE`). The
    rows are independent, so they are descended in parallel (numba ``prange``, one
    thread per core); each row's result depends on that row alone, not on the threads.
    Returns ``(costs [C], points [C, 3, K], work [C, 2])``: each row's cost, its point
    ``(p, q, e)`` and its gradients and evaluations.
    """
    k = split.shape[0]
    n_sub = slot_fields[0].shape[1]
    rows = subs.shape[0]
    current = ul_sub if uplink else dl_sub
    costs = np.empty(rows)
    points = np.empty((rows, 3, k))
    work = np.zeros((rows, 2), dtype=np.int64)  # gradients, evaluations
    for row in prange(rows):
        sub = subs[row]
        cand_ul, cand_dl = ul_sub.copy(), dl_sub.copy()
        if uplink:
            cand_ul[:] = sub
        else:
            cand_dl[:] = sub
        moved = np.ones(n_sub, dtype=np.bool_)
        fixed = np.ones(n_sub, dtype=np.bool_)  # the other link: every group, or none
        if decompose:
            fixed[:] = False
            moved[:] = False
            for i in range(k):
                if sub[i] != current[i]:
                    moved[sub[i]] = True
                    moved[current[i]] = True
        ul_free, dl_free = (moved, fixed) if uplink else (fixed, moved)
        p, q, e, cost, g, ev = descend(
            split, cand_ul, cand_dl, p0, q0, e0, ul_free, dl_free, start_mode, rival,
            slot_fields, settings_fields,
        )  # fmt: skip
        costs[row] = cost
        _keep(points, row, p, q, e)
        work[row, 0] = g
        work[row, 1] = ev
    return costs, points, work


@njit(cache=True)
def swap_loop(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p0: np.ndarray,
    q0: np.ndarray,
    e0: np.ndarray,
    k: int,
    partners: np.ndarray,
    decompose: bool,
    start_mode: int,
    rival: float,
    slot_fields: tuple,
    settings_fields: tuple,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """User ``k`` trades its split, and its entries of ``(p0, q0, e0)``, with each user
    ``j`` of ``partners`` in turn, each swap descended by :func:`descend` over the
    groups of ``k`` and ``j`` on both links (every group without ``decompose``) against
    the best cost so far (``rival`` at first). Returns ``(costs [C], points [C, 3, K],
    work [C, 2])`` as :func:`descend_moves` does."""
    n_sub = slot_fields[0].shape[1]
    rows, n_users = partners.shape[0], split.shape[0]
    costs = np.empty(rows)
    points = np.empty((rows, 3, n_users))
    work = np.zeros((rows, 2), dtype=np.int64)  # gradients, evaluations
    best = rival
    for row in range(rows):
        j = partners[row]
        cand = split.copy()
        cand[k], cand[j] = split[j], split[k]
        p, q, e = p0.copy(), q0.copy(), e0.copy()
        p[k], p[j] = p0[j], p0[k]
        q[k], q[j] = q0[j], q0[k]
        e[k], e[j] = e0[j], e0[k]
        ul_free = np.full(n_sub, not decompose)
        dl_free = np.full(n_sub, not decompose)
        for user in (k, j):
            ul_free[ul_sub[user]] = True
            dl_free[dl_sub[user]] = True
        p, q, e, cost, g, ev = descend(
            cand, ul_sub, dl_sub, p, q, e, ul_free, dl_free, start_mode, best, slot_fields,
            settings_fields,
        )  # fmt: skip
        costs[row] = cost
        _keep(points, row, p, q, e)
        work[row, 0] = g
        work[row, 1] = ev
        best = min(best, cost)
    return costs, points, work


@njit(cache=True)
def refill_loop(
    split: np.ndarray,
    current: np.ndarray,
    other: np.ndarray,
    uplink: bool,
    p0: np.ndarray,
    q0: np.ndarray,
    e0: np.ndarray,
    partners: np.ndarray,
    freed: int,
    decompose: bool,
    start_mode: int,
    rival: float,
    slot_fields: tuple,
    settings_fields: tuple,
) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Each user ``j`` of ``partners`` in turn moves to subchannel ``freed`` of one link
    (``uplink`` or downlink; ``current`` that link's subchannels, ``other`` the other
    link's), descended from the best point so far (``(p0, q0, e0)`` at first) against
    the best cost so far (``rival`` at first) by :func:`descend`, over the groups
    ``j`` left and joined (every group without ``decompose``). Returns ``(row, cost,
    p, q, e, gradients, evaluations)``: the partner of the last move that lowered the
    cost (-1: none; then the point is the start), the cost and point, and the work of
    all the descents."""
    n_sub = slot_fields[0].shape[1]
    best_row, best_cost = -1, rival
    best_p, best_q, best_e = p0, q0, e0
    gradients = evaluations = 0
    fixed = np.full(n_sub, not decompose)  # the other link: every group, or none
    for row in range(partners.shape[0]):
        j = partners[row]
        sub = current.copy()
        sub[j] = freed
        moved = np.full(n_sub, not decompose)
        moved[current[j]] = True
        moved[freed] = True
        ul_sub, dl_sub = (sub, other) if uplink else (other, sub)
        ul_free, dl_free = (moved, fixed) if uplink else (fixed, moved)
        p, q, e, cost, g, ev = descend(
            split, ul_sub, dl_sub, best_p, best_q, best_e, ul_free, dl_free, start_mode,
            best_cost, slot_fields, settings_fields,
        )  # fmt: skip
        gradients += g
        evaluations += ev
        if cost < best_cost:
            best_row, best_cost = row, cost
            best_p, best_q, best_e = p, q, e
    return best_row, best_cost, best_p, best_q, best_e, gradients, evaluations


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

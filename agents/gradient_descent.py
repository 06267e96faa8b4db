"""Li-GD and GD: projected gradient descent on the powers, coordinate search on the rest.

Li-GD is the loop-iteration gradient descent of Yuan et al., "High Efficiency
Inference Accelerating Algorithm for NOMA-based Mobile Edge Computing" (arXiv
2312.15850): the split point is looped layer by layer, and the gradient descent for
each split starts from the optimum found for the previous split. For one user alone
the optimal uplink power does not depend on the upload size ``D(s)`` at all (``D``
scales the upload time and energy alike), so the previous optimum is usually optimal
already or a few steps away: the warm start removes most of the cost of the discrete
variable. GD is the same search with every descent started cold, from the fixed
default point (max power, equal budgets): the baseline Li-GD must beat in computation.

**Continuous variables** (for a fixed split and subchannels): uplink powers
``p in [0, P_user_max]^K``, downlink powers ``q >= 0, sum q <= P_bs_max`` and, when
``scenario.allocate_edge_share``, edge shares ``e >= 0, sum e <= 1``; users that do
not offload hold 0 in all three. :func:`descend` runs a scaled projected gradient
descent (Bertsekas, "Nonlinear Programming", 2nd ed., section 2.3) in the normalized
variables ``x = (p / P_user_max, q / P_bs_max, e)`` on the analytic gradient ``g`` of
:mod:`noma_split_env.gradient`:

* step ``x+ = P_D(x - alpha D g)`` with the diagonal scaling ``D = max(x, 1e-3)^2``,
  i.e. a gradient step in ``log x``: the cost is far better conditioned in log-power
  (SINR is proportional to power; optimal powers span four decades), and
  ``P_D`` is the projection in the metric ``D^-1`` (a box clip for ``p``; for ``q``
  and ``e``, ``x = max(v - theta d, 0)`` with the least ``theta >= 0`` meeting the
  budget: the sort-based simplex projection of Duchi et al., "Efficient projections
  onto the l1-ball", ICML 2008, with weights);
* trial step: the Barzilai-Borwein step ``s.D^-1 s / s.y`` of the last iteration,
  ``0.25 / |D^(1/2) g|_inf`` on the first;
* acceptance: the Armijo rule along the projection arc, non-monotone over the last 10
  costs (Grippo, Lampariello and Lucidi, SIAM J. Numer. Anal. 1986), as in the
  spectral projected gradient of Birgin, Martinez and Raydan (SIAM J. Optim. 2000):
  ``C(x+) <= max(last 10 C) + 1e-4 g.(x+ - x)``, backtracking by halves; the best
  point visited is returned, so a descent never ends above its start;
* stop when the scaled projected-gradient step ``|D^(-1/2) (P_D(x - D g) - x)|_inf``
  (the sensitivity to relative changes of the variables) is at most ``gtol``, when a
  step changes the cost by at most ``ftol max(1, |C|)``, when no step passes the line
  search, or after ``max_iter`` gradients.

The line search uses the full slot cost, deadline misses included (the miss term has
zero gradient but can block a step). Zero power is the degenerate point where an
upload or download takes ``latency_cap_s`` and the latency gradient vanishes, so a
start that gives an offloading user zero ``p``, ``q`` or ``e`` gives it the default
instead (``P_user_max``, ``P_bs_max / m``, ``1 / m`` for ``m`` offloading users; the
others' budgets are scaled down to make room).

**Discrete variables.** Start (``starts=("joint",)``): the users' splits looped
together, depth ``t = 0 .. L_max - 1`` with ``s_k = round(t L_k / L_max)`` (the env's
decoding of a split), each descent warm-started from the previous depth's optimum,
uplink and downlink subchannel of each user = its best gain; the best of these
all-offloading points starts the sweeps. (Starting from everyone offloading matters:
under equal edge shares the edge energy of a task falls with the square of its share,
so two users may each lose alone by offloading and both win together; sweeps from
all-local miss such pairs.) ``"local"`` and ``"edge"`` (everyone at ``s = 0``) are
other starts; with several, the best result wins. Then coordinate sweeps over users;
for user ``k``, the others fixed:

1. split loop: ``s_k = 0, 1, ..., L_k - 1``, each split's descent started from the
   previous split's optimum (Li-GD) or from the default point (GD), the first from
   the incumbent (user ``k`` entering at the default values if it was local); then
   ``s_k = L_k`` (user ``k`` local, the others re-descended from the incumbent);
2. split swaps: user ``k`` exchanges splits (and its powers) with a user running the
   same model, at most ``max_swaps`` partners (those whose uplink gain differs most);
3. subchannel moves at the best split found: user ``k`` on every other uplink
   subchannel, then swapping uplink subchannels with at most ``max_swaps`` offloading
   users of other subchannels (those for which both gain most,
   ``log(g_k[n_j] / g_k[n_k]) + log(g_j[n_k] / g_j[n_j])``), each descended from the
   best point; the best is kept; then the same for the downlink;
4. the user's best choice replaces the incumbent if it lowers the slot cost by more
   than ``sweep_tol max(1, |C|)``.

Starts of the descents: the split loops (joint and per user) chain each descent from
the previous split's optimum (Li-GD) or the default point (GD). The split swaps and
subchannel moves of Li-GD start from the incumbent's point unless the default point
already costs less there (two cost evaluations, no gradient): after a subchannel move
the incumbent's powers may favour the wrong user of the new subchannel, a trap the
cold start of GD escapes. Without this guard Li-GD's mean cost on ``default`` was
1.3e-4 above GD's (worse by 0.5-6% on 4 of 500 slots); with it the two agree to 1e-8
at 5.3x fewer gradients (``benchmarks/bench_solvers.py``).

The search stops when ``K`` consecutive user updates change nothing (every user is at
its best given the others) or after ``max_sweeps`` sweeps; the incumbent's continuous
variables are then polished by one more descent to ``gtol / 100`` (so that a solver
whose last descents stopped just inside ``gtol`` is not judged by that), and the
result is returned, or all-local if that is cheaper. The incumbent never gets worse,
so neither solver returns a cost above its starting point or above all-local.
Subchannels by moves and swaps rather than enumeration keep a user update at
``2 (N - 1 + max_swaps)`` descents instead of ``N^2`` (moves alone cannot exchange two
users' subchannels, which NOMA pairing often needs); a move is kept only if it lowers
the cost of everyone on the subchannel.

Statistics (``agent.stats``): ``iterations`` = gradients computed, ``evaluations`` =
cost evaluations, ``extra["iterations_per_split"][k][s]`` = gradients spent by user
``k``'s updates at split ``s`` (split swaps and subchannel moves count at the split
they were tried for; the joint loop is in ``extra["joint_iterations"][t]``),
``extra["descents"]``, ``extra["sweeps"]``, ``extra["start_cost"]`` (the best start),
``extra["start_costs"]``, ``extra["cost"]`` and ``extra["cost_history"]`` (incumbent
after each user update, per start).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from agents.base import BaseAgent, register
from noma_split_env import Allocation, Slot, evaluate
from noma_split_env.checks import check_number
from noma_split_env.evaluate import PARTS, _evaluate_kernel, kernel_slot_arguments
from noma_split_env.gradient import gradient_kernel

__all__ = ["ColdGD", "GradientDescent", "LiGD", "SlotProblem", "descend"]

_ROWS = np.array(
    [
        PARTS.index(name)
        for name in (
            "t_up",
            "t_dl",
            "t_edge",
            "e_edge",
            "ul_sinr",
            "dl_sinr",
            "edge_share",
            "latency",
            "failed",
            "user_cost",
        )
    ],
    dtype=np.int64,
)
"""Rows of the kernel's parts that the gradient reads, passed at run time (a cached
kernel would freeze module constants)."""

_ARMIJO = 1e-4
_FIRST_STEP = 0.25
_MAX_BACKTRACKS = 60
_SCALE_FLOOR = 1e-3
_MEMORY = 10
_POLISH = 1e-2


# ------------------------------------------------------------------ numba core
@njit(cache=True)
def _project_budget(
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
def _project(v: np.ndarray, d: np.ndarray, act: np.ndarray, k: int, out: np.ndarray) -> None:
    """``x = (p, q, e)`` normalized: box ``[0, 1]`` for p, budgets for q and e."""
    for i in range(k):
        out[i] = min(max(v[i], 0.0), 1.0) if act[i] else 0.0
    _project_budget(v, d, act, k, 2 * k, out)
    _project_budget(v, d, act, 2 * k, 3 * k, out)


@njit(cache=True)
def _revive(x: np.ndarray, act: np.ndarray, lo: int, hi: int, default: float) -> None:
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


@njit(cache=True)
def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a . b`` as a loop (numba's ``@`` needs SciPy's BLAS)."""
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i] * b[i]
    return total


@njit(cache=True)
def _slot_cost(
    parts: np.ndarray,
    mean_user_cost: float,
    latency_row: int,
    failed_row: int,
    deadline: float,
    mu: float,
) -> float:
    """``evaluate``'s slot cost from the kernel's output: mean user cost plus
    ``mu misses / K`` (a failed task is a miss; so is a latency above the deadline)."""
    misses = 0
    for k in range(parts.shape[1]):
        if parts[failed_row, k] > 0.0 or parts[latency_row, k] > deadline:
            misses += 1
    return mean_user_cost + mu * misses / parts.shape[1]


@njit(cache=True)
def descend(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p0: np.ndarray,
    q0: np.ndarray,
    e0: np.ndarray,
    with_share: bool,
    oma: bool,
    ul_gain: np.ndarray,
    dl_gain: np.ndarray,
    num_layers: np.ndarray,
    device_flops: np.ndarray,
    upload_bits: np.ndarray,
    total_flops: np.ndarray,
    result_bits: np.ndarray,
    t_ref: np.ndarray,
    e_ref: np.ndarray,
    consts: np.ndarray,
    rows: np.ndarray,
    deadline: float,
    mu: float,
    p_max: float,
    q_max: float,
    psi: float,
    lam: float,
    cap: float,
    penalty: float,
    gtol: float,
    ftol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int, int]:
    """Scaled projected gradient descent from ``(p0, q0, e0)`` [W, W, 1] (module docstring).

    The slot arguments are those of ``evaluate``'s kernel. Returns
    ``(p, q, e, cost, gradients, evaluations)``; ``e`` is zeros without
    ``with_share``.
    """
    k = split.shape[0]
    active = split < num_layers
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
        _revive(x, act, k, 2 * k, 1.0 / n_active)
        _revive(x, act, 2 * k, 3 * k, 1.0 / n_active)
    d = np.ones(3 * k)
    x_new = np.zeros(3 * k)
    _project(x.copy(), d, act, k, x)
    equal = not with_share
    parts, uc, _, _, _ = _evaluate_kernel(
        split, ul_sub, dl_sub, x[:k] * p_max, x[k : 2 * k] * q_max, x[2 * k :], equal, oma,
        ul_gain, dl_gain, num_layers, device_flops, upload_bits, total_flops, result_bits,
        t_ref, e_ref, consts,
    )  # fmt: skip
    f = _slot_cost(parts, uc, rows[7], rows[8], deadline, mu)
    evaluations = 1
    gradients = 0
    if n_active == 0:
        return x[:k] * p_max, x[k : 2 * k] * q_max, x[2 * k :].copy(), f, 0, 1
    g = np.zeros(3 * k)
    g_old = np.zeros(3 * k)
    step = np.zeros(3 * k)
    alpha = 0.0
    hist = np.full(_MEMORY, f)
    best_x = x.copy()
    best_f = f
    while gradients < max_iter:
        gp, gq, ge = gradient_kernel(
            split, ul_sub, dl_sub, x[:k] * p_max, x[k : 2 * k] * q_max, ul_gain, dl_gain,
            num_layers, t_ref, e_ref, parts[rows[0]], parts[rows[1]], parts[rows[2]],
            parts[rows[3]], parts[rows[4]], parts[rows[5]], parts[rows[6]], parts[rows[8]],
            parts[rows[9]], with_share, oma, psi, lam, cap, penalty,
        )  # fmt: skip
        gradients += 1
        g[:k] = gp * p_max
        g[k : 2 * k] = gq * q_max
        g[2 * k :] = ge
        for i in range(3 * k):
            d[i] = max(x[i], _SCALE_FLOOR) ** 2
        # stationarity: the unit scaled step, measured in the scaled metric
        _project(x - d * g, d, act, k, x_new)
        pg = 0.0
        for i in range(3 * k):
            if act[i]:
                pg = max(pg, abs(x_new[i] - x[i]) / np.sqrt(d[i]))
        if pg <= gtol:
            break
        if gradients == 1:
            alpha = _FIRST_STEP / max(pg, 1e-300)
        else:
            sy = _dot(step, g - g_old)
            alpha = min(max(_dot(step, step / d) / sy, 1e-12), 1e12) if sy > 0.0 else alpha * 4.0
        accepted = False
        for _ in range(_MAX_BACKTRACKS):
            _project(x - alpha * d * g, d, act, k, x_new)
            for i in range(3 * k):
                step[i] = x_new[i] - x[i]
            decrease = _dot(g, step)
            if decrease >= 0.0:
                break  # the step no longer moves: converged to round-off
            parts_n, uc, _, _, _ = _evaluate_kernel(
                split, ul_sub, dl_sub, x_new[:k] * p_max, x_new[k : 2 * k] * q_max,
                x_new[2 * k :], equal, oma, ul_gain, dl_gain, num_layers, device_flops,
                upload_bits, total_flops, result_bits, t_ref, e_ref, consts,
            )  # fmt: skip
            evaluations += 1
            f_new = _slot_cost(parts_n, uc, rows[7], rows[8], deadline, mu)
            if f_new <= hist.max() + _ARMIJO * decrease:
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            break
        x[:] = x_new
        parts = parts_n
        g_old[:] = g
        small = abs(f - f_new) <= ftol * max(1.0, abs(f))
        f = f_new
        hist[gradients % _MEMORY] = f
        if f < best_f:
            best_f = f
            best_x[:] = x
        if small:
            break
    x = best_x
    f = best_f
    return x[:k] * p_max, x[k : 2 * k] * q_max, x[2 * k :].copy(), f, gradients, evaluations


@njit(cache=True)
def _cost_kernel(
    split: np.ndarray,
    ul_sub: np.ndarray,
    dl_sub: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    e: np.ndarray,
    with_share: bool,
    oma: bool,
    ul_gain: np.ndarray,
    dl_gain: np.ndarray,
    num_layers: np.ndarray,
    device_flops: np.ndarray,
    upload_bits: np.ndarray,
    total_flops: np.ndarray,
    result_bits: np.ndarray,
    t_ref: np.ndarray,
    e_ref: np.ndarray,
    consts: np.ndarray,
    rows: np.ndarray,
    deadline: float,
    mu: float,
) -> float:
    parts, uc, _, _, _ = _evaluate_kernel(
        split, ul_sub, dl_sub, p, q, e, not with_share, oma, ul_gain, dl_gain, num_layers,
        device_flops, upload_bits, total_flops, result_bits, t_ref, e_ref, consts,
    )  # fmt: skip
    return _slot_cost(parts, uc, rows[7], rows[8], deadline, mu)


# ------------------------------------------------------------------ Python side
class SlotProblem:
    """One slot bound to the compiled core: descents and costs for discrete choices.

    Args:
        slot: The realization every descent and cost refers to.
    """

    def __init__(self, slot: Slot) -> None:
        sc = slot.scenario
        self.slot = slot
        self.num_users = sc.num_users
        self.num_subchannels = sc.num_subchannels
        self.num_layers = slot.num_layers
        self.with_share = sc.allocate_edge_share
        self.p_max = sc.user_max_power_w
        self.q_max = sc.bs_max_power_w
        deadline = math.inf if sc.deadline_s is None else float(sc.deadline_s)
        self._slot_args = (
            self.with_share,
            sc.access == "oma",
            *kernel_slot_arguments(slot),
            _ROWS,
            deadline,
            float(sc.miss_penalty),
        )
        self._grad_args = (
            self.p_max,
            self.q_max,
            float(sc.sic_residual),
            float(sc.latency_weight),
            float(sc.latency_cap_s),
            float(sc.failure_penalty),
        )

    def descend(
        self,
        split: np.ndarray,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        start: tuple[np.ndarray, np.ndarray, np.ndarray],
        gtol: float,
        ftol: float,
        max_iter: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int, int]:
        """:func:`descend` on this slot: ``(p, q, e, cost, gradients, evaluations)``."""
        return descend(
            split, ul_sub, dl_sub, *start, *self._slot_args, *self._grad_args,
            gtol, ftol, max_iter,
        )  # fmt: skip

    def cost(
        self,
        split: np.ndarray,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        point: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> float:
        """The slot cost at a point, without building an :class:`Allocation`."""
        return _cost_kernel(split, ul_sub, dl_sub, *point, *self._slot_args)

    def default_start(
        self, split: np.ndarray, scale: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``scale`` x (max power, equal BS power, equal edge shares) for offloading users."""
        active = split < self.num_layers
        m = max(int(active.sum()), 1)
        return (
            np.where(active, scale * self.p_max, 0.0),
            np.where(active, scale * self.q_max / m, 0.0),
            np.where(active, 1.0 / m, 0.0),
        )

    def allocation(
        self,
        split: np.ndarray,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        point: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> Allocation:
        """The :class:`Allocation` of a point (edge shares only if the scenario has them)."""
        p, q, e = point
        active = split < self.num_layers
        return Allocation(
            split=split.copy(),
            ul_subchannel=ul_sub.copy(),
            dl_subchannel=dl_sub.copy(),
            ul_power=np.where(active, np.minimum(p, self.p_max), 0.0),
            dl_power=np.where(active, q, 0.0),
            edge_share=np.where(active, e, 0.0) if self.with_share else None,
        )

    def final_cost(self, allocation: Allocation, kernel_cost: float) -> float:
        """``evaluate(slot, allocation).cost``, checked against the core's own value.

        A mismatch means a stale numba cache (numba does not invalidate a cached
        function when a function it calls in another file changes).
        """
        cost = evaluate(self.slot, allocation).cost
        if not math.isclose(cost, kernel_cost, rel_tol=1e-9, abs_tol=1e-12):
            raise RuntimeError(
                f"solver core cost {kernel_cost!r} != evaluate() cost {cost!r}: the numba "
                "cache is stale; delete the __pycache__ folders of noma_split_env and agents"
            )
        return cost


class GradientDescent(BaseAgent):
    """Coordinate search over users with a projected-GD descent per discrete candidate.

    The search of the module docstring; ``warm_start`` chooses Li-GD (True: each
    split's descent starts from the previous split's optimum) or GD (False: every
    descent starts from the default point, max power and equal budgets).

    Args:
        warm_start: Loop-iteration warm start (Li-GD) or cold starts (GD).
        gtol: Stop a descent when the scaled projected-gradient step (module
            docstring; the cost's sensitivity to relative changes) is at most this.
        ftol: Stop a descent when a step changes the cost by at most
            ``ftol max(1, |C|)``.
        max_iter: Gradients per descent, at most.
        max_sweeps: Sweeps over the users, at most.
        sweep_tol: A user's new choice must lower the slot cost by more than
            ``sweep_tol max(1, |C|)`` to replace the incumbent.
        starts: Starting points of the sweeps, from ``"joint"`` (all splits looped
            together), ``"local"`` (all-local) and ``"edge"`` (all at split 0); the
            best result wins.
        max_swaps: Swap partners tried per user update for the split and for each
            link's subchannel (0: moves only).
    """

    name = "gradient-descent"

    def __init__(
        self,
        warm_start: bool = True,
        gtol: float = 1e-5,
        ftol: float = 1e-10,
        max_iter: int = 500,
        max_sweeps: int = 10,
        sweep_tol: float = 1e-7,
        starts: tuple[str, ...] = ("joint",),
        max_swaps: int = 4,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(warm_start, bool):
            raise ValueError(f"{owner}.warm_start: got {warm_start!r}, allowed: True or False")
        for name, value in (("gtol", gtol), ("ftol", ftol), ("sweep_tol", sweep_tol)):
            check_number(owner, name, value, lo=0.0)
        check_number(owner, "max_iter", max_iter, lo=1, integer=True)
        check_number(owner, "max_sweeps", max_sweeps, lo=1, integer=True)
        self.warm_start = warm_start
        self.gtol = float(gtol)
        self.ftol = float(ftol)
        self.max_iter = int(max_iter)
        self.max_sweeps = int(max_sweeps)
        self.sweep_tol = float(sweep_tol)
        options = ("joint", "local", "edge")
        if (
            not isinstance(starts, (tuple, list))
            or not starts
            or any(x not in options for x in starts)
        ):
            raise ValueError(
                f"{owner}.starts: got {starts!r}, allowed: a non-empty tuple of {options}"
            )
        self.starts = tuple(starts)
        check_number(owner, "max_swaps", max_swaps, lo=0, integer=True)
        self.max_swaps = int(max_swaps)

    # ------------------------------------------------------------------ search
    def _act(self, slot: Slot) -> Allocation:
        prob = SlotProblem(slot)
        k_users = prob.num_users
        self._counts = [0, 1, 0]  # gradients, evaluations, descents
        self._per_split = [np.zeros(int(n) + 1, dtype=np.int64) for n in slot.num_layers]
        self._joint_iterations = np.zeros(int(slot.num_layers.max()), dtype=np.int64)
        zeros = (np.zeros(k_users), np.zeros(k_users), np.zeros(k_users))
        local = slot.num_layers.copy()
        ul = np.argmax(slot.ul_gain, axis=1).astype(np.int64)
        dl = np.argmax(slot.dl_gain, axis=1).astype(np.int64)
        local_cost = prob.cost(local, ul, dl, zeros)
        best = None
        history = []
        sweeps = []
        start_costs = []
        for start in self.starts:
            if start == "local":
                state = (local_cost, local, ul, dl, zeros)
            elif start == "edge":
                edge = np.zeros(k_users, dtype=np.int64)
                p, q, e, c, g, ev = prob.descend(
                    edge, ul, dl, prob.default_start(edge), self.gtol, self.ftol, self.max_iter
                )
                self._count(g, ev)
                state = (c, edge, ul, dl, (p, q, e))
            else:
                state = self._joint_loop(prob, ul, dl)
            start_costs.append(state[0])
            state, run_history, run_sweeps = self._sweeps(prob, state)
            history.append(run_history)
            sweeps.append(run_sweeps)
            if best is None or state[0] < best[0]:
                best = state
        cost, split, ul, dl, point = best
        # polish: the winner's continuous variables to a 100x tighter tolerance
        p, q, e, c, g, ev = prob.descend(
            split, ul, dl, point, _POLISH * self.gtol, self.ftol, self.max_iter
        )
        self._count(g, ev)
        if c < cost:
            cost, point = c, (p, q, e)
        if local_cost < cost:  # never worse than all-local
            cost, split, ul, dl, point = local_cost, local, ul, dl, zeros
        allocation = prob.allocation(split, ul, dl, point)
        final = prob.final_cost(allocation, cost)
        gradients, evaluations, descents = self._counts
        self.stats.iterations = gradients
        self.stats.evaluations = evaluations + 1
        self.stats.extra = {
            "iterations_per_split": self._per_split,
            "joint_iterations": self._joint_iterations,
            "descents": descents,
            "sweeps": sweeps,
            "start_cost": min(start_costs),
            "start_costs": start_costs,
            "cost": final,
            "cost_history": history,
        }
        return allocation

    def _count(self, gradients: int, evaluations: int) -> None:
        self._counts[0] += gradients
        self._counts[1] += evaluations
        self._counts[2] += 1

    def _joint_loop(self, prob: SlotProblem, ul: np.ndarray, dl: np.ndarray) -> tuple[Any, ...]:
        """All users' splits looped together, depth ``t = 0..L_max - 1`` (``s_k = t L_k /
        L_max`` rounded, as the env decodes a split), each descent warm-started from the
        previous depth's optimum; the best of these all-offloading points."""
        levels = prob.num_layers
        l_max = int(levels.max())
        k_users = prob.num_users
        point = (np.zeros(k_users), np.zeros(k_users), np.zeros(k_users))  # revived
        best: tuple[Any, ...] = (math.inf,)
        iterations = np.zeros(l_max, dtype=np.int64)
        for t in range(l_max):
            split = (2 * t * levels + l_max) // (2 * l_max)
            start = point if self.warm_start else prob.default_start(split)
            p, q, e, c, g, ev = prob.descend(
                split, ul, dl, start, self.gtol, self.ftol, self.max_iter
            )
            self._count(g, ev)
            iterations[t] = g
            point = (p, q, e)
            if c < best[0]:
                best = (c, split, ul, dl, point)
        self._joint_iterations = iterations
        return best

    def _sweeps(
        self, prob: SlotProblem, state: tuple[Any, ...]
    ) -> tuple[tuple[Any, ...], list[float], int]:
        """Coordinate sweeps from ``state = (cost, split, ul, dl, point)`` until ``K``
        consecutive user updates change nothing (each user is then at its best given
        the others), or ``max_sweeps`` sweeps."""
        cost, split, ul, dl, point = state
        history = [cost]
        k_users = prob.num_users
        unchanged = 0
        updates = 0
        while unchanged < k_users and updates < self.max_sweeps * k_users:
            k = updates % k_users
            updates += 1
            best = self._best_for_user(prob, k, split, ul, dl, point, cost)
            if best[0] < cost - self.sweep_tol * max(1.0, abs(cost)):
                cost, split, ul, dl, point = best
                unchanged = 1  # user k is at its best; the others must be re-checked
            else:
                unchanged += 1
            history.append(cost)
        sweeps = -(-updates // k_users)
        return (cost, split, ul, dl, point), history, sweeps

    def _start(
        self,
        prob: SlotProblem,
        split: np.ndarray,
        ul: np.ndarray,
        dl: np.ndarray,
        warm: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The start of a descent: GD the default point; Li-GD the warm point, unless the
        default point already costs less (two cost evaluations, no gradient): a warm
        chain that drifted into a poor region (a near-zero power, the wrong user
        favoured on a subchannel) does not carry it on to the next candidate."""
        cold = prob.default_start(split)
        if not self.warm_start:
            return cold
        *w, c_warm, _, ev_warm = prob.descend(split, ul, dl, warm, self.gtol, self.ftol, 0)
        *d, c_cold, _, ev_cold = prob.descend(split, ul, dl, cold, self.gtol, self.ftol, 0)
        self._counts[1] += ev_warm + ev_cold
        return tuple(w) if c_warm <= c_cold else tuple(d)

    def _descend(
        self,
        prob: SlotProblem,
        k: int,
        split: np.ndarray,
        ul: np.ndarray,
        dl: np.ndarray,
        warm: tuple[np.ndarray, np.ndarray, np.ndarray],
        chain: bool = False,
    ) -> tuple[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if chain and self.warm_start:  # the split loop: the previous split's optimum
            start = warm
        else:
            start = self._start(prob, split, ul, dl, warm)
        p, q, e, cost, gradients, evaluations = prob.descend(
            split, ul, dl, start, self.gtol, self.ftol, self.max_iter
        )
        self._count(gradients, evaluations)
        self._per_split[k][split[k]] += gradients
        return cost, (p, q, e)

    def _best_for_user(
        self,
        prob: SlotProblem,
        k: int,
        split: np.ndarray,
        ul: np.ndarray,
        dl: np.ndarray,
        point: tuple[np.ndarray, np.ndarray, np.ndarray],
        cost: float,
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """User k's best (split, subchannels) with the others fixed; continuous re-solved."""
        best = (cost, split, ul, dl, point)
        levels = int(prob.num_layers[k])
        # 1. split loop, layer by layer; user k enters at the default values
        #    (zeros are revived by the core), the chain carries the previous optimum
        chain = (point[0].copy(), point[1].copy(), point[2].copy())
        if split[k] == levels:
            for x in chain:
                x[k] = 0.0
        for s in range(levels + 1):
            cand = split.copy()
            cand[k] = s
            if s == levels:  # local: re-descend the others from the incumbent
                chain = tuple(x.copy() for x in point)
                for x in chain:
                    x[k] = 0.0
            c, chain = self._descend(prob, k, cand, ul, dl, chain, chain=True)
            if c < best[0]:
                best = (c, cand, ul, dl, chain)
        # 1b. split swaps with users of the same model (their roles exchange)
        for j in _split_swap_partners(prob.slot, split, ul, k, self.max_swaps):
            cand = split.copy()
            cand[k], cand[j] = split[j], split[k]
            start = tuple(x.copy() for x in point)
            for x in start:
                x[k], x[j] = x[j], x[k]
            c, x = self._descend(prob, k, cand, ul, dl, start)
            if c < best[0]:
                best = (c, cand, ul, dl, x)
        # 2. subchannel moves at the best split: move user k, or swap it with a user
        #    on another subchannel
        if best[1][k] < levels and prob.num_subchannels > 1:
            for uplink in (True, False):
                base = best
                current = base[2] if uplink else base[3]
                active = base[1] < prob.num_layers
                gain = prob.slot.ul_gain if uplink else prob.slot.dl_gain
                for sub in _subchannel_moves(gain, current, k, active, self.max_swaps):
                    cand_ul, cand_dl = (sub, base[3]) if uplink else (base[2], sub)
                    c, x = self._descend(prob, k, base[1], cand_ul, cand_dl, base[4])
                    if c < best[0]:
                        best = (c, base[1], cand_ul, cand_dl, x)
        return best


def _subchannel_moves(
    gain: np.ndarray, current: np.ndarray, k: int, active: np.ndarray, max_swaps: int
) -> list[np.ndarray]:
    """Subchannel vectors one move away from ``current``: user k on each other
    subchannel, then user k swapping subchannels with the ``max_swaps`` active users of
    other subchannels that gain most from it (largest
    ``log(g_k[n_j] / g_k[n_k]) + log(g_j[n_k] / g_j[n_j])``; ties by index)."""
    moves = []
    for n in range(gain.shape[1]):
        if n != current[k]:
            sub = current.copy()
            sub[k] = n
            moves.append(sub)
    partners = np.flatnonzero(active & (current != current[k]))
    if max_swaps > 0 and partners.size:
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.log(gain[k, current[partners]] / gain[k, current[k]]) + np.log(
                gain[partners, current[k]] / gain[partners, current[partners]]
            )
        order = np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")
        for j in partners[order[:max_swaps]]:
            sub = current.copy()
            sub[k], sub[j] = current[j], current[k]
            moves.append(sub)
    return moves


def _split_swap_partners(
    slot: Slot, split: np.ndarray, ul: np.ndarray, k: int, max_swaps: int
) -> np.ndarray:
    """Users of k's model at another split, at most ``max_swaps``: those whose uplink
    gain differs most from k's (a swap matters most between unlike channels)."""
    if max_swaps == 0:
        return np.zeros(0, dtype=np.int64)
    same = np.flatnonzero((slot.model_index == slot.model_index[k]) & (split != split[k]))
    own = slot.ul_gain[np.arange(slot.num_users), ul]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.abs(np.log(own[same] / own[k]))
    order = np.argsort(-np.nan_to_num(score, nan=np.inf), kind="stable")
    return same[order[:max_swaps]]


class LiGD(GradientDescent):
    """Li-GD (Yuan et al., arXiv 2312.15850): the split loop warm-starts each descent.

    Keyword arguments are those of :class:`GradientDescent` (``warm_start`` is True).
    """

    name = "li-gd"

    def __init__(self, **kwargs: Any) -> None:
        _no_warm_start_kwarg(type(self).__name__, kwargs)
        super().__init__(warm_start=True, **kwargs)


class ColdGD(GradientDescent):
    """GD: the same search with every descent started cold (the baseline of Li-GD).

    Keyword arguments are those of :class:`GradientDescent` (``warm_start`` is False).
    """

    name = "gd"

    def __init__(self, **kwargs: Any) -> None:
        _no_warm_start_kwarg(type(self).__name__, kwargs)
        super().__init__(warm_start=False, **kwargs)


def _no_warm_start_kwarg(owner: str, kwargs: dict[str, Any]) -> None:
    if "warm_start" in kwargs:
        raise ValueError(
            f"{owner}.warm_start: got {kwargs['warm_start']!r}, allowed: not given (fixed "
            "by the solver; use GradientDescent(warm_start=...) to choose)"
        )


register("li-gd", LiGD)
register("gd", ColdGD)

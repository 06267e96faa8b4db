"""Exhaustive search: the optimum of small instances, the reference for Li-GD's gap.

Every discrete combination is enumerated: every split vector ``s in prod_k {0..L_k}``
and, for the users that offload, every uplink and downlink subchannel (users that run
locally send nothing, so their subchannels do not matter and are set to 0). There are

    prod_k (1 + L_k N^2)

combinations. For each, the continuous variables (powers, and edge shares when the
scenario allocates them) are solved by the projected gradient descent of
:mod:`agents.li_gd` to a tight tolerance from several starts: every
offloading user at ``scale x P_user_max`` and ``scale x P_bs_max / m`` for each
``scale`` in ``start_scales`` (edge shares equal), so that a continuous problem that
is not convex (NOMA interference) is not judged by one basin. The best point over all
combinations and starts is returned.

Pruning (exact, branch-and-bound style): the local-computing terms of the cost, and
the edge-computing terms under equal edge shares, depend on the split vector alone,
and all other terms are >= 0, so they bound the cost of every allocation with that
split vector from below (:func:`compute_bound`). Split vectors are visited in order of
increasing bound, and the search stops at the first bound above the best cost found:
the remaining combinations cannot win.

Size limit: an instance with more than ``max_combinations`` combinations (default
200 000; the ``tiny`` preset has 144, ``default`` about 4.3e7) raises ``ValueError``
instead of running for hours.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from agents.base import BaseAgent, register
from agents.li_gd import SlotProblem
from noma_split_env import Allocation, Slot, evaluate
from noma_split_env.checks import check, check_number, is_real

__all__ = ["Exhaustive", "compute_bound", "num_combinations"]

MAX_COMBINATIONS = 200_000
"""Default size limit of :class:`Exhaustive` [discrete combinations]."""


def num_combinations(slot: Slot) -> int:
    """``prod_k (1 + L_k N^2)``: the discrete combinations exhaustive search visits."""
    n2 = slot.num_subchannels**2
    return math.prod(1 + int(n) * n2 for n in slot.num_layers)


class Exhaustive(BaseAgent):
    """Every split and subchannel combination, continuous variables by tight descents.

    Args:
        max_combinations: Refuse (``ValueError``) slots with more discrete
            combinations than this.
        gtol: Projected-gradient tolerance of each descent (scaled, normalized).
        ftol: Relative cost-decrease tolerance of each descent.
        max_iter: Gradients per descent, at most.
        start_scales: Power scales of the starts (each in ``(0, 1]``).
    """

    name = "exhaustive"

    def __init__(
        self,
        max_combinations: int = MAX_COMBINATIONS,
        gtol: float = 1e-9,
        ftol: float = 1e-15,
        max_iter: int = 2000,
        start_scales: tuple[float, ...] = (1.0, 0.1, 0.01),
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        check_number(owner, "max_combinations", max_combinations, lo=1, integer=True)
        check_number(owner, "gtol", gtol, lo=0.0)
        check_number(owner, "ftol", ftol, lo=0.0)
        check_number(owner, "max_iter", max_iter, lo=1, integer=True)
        scales = tuple(start_scales) if isinstance(start_scales, (tuple, list)) else ()
        check(
            owner,
            "start_scales",
            start_scales,
            len(scales) >= 1 and all(is_real(v) and 0 < v <= 1 for v in scales),
            "a non-empty tuple of numbers in (0, 1]",
        )
        self.max_combinations = int(max_combinations)
        self.gtol = float(gtol)
        self.ftol = float(ftol)
        self.max_iter = int(max_iter)
        self.start_scales = tuple(float(v) for v in scales)

    def _act(self, slot: Slot) -> Allocation:
        total = num_combinations(slot)
        if total > self.max_combinations:
            raise ValueError(
                f"Exhaustive.max_combinations: the slot has {total} discrete combinations "
                f"(K={slot.num_users}, N={slot.num_subchannels}, L={slot.num_layers.tolist()}), "
                f"allowed: at most {self.max_combinations}; use a smaller scenario (e.g. the "
                "'tiny' preset) or raise max_combinations"
            )
        prob = SlotProblem(slot)
        k_users = prob.num_users
        n_sub = prob.num_subchannels
        best_cost = math.inf
        best: tuple[Any, ...] = ()
        gradients = evaluations = descents = visited = 0
        splits = [
            np.array(s, dtype=np.int64)
            for s in itertools.product(*(range(int(n) + 1) for n in slot.num_layers))
        ]
        bounds = np.array([compute_bound(slot, split) for split in splits])
        for i in np.argsort(bounds, kind="stable"):
            if bounds[i] > best_cost + 1e-12 * abs(best_cost):
                break  # this split and every later one cannot beat the incumbent
            split = splits[i]
            users = np.flatnonzero(split < slot.num_layers)
            starts = [prob.default_start(split, scale) for scale in self.start_scales]
            for subs in itertools.product(range(n_sub), repeat=2 * users.size):
                visited += 1
                ul = np.zeros(k_users, dtype=np.int64)
                dl = np.zeros(k_users, dtype=np.int64)
                ul[users] = subs[: users.size]
                dl[users] = subs[users.size :]
                for start in starts if users.size else starts[:1]:
                    run = prob.descend(split, ul, dl, start, self.gtol, self.ftol, self.max_iter)
                    gradients += run.gradients
                    evaluations += run.evaluations
                    descents += 1
                    if run.cost < best_cost:
                        best_cost = run.cost
                        best = (split, ul, dl, run.point)
        allocation = prob.allocation(*best)
        final = prob.final_cost(allocation, best_cost)
        self.stats.iterations = gradients
        self.stats.evaluations = evaluations + len(splits) + 1
        self.stats.extra = {
            "combinations": total,
            "solved": visited,
            "descents": descents,
            "cost": final,
        }
        return allocation


def compute_bound(slot: Slot, split: np.ndarray) -> float:
    """A lower bound on the slot cost of every allocation with this split vector.

    The cost's local-computing terms (and edge-computing terms under equal shares)
    depend on the splits alone, and every other term (uploads, downloads, misses) is
    >= 0: the bound is those terms of ``evaluate`` at zero powers.
    """
    sc = slot.scenario
    zeros = np.zeros(sc.num_users)
    subs = np.zeros(sc.num_users, dtype=np.int64)
    out = evaluate(slot, Allocation(split, subs, subs, zeros, zeros), check=False)
    latency, energy = out.t_local, out.e_local
    if not sc.allocate_edge_share:
        latency, energy = latency + out.t_edge, energy + out.e_edge
    lam = sc.latency_weight
    return float(np.mean(lam * (latency / slot.t_ref) + (1.0 - lam) * (energy / slot.e_ref)))


register("exhaustive", Exhaustive)

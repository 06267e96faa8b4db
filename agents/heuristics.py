"""Baseline agents: all-local, all-edge, random and greedy (Neurosurgeon-style) splitting.

The deterministic heuristics share one rule that turns a vector of split points into a
full allocation, :func:`allocation_for_splits`:

* a user that offloads (``s_k < L_k``) transmits at full power ``P_user_max`` and gets
  an equal share ``P_bs_max / m`` of the BS power and ``1 / m`` of the edge server,
  ``m`` being the number of offloading users;
* a user that runs everything locally (``s_k = L_k``) gets zero powers and no share;
* the offloading users are spread over the subchannels by
  :func:`balanced_subchannels`, separately for the uplink (by uplink gain) and the
  downlink (by downlink gain).

So ``all-local`` is the rule at ``s = L`` and ``all-edge`` the rule at ``s = 0``, and
``greedy``, a descent on the split vector under the same rule that starts from the
better of the two, never costs more than either (tested).

References: Y. Kang et al., "Neurosurgeon: Collaborative Intelligence Between the
Cloud and Mobile Edge", ASPLOS 2017 (per-DNN choice of the split layer by enumerating
the layers); Z. Ding et al., "Application of Non-Orthogonal Multiple Access in LTE and
5G Networks", IEEE Commun. Mag. 2017 (pairing users of distinct channel gains on one
subchannel).
"""

from __future__ import annotations

import numpy as np

from agents.base import BaseAgent, register
from noma_split_env import Allocation, Slot, evaluate
from noma_split_env.checks import check_number

__all__ = [
    "AllEdge",
    "AllLocal",
    "Greedy",
    "RandomAgent",
    "allocation_for_splits",
    "balanced_subchannels",
]


def balanced_subchannels(gain: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Subchannel of each user: every subchannel gets a mix of strong and weak users.

    The active users are ranked by their best gain ``max_n gain[k, n]``, strongest
    first (ties by user index), and dealt in rounds of N: round r holds ranks
    ``rN .. rN + N - 1``. Within a round, users in rank order take their best
    subchannel among those not yet taken in that round. Each subchannel thus receives
    one user of every round (the last round may be partial): loads differ by at most
    one user, and users of very different gains share a subchannel, the pairing NOMA
    profits from, while each user still picks a good subchannel for its own fading.
    Inactive users get subchannel 0 (they do not transmit, so it does not matter).

    Args:
        gain: ``[K, N]`` linear gains (uplink or downlink).
        active: ``[K]`` bool, users that transmit.

    Returns:
        ``[K]`` int64 subchannel indices in ``0..N-1``.
    """
    n = gain.shape[1]
    out = np.zeros(gain.shape[0], dtype=np.int64)
    users = np.flatnonzero(active)
    ranked = users[np.argsort(-gain[users].max(axis=1), kind="stable")]
    for start in range(0, ranked.size, n):
        free = np.ones(n, dtype=bool)
        for k in ranked[start : start + n]:
            choice = int(np.argmax(np.where(free, gain[k], -np.inf)))
            out[k] = choice
            free[choice] = False
    return out


def allocation_for_splits(slot: Slot, split: np.ndarray) -> Allocation:
    """The allocation the deterministic heuristics give to the split vector ``split``.

    Offloading users (``s_k < L_k``): uplink power ``P_user_max``, downlink power
    ``P_bs_max / m`` and (when the scenario lets the agent allocate it) edge share
    ``1 / m``, ``m`` = number of offloading users; subchannels by
    :func:`balanced_subchannels`. Local users: zero powers and share. When the
    scenario does not allocate edge shares the allocation's ``edge_share`` is None,
    which :func:`~noma_split_env.evaluate` also resolves to ``1 / m``.
    """
    sc = slot.scenario
    split = np.asarray(split, dtype=np.int64)
    active = split < slot.num_layers
    equal = active / max(int(active.sum()), 1)
    return Allocation(
        split=split.copy(),
        ul_subchannel=balanced_subchannels(slot.ul_gain, active),
        dl_subchannel=balanced_subchannels(slot.dl_gain, active),
        ul_power=sc.user_max_power_w * active.astype(np.float64),
        dl_power=sc.bs_max_power_w * equal,
        edge_share=equal if sc.allocate_edge_share else None,
    )


class AllLocal(BaseAgent):
    """Everything on the device: the reference of the normalized cost (cost exactly 1)."""

    name = "all-local"

    def _act(self, slot: Slot) -> Allocation:
        return Allocation.all_local(slot)


class AllEdge(BaseAgent):
    """Everything on the edge: split 0 for every user, the raw input is uploaded.

    Every user transmits at ``P_user_max``; the BS power ``P_bs_max`` and the edge
    server are shared equally; subchannels by :func:`balanced_subchannels` (rank by
    best gain, deal in rounds, each user takes its best free subchannel of the round).
    """

    name = "all-edge"

    def _act(self, slot: Slot) -> Allocation:
        return allocation_for_splits(slot, np.zeros(slot.num_users, dtype=np.int64))


class RandomAgent(BaseAgent):
    """A uniformly random valid allocation: the floor any solver must beat.

    Per user, independently: split uniform on ``0..L_k``, uplink and downlink
    subchannels uniform on ``0..N-1``. Offloading users (``s_k < L_k``) get an uplink
    power uniform on ``[0, P_user_max]``, a downlink power vector uniform on the
    simplex ``{q >= 0, sum q = P_bs_max}`` over the offloading users (normalized
    exponentials, i.e. Dirichlet(1, ..., 1)), and, if ``scenario.allocate_edge_share``,
    edge shares uniform on the simplex ``sum = 1`` likewise; local users get zeros.
    Every slot consumes the same number of draws, so the stream does not depend on
    the outcomes.

    Args:
        seed: Seed of the agent's generator; None = fresh OS entropy.
    """

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        """Reseed with ``seed``; with None the generator continues its stream."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def _act(self, slot: Slot) -> Allocation:
        sc, rng = slot.scenario, self.rng
        k, n = sc.num_users, sc.num_subchannels
        split = rng.integers(0, slot.num_layers + 1, size=k)
        ul_sub = rng.integers(0, n, size=k)
        dl_sub = rng.integers(0, n, size=k)
        active = split < slot.num_layers
        ul_power = sc.user_max_power_w * rng.random(k) * active
        dl_power = sc.bs_max_power_w * _simplex(rng.standard_exponential(k) * active)
        share = _simplex(rng.standard_exponential(k) * active)
        return Allocation(
            split=split,
            ul_subchannel=ul_sub,
            dl_subchannel=dl_sub,
            ul_power=ul_power,
            dl_power=dl_power,
            edge_share=share if sc.allocate_edge_share else None,
        )


def _simplex(weights: np.ndarray) -> np.ndarray:
    """``weights / sum(weights)``, all zeros when the sum is 0."""
    total = weights.sum()
    return weights / total if total > 0 else weights


class Greedy(BaseAgent):
    """Neurosurgeon-style split selection by coordinate descent over the users.

    Every candidate is the split vector ``s`` turned into an allocation by
    :func:`allocation_for_splits` (offloading users at full power, equal downlink
    power and edge shares, balanced subchannels) and scored by the slot cost of
    :func:`~noma_split_env.evaluate`, so interference and the sharing of BS power and
    edge server are counted. The descent:

    1. start from the cheaper of all-local (``s = L``) and all-edge (``s = 0``);
    2. sweep the users in index order; for user k enumerate every split
       ``0..L_k`` with the other users' splits fixed and move to the cheapest one if
       it lowers the slot cost strictly;
    3. repeat the sweep until one changes nothing (a local minimum for single-user
       moves) or ``max_sweeps`` sweeps have run.

    The slot cost never increases, so the result costs at most
    ``min(cost(all-local), cost(all-edge))``. ``stats.iterations`` counts sweeps and
    ``stats.evaluations`` the cost evaluations (2 to start, ``sum_k L_k`` per sweep).

    Args:
        max_sweeps: Maximum number of sweeps (>= 1); 1 is a single Neurosurgeon pass.
    """

    name = "greedy"

    def __init__(self, max_sweeps: int = 10) -> None:
        super().__init__()
        self.max_sweeps = int(check_number("Greedy", "max_sweeps", max_sweeps, lo=1, integer=True))

    def _cost(self, slot: Slot, split: np.ndarray) -> float:
        self.stats.evaluations += 1
        # valid by construction: skip the domain check in the inner loop
        return evaluate(slot, allocation_for_splits(slot, split), check=False).cost

    def _act(self, slot: Slot) -> Allocation:
        num_layers = slot.num_layers
        local = num_layers.astype(np.int64)
        edge = np.zeros_like(local)
        local_cost, edge_cost = self._cost(slot, local), self._cost(slot, edge)
        split, best = (edge, edge_cost) if edge_cost < local_cost else (local, local_cost)
        split = split.copy()
        for _ in range(self.max_sweeps):
            self.stats.iterations += 1
            changed = False
            for k in range(slot.num_users):
                start = current = int(split[k])
                for s in range(int(num_layers[k]) + 1):
                    if s == start:  # its cost is `best`
                        continue
                    split[k] = s
                    cost = self._cost(slot, split)
                    if cost < best:
                        best, current, changed = cost, s, True
                split[k] = current
            if not changed:
                break
        self.stats.extra["cost"] = best
        return allocation_for_splits(slot, split)


register("all-local", AllLocal)
register("all-edge", AllEdge)
register("random", RandomAgent)
register("greedy", Greedy)

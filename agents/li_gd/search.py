"""The discrete search of Li-GD and GD: splits, subchannels and the coordinate sweeps.

The method is described in the package docstring (:mod:`agents.li_gd`). The search
state is a :class:`Candidate` (a discrete choice, its continuous :class:`Point` and
its cost); every candidate's continuous variables come from one descent of the core
(:class:`~agents.li_gd.problem.SlotProblem`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.base import BaseAgent, register
from agents.li_gd.candidates import (
    displacements,
    refill_partners,
    split_swap_partners,
    subchannel_moves,
    with_relabelled,
)
from agents.li_gd.core import START_CHEAPER, START_DEFAULT, START_GIVEN
from agents.li_gd.problem import Contest, Point, SlotProblem
from noma_split_env import Allocation, Slot
from noma_split_env.checks import check_number

__all__ = [
    "COLD_GIVE_UP_AFTER",
    "LOCAL_START_MAX_USERS",
    "PAIR_ENTRY_MAX_USERS",
    "RECHECK_ALL_MAX_USERS",
    "SEARCH_PARTS",
    "SWAP_ENTRY_MAX_USERS",
    "WARM_GIVE_UP_AFTER",
    "Candidate",
    "ColdGD",
    "GradientDescent",
    "LiGD",
]

LOCAL_START_MAX_USERS = 8
"""Cells of at most this many users are searched from the all-local start too (by
default). On ``default`` (K = 4) the joint start alone ended more than 0.5% above a
multi-start search on 7 of 200 slots, with the all-local start as well on 1, at twice
the time; on ``dense`` (K = 16) the second start lowered the mean cost by 0.13% at
twice the time (6 slots), on one ``massive`` slot (K = 64) by 0.1% at six times."""
PAIR_ENTRY_MAX_USERS = 8
"""Cells of at most this many users try the pair entry (two local users starting to
offload together) by default. It exists for the all-local region, where one user
entering alone can lose and two together win (equal edge shares); larger cells start
from the joint start alone, with most users offloading, and there it almost never
pays: it won 2 of its 76 tries on 6 ``dense`` slots (K = 16) and 2 of 110 on one
``massive`` slot (K = 64), yet took 42% and 60% of Li-GD's time; without it the mean
cost moved by +0.04% (``dense``, 10 slots of seed 0), +0.09% (10 of seed 100) and
-0.04% (``massive``, 2 slots) (``benchmarks/bench_solvers.py``)."""
SWAP_ENTRY_MAX_USERS = 8
"""Cells of at most this many users try the swap entry (by default): a local user's
subchannel moves run a second time, from its best split swap with an offloading
partner of its model (it takes the partner's split, the partner goes local; the
partner's subchannels need not suit it). On the 400 ``default`` slots of seeds 1
and 2 it closed the one gap above 0.5% (slot 141 of seed 2: 2.14% above the
multi-start cost) at 0.4% more gradients, no slot's cost higher. In larger cells
nearly every local user has such partners, and it added 11% to Li-GD's gradients
on ``dense`` (10 slots) and 10% on ``massive`` (2), the mean costs within 0.02%."""
RECHECK_ALL_MAX_USERS = 8
"""In cells of at most this many users an accepted user update puts every user back
on the list to check (by default); in larger ones only the users it touched
(:meth:`GradientDescent._recheck`). On 10 ``dense`` slots (K = 16) that cut Li-GD's
mean time by 16% at the same mean cost (to 1e-6); on 2 ``massive`` slots (K = 64) by
11%, the cost the same (commit 2b495af)."""
WARM_GIVE_UP_AFTER = 4
"""Li-GD's ``give_up_after``. A warm-started candidate starts near the incumbent's
optimum, so its first gradients already tell whether it can win. On 200 ``default``
slots (seeds 1000..1199) Li-GD took 1979, 1915, 1854 and 1793 gradients a slot with
5, 4, 3 and 2, the costs the same to 1e-6 but on one slot (0.007-0.012%). Below 4
it misses more: with 3, slot 42 of seed 2 ends 0.15% higher than with 5; with 2, one
of the 13 ``default`` regression slots (``tests/data/li_gd_default_regressions.json``)
ends 0.12% above its reference."""
COLD_GIVE_UP_AFTER = 5
"""GD's ``give_up_after``. A cold start (max power, equal budgets) is far from the
optimum and its early costs say less: with 4 or 3, GD missed one more of the 13
regression slots (by 0.047%); with 2, it ended more than 0.1% higher on 3 of the 200
slots above (3.5% on one). Giving GD 4 as well would change its gradients against
Li-GD's on those slots from 7.43x to 7.39x: the warm start, not this choice, makes
that ratio."""
POLISH = 1e-2
"""The winner's continuous variables are polished to ``POLISH x gtol``."""


@dataclass(frozen=True)
class Candidate:
    """A point of the search: a discrete choice with its continuous variables."""

    cost: float
    """Slot cost of the candidate."""
    split: np.ndarray
    """``[K]`` split points."""
    ul: np.ndarray
    """``[K]`` uplink subchannels."""
    dl: np.ndarray
    """``[K]`` downlink subchannels."""
    point: Point
    """Powers (and edge shares) of the offloading users."""

    def replace(self, **changes: Any) -> Candidate:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)


SEARCH_PARTS = (
    "joint",
    "split_loops",
    "pair_entries",
    "swaps",
    "moves",
    "refills",
    "relabels",
    "rebalance",
    "starts",
    "polish",
)
"""The parts of the search, the keys of ``stats.extra["gradients_by_part"]``: the
joint start's depth loop, the users' split loops and the pair entries (the loops the
warm start chains: each descent from the previous split's optimum in Li-GD, from the
default point in GD), the split swaps, the subchannel moves (and swaps and
displacements), the refills, the subchannel relabellings, the rebalance descents,
the edge and random starts, and the winner's polish."""


@dataclass
class _Counts:
    """Work of one ``act`` call."""

    gradients: int = 0
    evaluations: int = 1
    descents: int = 0
    by_part: dict[str, int] = dataclasses.field(
        default_factory=lambda: dict.fromkeys(SEARCH_PARTS, 0)
    )
    """Gradients by part of the search (:data:`SEARCH_PARTS`)."""


class GradientDescent(BaseAgent):
    """Coordinate search over users with a projected-GD descent per discrete candidate.

    The search of the package docstring; ``warm_start`` chooses Li-GD (True: each
    split's descent starts from the previous split's optimum) or GD (False: every
    descent starts from the default point, max power and equal budgets).

    Args:
        warm_start: Loop-iteration warm start (Li-GD) or cold starts (GD).
        gtol: Stop a descent when the scaled projected-gradient step (package
            docstring; the cost's sensitivity to relative changes) is at most this.
        ftol: Stop a descent when a step changes the cost by at most
            ``ftol max(1, |C|)``.
        max_iter: Gradients per descent, at most.
        max_sweeps: Sweeps' worth of user updates per start (``max_sweeps x K``), at
            most (``stats.extra["sweeps"]`` is the updates made over ``K``, rounded up).
        sweep_tol: A user's new choice must lower the slot cost by more than
            ``sweep_tol max(1, |C|)`` to replace the incumbent.
        starts: Starting points of the sweeps, from ``"joint"`` (all splits looped
            together), ``"local"`` (all-local) and ``"edge"`` (all at split 0); the
            best result wins. None: ``("joint", "local")`` for at most
            :data:`LOCAL_START_MAX_USERS` users, ``("joint",)`` above.
        max_swaps: Swap partners tried per user update for the split and for each
            link's subchannel (0: moves only).
        random_starts: Random starting points (a uniform random split and subchannels
            per user) searched after ``starts``; the best result of all wins. A
            multi-start search for reference costs, not a setting for speed.
        seed: Seed of the random starts (see :meth:`reset`).
        give_up_after: Gradients after which a candidate's descent stops if its cost
            is still above the cost it must beat (the incumbent's; for a user's
            subchannel moves, that of the point they start from) by more than
            ``give_up_slack max(1, |C|)``, a margin that halves with every
            :data:`~agents.li_gd.core.GIVE_UP_HALVING` gradients more
            (:func:`~agents.li_gd.core.give_up_bound`), or by more than
            :data:`~agents.li_gd.core.GIVE_UP_RATE` times what its last two
            gradients gained (from 2 gradients on, where the descent stands at its
            best point). None: :data:`WARM_GIVE_UP_AFTER` for Li-GD,
            :data:`COLD_GIVE_UP_AFTER` for GD.
            The split loops (the loop the warm start is about), the
            joint start and the polish always converge: a cold-started GD would gain
            most from giving up there (with it, GD's gradients fell from 4.7x to 2.2x
            Li-GD's on ``default``), hiding what the warm start saves.
        give_up_slack: See ``give_up_after``.
        decompose: A candidate's descent moves only the variables of the users on
            the subchannels the candidate changes (the others fixed, evaluated once):
            the search's cost then grows with the size of a subchannel group instead
            of K. False: every descent moves every variable.
        pair_entry: Try the pair entry in a local user's update (True), or not
            (False); None: in cells of at most :data:`PAIR_ENTRY_MAX_USERS` users
            (larger cells start from the joint start alone by default; with
            ``starts=("local",)`` there, True may matter).
        swap_entry: Try the swap entry in a local user's update (True), or not
            (False); None: in cells of at most :data:`SWAP_ENTRY_MAX_USERS` users.
        recheck_all: After an accepted user update, check every user again (True)
            or only those it touched (False, :meth:`_recheck`); None: every user in
            cells of at most :data:`RECHECK_ALL_MAX_USERS` users.
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
        starts: tuple[str, ...] | None = None,
        max_swaps: int = 4,
        give_up_after: int | None = None,
        give_up_slack: float = 0.01,
        random_starts: int = 0,
        seed: int = 0,
        decompose: bool = True,
        pair_entry: bool | None = None,
        recheck_all: bool | None = None,
        swap_entry: bool | None = None,
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
        if starts is not None and (
            not isinstance(starts, (tuple, list))
            or not starts
            or any(x not in options for x in starts)
        ):
            raise ValueError(
                f"{owner}.starts: got {starts!r}, allowed: None or a non-empty tuple of {options}"
            )
        self.starts = None if starts is None else tuple(starts)
        check_number(owner, "max_swaps", max_swaps, lo=0, integer=True)
        self.max_swaps = int(max_swaps)
        if give_up_after is None:
            give_up_after = WARM_GIVE_UP_AFTER if warm_start else COLD_GIVE_UP_AFTER
        check_number(owner, "give_up_after", give_up_after, lo=0, integer=True)
        self.give_up_after = int(give_up_after)
        check_number(owner, "give_up_slack", give_up_slack, lo=0.0)
        self.give_up_slack = float(give_up_slack)
        check_number(owner, "random_starts", random_starts, lo=0, hi=10_000, integer=True)
        self.random_starts = int(random_starts)
        check_number(owner, "seed", seed, lo=0, integer=True)
        self._rng = np.random.default_rng(seed)
        if not isinstance(decompose, bool):
            raise ValueError(f"{owner}.decompose: got {decompose!r}, allowed: True or False")
        self.decompose = decompose
        switches = (("pair_entry", pair_entry), ("recheck_all", recheck_all),
                    ("swap_entry", swap_entry))  # fmt: skip
        for name, value in switches:
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"{owner}.{name}: got {value!r}, allowed: None, True or False")
        self.pair_entry = pair_entry
        self.recheck_all = recheck_all
        self.swap_entry = swap_entry

    # ------------------------------------------------------------------ search
    def _act(self, slot: Slot) -> Allocation:
        prob = SlotProblem(slot)
        k_users = prob.num_users
        self._counts = _Counts()
        self._per_split = [np.zeros(int(n) + 1, dtype=np.int64) for n in slot.num_layers]
        self._joint_iterations = np.zeros(int(slot.num_layers.max()), dtype=np.int64)
        self._relabel_iterations = 0
        zeros = Point(np.zeros(k_users), np.zeros(k_users), np.zeros(k_users))
        local = slot.num_layers.copy()
        ul = np.argmax(slot.ul_gain, axis=1).astype(np.int64)
        dl = np.argmax(slot.dl_gain, axis=1).astype(np.int64)
        local_cost = prob.cost(local, ul, dl, zeros)
        self._trace = [(0, local_cost)]  # (gradients so far, best cost so far)
        best: Candidate | None = None
        history = []
        sweeps = []
        start_costs = []
        starts = self.starts
        if starts is None:
            starts = ("joint", "local") if k_users <= LOCAL_START_MAX_USERS else ("joint",)
        seen: set[bytes] = set()  # the discrete states where earlier starts settled
        for start in starts + ("random",) * self.random_starts:
            if start == "random":
                state = self._random_start(prob)
            elif start == "local":
                state = Candidate(local_cost, local, ul, dl, zeros)
            elif start == "edge":
                edge = np.zeros(k_users, dtype=np.int64)
                run = prob.descend(
                    edge, ul, dl, prob.default_start(edge), self.gtol, self.ftol, self.max_iter
                )
                self._count(run.gradients, run.evaluations, part="starts")
                state = Candidate(run.cost, edge, ul, dl, run.point)
            else:
                state = self._joint_loop(prob, ul, dl)
            start_costs.append(state.cost)
            self._mark(state.cost)
            state, run_history, run_sweeps = self._sweeps(prob, state, seen)
            history.append(run_history)
            sweeps.append(run_sweeps)
            if best is None or state.cost < best.cost:
                best = state
        assert best is not None
        # polish: the winner's continuous variables to a 100x tighter tolerance
        run = prob.descend(
            best.split, best.ul, best.dl, best.point, POLISH * self.gtol, self.ftol, self.max_iter
        )
        self._count(run.gradients, run.evaluations, part="polish")
        if run.cost < best.cost:
            best = best.replace(cost=run.cost, point=run.point)
        self._mark(best.cost)
        if local_cost < best.cost:  # never worse than all-local
            best = Candidate(local_cost, local, best.ul, best.dl, zeros)
        allocation = prob.allocation(best.split, best.ul, best.dl, best.point)
        final = prob.final_cost(allocation, best.cost)
        self.stats.iterations = self._counts.gradients
        self.stats.evaluations = self._counts.evaluations + 1
        self.stats.extra = {
            "iterations_per_split": self._per_split,
            "joint_iterations": self._joint_iterations,
            "relabel_iterations": self._relabel_iterations,
            "descents": self._counts.descents,
            "gradients_by_part": self._counts.by_part,
            "sweeps": sweeps,
            "start_cost": min(start_costs),
            "start_costs": start_costs,
            "cost": final,
            "cost_history": history,
            "trace": self._trace,
        }
        return allocation

    def reset(self, seed: int | None = None) -> None:
        """Reseed the random starts with ``seed``; None continues the stream."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)

    def _random_start(self, prob: SlotProblem) -> Candidate:
        """A random discrete choice (every split in ``0..L_k``, every subchannel,
        uniform) with its continuous variables descended from the default point."""
        slot, rng, k_users = prob.slot, self._rng, prob.num_users
        split = rng.integers(0, slot.num_layers + 1, size=k_users).astype(np.int64)
        ul = rng.integers(0, prob.num_subchannels, size=k_users).astype(np.int64)
        dl = rng.integers(0, prob.num_subchannels, size=k_users).astype(np.int64)
        run = prob.descend(
            split, ul, dl, prob.default_start(split), self.gtol, self.ftol, self.max_iter
        )
        self._count(run.gradients, run.evaluations, part="starts")
        return Candidate(run.cost, split, ul, dl, run.point)

    def _mark(self, cost: float) -> None:
        """A point of ``stats.extra["trace"]``: the gradients so far and the best cost
        found so far (the convergence curve of the search)."""
        self._trace.append((self._counts.gradients, min(self._trace[-1][1], cost)))

    def _count(self, gradients: int, evaluations: int, descents: int = 1, *, part: str) -> None:
        """Book a call's work; ``part`` is its key in :data:`SEARCH_PARTS`."""
        self._counts.gradients += gradients
        self._counts.evaluations += evaluations
        self._counts.descents += descents
        self._counts.by_part[part] += gradients

    def _joint_loop(self, prob: SlotProblem, ul: np.ndarray, dl: np.ndarray) -> Candidate:
        """All users' splits looped together, depth ``t = 0..L_max - 1`` (``s_k = t L_k /
        L_max`` rounded, as the env decodes a split), each descent warm-started from the
        previous depth's optimum (Li-GD) or cold (GD), in one call of the core
        (:func:`~agents.li_gd.core.joint_loop`); the best of these all-offloading points."""
        levels = prob.num_layers
        l_max = int(levels.max())
        k_users = prob.num_users
        point = Point(np.zeros(k_users), np.zeros(k_users), np.zeros(k_users))  # revived
        best: Candidate | None = None
        iterations = np.zeros(l_max, dtype=np.int64)
        if l_max == 0:  # nobody can offload (the queued env's local and idle users)
            self._joint_iterations = iterations
            return Candidate(prob.cost(levels, ul, dl, point), levels.copy(), ul, dl, point)
        costs, points, iterations, evaluations = prob.joint_loop(
            ul, dl, self.warm_start, self.gtol, self.ftol, self.max_iter
        )  # one call of the core
        self._count(int(iterations.sum()), evaluations, l_max, part="joint")
        for t in range(l_max):
            if best is None or costs[t] < best.cost:
                split = (2 * t * levels + l_max) // (2 * l_max)
                best = Candidate(float(costs[t]), split, ul, dl, Point(*points[t]))
        self._joint_iterations = iterations
        assert best is not None
        return best

    def _sweeps(
        self, prob: SlotProblem, state: Candidate, seen: set[bytes]
    ) -> tuple[Candidate, list[float], int]:
        """Coordinate sweeps from ``state`` until no user is left to check and no
        subchannel relabelling helps (every user is then at its best given the others,
        and no two subchannel groups gain by trading places), or ``max_sweeps`` sweeps'
        worth of user updates, or until they reach a discrete state in ``seen``: one
        where the sweeps of an earlier start settled, so that every user's update (in
        a large cell: every update left to check) and every relabelling have been
        tried there already. A state this run settles in is added to ``seen``. Users
        are checked in cyclic order; which ones an accepted update puts back on the
        list is :meth:`_recheck`'s choice."""
        history = [state.cost]
        k_users = prob.num_users
        pending = np.ones(k_users, dtype=np.bool_)  # users still to check
        nxt = 0  # where the cyclic order goes on
        updates = 0
        while updates < self.max_sweeps * k_users:
            if _state_key(state) in seen:
                break
            if not pending.any():
                moved = self._rebalance(prob, state)
                if not self._improves(moved, state):
                    moved = self._best_relabel(prob, state)
                if not self._improves(moved, state):
                    seen.add(_state_key(state))
                    break
                state = moved
                pending[:] = True
                history.append(state.cost)
                self._mark(state.cost)
            while not pending[nxt % k_users]:
                nxt += 1
            k = nxt % k_users
            nxt += 1
            updates += 1
            pending[k] = False
            best = self._best_for_user(prob, k, state)
            if self._improves(best, state):
                pending |= self._recheck(prob, k, state, best)
                # k is settled only if its split alone changed and it still offloads:
                # after a subchannel move its split loop was not run on the new
                # subchannel, a swap or a refill changed a partner too, and a user that
                # went local has not tried to enter with a partner
                pending[k] = not (
                    _only_split_changed(state, best, k) and best.split[k] < prob.num_layers[k]
                )
                state = best
            history.append(state.cost)
            self._mark(state.cost)
        sweeps = -(-updates // k_users)
        return state, history, sweeps

    def _recheck(
        self, prob: SlotProblem, k: int, before: Candidate, after: Candidate
    ) -> np.ndarray:
        """``[K]`` bool: the users to check again after user ``k``'s update from
        ``before`` to ``after`` was accepted (whether ``k`` itself is, is the caller's
        choice).

        ``recheck_all`` (the default in cells of at most
        :data:`RECHECK_ALL_MAX_USERS` users): everyone, so that the search ends only
        where every user was checked against the final state. Otherwise the users
        the update can have changed most: those whose split or subchannels changed
        and, on each link, those on a group that a user left or joined there or
        whose user got a new split (which changes both of its links' loads) or is
        ``k`` (whose groups were re-descended even where only the powers changed); and
        everyone if the set of offloading users changed (equal edge shares and the
        shared budgets then change for all). A user only coupled to the change
        through the BS-power or edge-share budget is not rechecked; the rebalance
        (one descent over every variable) runs before the search may end."""
        k_users = prob.num_users
        everyone = _in_small_cell(self.recheck_all, prob, RECHECK_ALL_MAX_USERS)
        offloading = before.split < prob.num_layers
        if everyone or not np.array_equal(offloading, after.split < prob.num_layers):
            return np.ones(k_users, dtype=np.bool_)
        resplit = before.split != after.split
        resplit[k] = True  # k's groups were descended whatever changed
        pending = resplit.copy()
        for old, new in ((before.ul, after.ul), (before.dl, after.dl)):
            changed = resplit | (old != new)  # a new split changes both links' loads
            touched = np.zeros(prob.num_subchannels, dtype=np.bool_)
            touched[old[changed]] = True
            touched[new[changed]] = True
            pending |= changed | (touched[new] & offloading)
        return pending

    def _improves(self, candidate: Candidate, incumbent: Candidate) -> bool:
        """``candidate`` lowers the cost by more than ``sweep_tol max(1, |C|)``."""
        return candidate.cost < incumbent.cost - self.sweep_tol * max(1.0, abs(incumbent.cost))

    def _pair_entry(self, prob: SlotProblem, k: int, state: Candidate) -> Candidate:
        """Local user k and a local partner j start offloading together, their splits
        looped jointly (depth ``t``, ``s = round(t L / L_max)`` as in the joint start),
        each on its best subchannel unless that is the other's (then its second best),
        each descent chained from the previous depth's optimum; then the best pair's
        two splits are looped one at a time, the other fixed (one call of the core,
        :func:`~agents.li_gd.core.pair_loop`).

        Under equal edge shares two users may each lose by offloading alone and both
        win together (docs/model.md section 9.4); from all-local the one-user moves of
        the sweeps never get there. Partners: the ``max_swaps`` local users of largest
        uplink gain."""
        best = state
        local = np.flatnonzero((state.split == prob.num_layers) & (np.arange(prob.num_users) != k))
        if local.size == 0 or self.max_swaps == 0:
            return best
        slot = prob.slot
        own = slot.ul_gain.max(axis=1)
        for j in local[np.argsort(-own[local], kind="stable")][: self.max_swaps]:
            ul, dl = state.ul.copy(), state.dl.copy()
            for link, gain in ((ul, slot.ul_gain), (dl, slot.dl_gain)):
                order_k, order_j = np.argsort(-gain[k]), np.argsort(-gain[j])
                link[k] = order_k[0]
                link[j] = order_j[1] if order_j[0] == link[k] and gain.shape[1] > 1 else order_j[0]
            cost, split, point, gradients, evaluations, descents = prob.pair_loop(
                state.split, ul, dl, state.point, k, int(j),
                *self._users_groups(prob, (k, j), ul, dl), self._start_mode(chain=True),
                self.gtol, self.ftol, self.max_iter,
            )  # fmt: skip
            self._count(int(gradients.sum()), evaluations, descents, part="pair_entries")
            self._per_split[k] += gradients
            if cost < best.cost:
                best = Candidate(cost, split, ul, dl, point)
        return best

    def _refill(self, prob: SlotProblem, k: int, local: Candidate, state: Candidate) -> Candidate:
        """User k has just gone local (``local``): another user takes the subchannel it
        left, on each link in turn (the ``max_swaps`` offloading users that gain most
        from it, ``log(g_j[freed] / g_j[own])``), each descended from the best so far
        against its cost (one call of the core per link,
        :func:`~agents.li_gd.core.refill_loop`).

        Neither move is good alone (k local with its old partners still crowded
        elsewhere; a partner moving while k is still there), together they are: the
        K=3, N=2 OMA optima that the sweeps missed were such pairs."""
        best = local
        for uplink in (True, False):
            freed = int((state.ul if uplink else state.dl)[k])
            current, other = (best.ul, best.dl) if uplink else (best.dl, best.ul)
            gain = prob.slot.ul_gain if uplink else prob.slot.dl_gain
            active = best.split < prob.num_layers
            partners = refill_partners(gain, current, freed, active, self.max_swaps)
            if partners.shape[0] == 0:
                continue
            row, run = prob.refill_loop(
                best.split, current, other, uplink, best.point, partners, freed,
                self._contest(best.cost),
            )  # fmt: skip
            self._count(run.gradients, run.evaluations, partners.shape[0], part="refills")
            self._per_split[k][best.split[k]] += run.gradients
            if row >= 0:
                sub = current.copy()
                sub[partners[row]] = freed
                ul, dl = (sub, other) if uplink else (other, sub)
                best = Candidate(run.cost, best.split, ul, dl, run.point)
        return best

    def _best_relabel(self, prob: SlotProblem, state: Candidate) -> Candidate:
        """The best of the subchannel relabellings of ``state``: on one link, every
        user of subchannel ``n`` moves to ``m`` and every user of ``m`` to ``n``.

        Single moves and pairwise swaps cannot do this (moving one user of a group
        alone is often worse), yet the gains of a group differ from one subchannel to
        another: the K=3, N=2 optima that the sweeps missed were such relabellings."""
        best = state
        if prob.num_subchannels < 2:
            return best
        active = state.split < prob.num_layers
        for uplink in (True, False):
            current = state.ul if uplink else state.dl
            used = sorted(set(current[active].tolist()))
            for n, m in _subchannel_pairs(used, prob.num_subchannels):
                sub = np.where(current == n, m, np.where(current == m, n, current))
                sub = np.where(active, sub, current)
                ul, dl = (sub, state.dl) if uplink else (state.ul, sub)
                free = self._groups(prob, (n, m))
                run = prob.descend(
                    state.split, ul, dl, state.point, self.gtol, self.ftol, self.max_iter,
                    *((free, self._none(prob)) if uplink else (self._none(prob), free)),
                    start_mode=self._start_mode(chain=False), **self._give_up(best.cost),
                )  # fmt: skip
                self._count(run.gradients, run.evaluations, part="relabels")
                self._relabel_iterations += run.gradients
                if run.cost < best.cost:
                    best = Candidate(run.cost, state.split, ul, dl, run.point)
        return best

    def _rebalance(self, prob: SlotProblem, state: Candidate) -> Candidate:
        """``state`` with every variable descended at once (with ``decompose`` the user
        updates descend only the groups they change, so the budgets shared by all
        groups, BS power and edge shares, are traded between groups only here)."""
        if not self.decompose:
            return state
        run = prob.descend(
            state.split, state.ul, state.dl, state.point, self.gtol, self.ftol, self.max_iter
        )
        self._count(run.gradients, run.evaluations, part="rebalance")
        return state.replace(cost=run.cost, point=run.point) if run.cost < state.cost else state

    def _contest(self, rival: float) -> Contest:
        """How a step's candidates are descended against ``rival``: from the start
        :meth:`_start_mode` gives a candidate (not a chain), giving up as the class
        docstring's ``give_up_after`` says."""
        return Contest(
            rival, self._start_mode(chain=False), self.decompose, self.gtol, self.ftol,
            self.max_iter, self.give_up_after, self.give_up_slack,
        )  # fmt: skip

    def _give_up(self, rival: float) -> dict[str, float]:
        """The give-up arguments of a descent that must beat ``rival``."""
        if not math.isfinite(rival):
            return {}
        return {
            "rival": rival,
            "give_up_after": self.give_up_after,
            "give_up_slack": self.give_up_slack,
        }

    def _start_mode(self, chain: bool) -> int:
        """How a descent starts: GD from the default point; Li-GD's split loop from the
        previous split's optimum (``chain``); Li-GD's other moves from the incumbent's
        point, unless the default point already costs less (one more cost evaluation):
        a warm chain that drifted into a poor region (a near-zero power, the wrong user
        favoured on a subchannel) does not carry it on to the next candidate."""
        if not self.warm_start:
            return START_DEFAULT
        return START_GIVEN if chain else START_CHEAPER

    def _groups(self, prob: SlotProblem, subchannels: Iterable[int]) -> np.ndarray:
        """``[N]`` bool: the subchannel groups whose users a descent moves; every group
        without ``decompose``."""
        if not self.decompose:
            return prob.every_subchannel
        free = np.zeros(prob.num_subchannels, dtype=np.bool_)
        free[list(subchannels)] = True
        return free

    def _none(self, prob: SlotProblem) -> np.ndarray:
        """No group of a link (every group without ``decompose``)."""
        return self._groups(prob, ())

    def _best_move(
        self, prob: SlotProblem, k: int, base: Candidate, moves: np.ndarray, uplink: bool
    ) -> Candidate:
        """The best of ``moves`` (``[C, K]``, new subchannels of one link; module
        :mod:`~agents.li_gd.candidates`) descended from ``base``
        over the groups each changes, or ``base`` if none costs less: one call of the
        core, which descends the moves in parallel, each against ``base``
        (:meth:`_contest`)."""
        if moves.shape[0] == 0:
            return base
        row, run, descended = prob.best_move(
            base.split, base.ul, base.dl, base.point, moves, uplink, self._contest(base.cost)
        )
        self._count(run.gradients, run.evaluations, descended, part="moves")
        self._per_split[k][base.split[k]] += run.gradients
        if row < 0:
            return base
        sub = moves[row].copy()
        ul, dl = (sub, base.dl) if uplink else (base.ul, sub)
        return Candidate(run.cost, base.split, ul, dl, run.point)

    def _users_groups(
        self, prob: SlotProblem, users: Iterable[int], ul: np.ndarray, dl: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The uplink and downlink groups of ``users``."""
        users = list(users)
        return self._groups(prob, ul[users].tolist()), self._groups(prob, dl[users].tolist())

    def _best_for_user(self, prob: SlotProblem, k: int, state: Candidate) -> Candidate:
        """User k's best (split, subchannels) with the others fixed; continuous re-solved."""
        best = state
        split, ul, dl, point = state.split, state.ul, state.dl, state.point
        levels = int(prob.num_layers[k])
        own = self._users_groups(prob, (k,), ul, dl)
        # 1. split loop, layer by layer (in one call of the core); user k enters at the
        #    default values (zeros are revived by the core), each split's descent
        #    starts from the previous split's optimum, the local split (others
        #    re-descended) from the incumbent
        costs, points, gradients, evaluations = prob.split_loop(
            split, ul, dl, point, k, *own, self._start_mode(chain=True), self.gtol, self.ftol,
            self.max_iter,
        )  # fmt: skip
        self._count(int(gradients.sum()), evaluations, levels + 1, part="split_loops")
        self._per_split[k][: levels + 1] += gradients
        entry: Candidate | None = None  # k's best offloading choice, better or not
        for s in range(levels + 1):
            better = costs[s] < best.cost
            if not (better or (s < levels and (entry is None or costs[s] < entry.cost))):
                if s < levels or split[k] == levels:
                    continue
            cand = split.copy()
            cand[k] = s
            found = Candidate(float(costs[s]), cand, ul, dl, Point(*points[s]))
            if s < levels and (entry is None or found.cost < entry.cost):
                entry = found
            if better:
                best = found
            if s == levels and split[k] < levels:
                refilled = self._refill(prob, k, found, state)
                if refilled.cost < best.cost:
                    best = refilled
        # 1a. pair entry: k and another local user start offloading together
        if split[k] == levels and _in_small_cell(self.pair_entry, prob, PAIR_ENTRY_MAX_USERS):
            entered = self._pair_entry(prob, k, state)
            if entered.cost < best.cost:
                best = entered
        # 1b. split swaps with users of the same model (their roles exchange)
        partners = split_swap_partners(
            prob.slot.task_class, prob.slot.ul_gain, split, ul, k, self.max_swaps
        )
        swapped_in: Candidate | None = None  # local k's best swap with an offloader
        swap_entry = split[k] == levels and _in_small_cell(
            self.swap_entry, prob, SWAP_ENTRY_MAX_USERS
        )
        if partners.shape[0]:  # each in turn against the best so far, in one call
            costs, points, work = prob.swap_loop(
                split, ul, dl, point, k, partners, self._contest(best.cost)
            )
            for row, j in enumerate(partners.tolist()):
                cand = split.copy()
                cand[k], cand[j] = split[j], split[k]
                gradients, evaluations = work[row].tolist()
                self._count(gradients, evaluations, part="swaps")
                self._per_split[k][cand[k]] += gradients
                found = Candidate(float(costs[row]), cand, ul, dl, Point(*points[row]))
                if found.cost < best.cost:
                    best = found
                if swap_entry and (swapped_in is None or found.cost < swapped_in.cost):
                    swapped_in = found
        # 2. subchannel moves at the best split: move user k, or swap it with a user
        #    on another subchannel
        #    (a local k enters at its best split there even if that alone does not pay:
        #    entering often pays only on other subchannels, or once a partner moved;
        #    with the swap entry it enters in a partner's place too, the partner going
        #    local: the partner's subchannels need not suit k)
        if best.split[k] == levels and split[k] == levels:
            entering = [x for x in (entry, swapped_in) if x is not None]
        else:
            entering = [best] if best.split[k] < levels else []
        if prob.num_subchannels > 1:
            for start in entering:
                moved = self._subchannel_moves(prob, k, start)
                if moved.cost < best.cost:
                    best = moved
        return best

    def _subchannel_moves(self, prob: SlotProblem, k: int, start: Candidate) -> Candidate:
        """From ``start`` (user k offloading), the best of k's subchannel moves and
        swaps (:func:`~agents.li_gd.candidates.subchannel_moves`) on the uplink, then
        of a co-channel user making room for it
        (:func:`~agents.li_gd.candidates.displacements`), then the same on the
        downlink, each from the previous one's best (``start`` if none costs less)."""
        moved = start
        for uplink in (True, False):
            gain = prob.slot.ul_gain if uplink else prob.slot.dl_gain
            for candidates in (subchannel_moves, displacements):
                current = moved.ul if uplink else moved.dl
                active = moved.split < prob.num_layers
                moves = candidates(gain, current, k, active, self.max_swaps)
                if prob.num_subchannels == 2:
                    moves = with_relabelled(moves, current, active)
                moved = self._best_move(prob, k, moved, moves, uplink)
        return moved


def _in_small_cell(option: bool | None, prob: SlotProblem, max_users: int) -> bool:
    """A switch that defaults by cell size: ``option``, or (None) whether the cell has
    at most ``max_users`` users."""
    return prob.num_users <= max_users if option is None else option


def _state_key(state: Candidate) -> bytes:
    """The discrete choice of ``state`` (splits and both subchannel vectors) as bytes."""
    return state.split.tobytes() + state.ul.tobytes() + state.dl.tobytes()


def _only_split_changed(before: Candidate, after: Candidate, k: int) -> bool:
    """Only user k's split differs between ``before`` and ``after``."""
    others = np.arange(before.split.shape[0]) != k
    return (
        np.array_equal(before.split[others], after.split[others])
        and np.array_equal(before.ul, after.ul)
        and np.array_equal(before.dl, after.dl)
    )


def _subchannel_pairs(used: list[int], num_subchannels: int) -> list[tuple[int, int]]:
    """Pairs ``(n, m)``, ``n < m``, of subchannels at least one of which is ``used``:
    relabelling two empty subchannels changes nothing."""
    return [
        (n, m)
        for n in range(num_subchannels)
        for m in range(n + 1, num_subchannels)
        if n in used or m in used
    ]


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

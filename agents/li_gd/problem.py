"""One slot's problem bound to the compiled core: descents and costs for discrete choices.

:class:`SlotProblem` builds the core's structures once per slot
(:class:`~noma_split_env.evaluate.KernelSlot`, :class:`~agents.li_gd.core.DescentSettings`)
and gives the search (:mod:`agents.li_gd.search`) named results: a :class:`Point` of
continuous variables and a :class:`Descent` outcome.
"""

from __future__ import annotations

import hashlib
import math
import struct
from typing import NamedTuple

import numpy as np

from agents.li_gd.core import (
    START_GIVEN,
    DescentSettings,
    default_start_into,
    descend,
    descend_moves,
    joint_loop,
    pair_loop,
    point_cost,
    refill_loop,
    split_loop,
    swap_loop,
)
from noma_split_env import Allocation, Slot, evaluate
from noma_split_env.evaluate import kernel_slot

__all__ = ["Contest", "Descent", "Point", "SlotProblem"]


class Point(NamedTuple):
    """The continuous variables of a slot, each ``[K]``; 0 for users that do not offload."""

    p: np.ndarray
    """Uplink powers [W]."""
    q: np.ndarray
    """Downlink (BS) powers [W]."""
    e: np.ndarray
    """Edge shares (zeros when the scenario does not allocate them)."""


class Descent(NamedTuple):
    """The result of one descent."""

    point: Point
    """The best point visited."""
    cost: float
    """Its slot cost."""
    gradients: int
    """Gradients computed."""
    evaluations: int
    """Cost evaluations."""


class Contest(NamedTuple):
    """How the candidates of one search step are descended against the cost they must
    beat: what :meth:`SlotProblem.best_move`, :meth:`SlotProblem.swap_loop` and
    :meth:`SlotProblem.refill_loop` share."""

    rival: float
    """The cost to beat (each loop's later candidates: the best so far)."""
    start_mode: int
    """:data:`~agents.li_gd.core.START_GIVEN`, ``START_CHEAPER`` or ``START_DEFAULT``."""
    decompose: bool
    """Descend only the groups a candidate changes (else every variable)."""
    gtol: float
    ftol: float
    max_iter: int
    give_up_after: int
    give_up_slack: float
    """The descents' tolerances and give-up rule (:class:`~agents.li_gd.core.DescentSettings`)."""


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
        self._slot_fields = tuple(kernel_slot(slot))
        self._settings: dict[tuple[float, float, int, int, float], tuple] = {}
        self.every_subchannel = np.ones(self.num_subchannels, dtype=np.bool_)
        """``[N]`` bool, all True: a descent over every user's variables."""
        self._base = DescentSettings(
            with_share=self.with_share,
            oma=sc.access == "oma",
            deadline_s=math.inf if sc.deadline_s is None else float(sc.deadline_s),
            miss_penalty=float(sc.miss_penalty),
            p_max=float(self.p_max),
            q_max=float(self.q_max),
            gtol=0.0,
            ftol=0.0,
            max_iter=0,
            give_up_after=0,
            give_up_slack=0.0,
        )
        self._base_fields = tuple(self._base)
        self._moves: dict[bytes, tuple[float, np.ndarray | None]] = {}
        """Every subchannel move descended so far, by a digest of its start and
        settings and the move itself: its cost, and its point ``[3, K]`` where it beat
        its rival (only such a move can win)."""

    def _settings_for(
        self,
        gtol: float,
        ftol: float,
        max_iter: int,
        give_up_after: int = 0,
        give_up_slack: float = 0.0,
    ) -> tuple:
        """The core's settings tuple, one per tolerance set (a slot makes thousands of
        calls with a handful of sets)."""
        key = (gtol, ftol, max_iter, give_up_after, give_up_slack)
        settings = self._settings.get(key)
        if settings is None:
            settings = tuple(
                self._base._replace(
                    gtol=gtol,
                    ftol=ftol,
                    max_iter=max_iter,
                    give_up_after=give_up_after,
                    give_up_slack=give_up_slack,
                )
            )
            self._settings[key] = settings
        return settings

    def _contest_settings(self, contest: Contest) -> tuple:
        """The core's settings tuple of a :class:`Contest`."""
        c = contest
        return self._settings_for(c.gtol, c.ftol, c.max_iter, c.give_up_after, c.give_up_slack)

    def descend(
        self,
        split: np.ndarray,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        start: Point,
        gtol: float,
        ftol: float,
        max_iter: int,
        ul_free: np.ndarray | None = None,
        dl_free: np.ndarray | None = None,
        start_mode: int = START_GIVEN,
        rival: float = math.inf,
        give_up_after: int = 0,
        give_up_slack: float = 0.0,
    ) -> Descent:
        """:func:`~agents.li_gd.core.descend` on this slot from ``start``: over the users
        of the subchannels marked in ``ul_free`` and ``dl_free`` (``[N]`` bool; None:
        every subchannel), the other users' variables fixed; from ``give_up_after``
        gradients on it stops once its best cost is above
        :func:`~agents.li_gd.core.give_up_bound` of ``rival`` (the cost it must
        beat; inf: never) and ``give_up_slack``, or above ``rival`` by more than
        :data:`~agents.li_gd.core.GIVE_UP_RATE` times what its last two gradients
        gained."""
        settings = self._settings_for(gtol, ftol, max_iter, give_up_after, give_up_slack)
        p, q, e, cost, gradients, evaluations = descend(
            split,
            ul_sub,
            dl_sub,
            *start,
            self.every_subchannel if ul_free is None else ul_free,
            self.every_subchannel if dl_free is None else dl_free,
            start_mode,
            rival,
            self._slot_fields,
            settings,
        )
        return Descent(Point(p, q, e), cost, gradients, evaluations)

    def joint_loop(
        self,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        warm: bool,
        gtol: float,
        ftol: float,
        max_iter: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """:func:`~agents.li_gd.core.joint_loop`: ``(costs, points, gradients,
        evaluations)`` per depth; ``points[t]`` is the ``[3, K]`` array of a point."""
        settings = self._settings_for(gtol, ftol, max_iter)
        return joint_loop(ul_sub, dl_sub, warm, self._slot_fields, settings)

    def split_loop(
        self,
        split: np.ndarray,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        start: Point,
        k: int,
        ul_free: np.ndarray,
        dl_free: np.ndarray,
        start_mode: int,
        gtol: float,
        ftol: float,
        max_iter: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """:func:`~agents.li_gd.core.split_loop` of user ``k`` from ``start``: ``(costs,
        points, gradients, evaluations)`` per split ``0..L_k``; ``points[s]`` is the
        ``[3, K]`` array of the point ``Point(*points[s])`` (made only where used)."""
        settings = self._settings_for(gtol, ftol, max_iter)
        costs, points, gradients, evaluations = split_loop(
            split, ul_sub, dl_sub, *start, k, ul_free, dl_free, start_mode,
            self._slot_fields, settings,
        )  # fmt: skip
        return costs, points, gradients, evaluations

    def pair_loop(
        self,
        split: np.ndarray,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        start: Point,
        k: int,
        j: int,
        ul_free: np.ndarray,
        dl_free: np.ndarray,
        start_mode: int,
        gtol: float,
        ftol: float,
        max_iter: int,
    ) -> tuple[float, np.ndarray, Point, np.ndarray, int, int]:
        """:func:`~agents.li_gd.core.pair_loop` of users ``k`` and ``j`` from ``start``:
        ``(cost, split, point, gradients, evaluations, descents)`` of the best pair descent, with
        the gradients per split of ``k``."""
        settings = self._settings_for(gtol, ftol, max_iter)
        cost, best, p, q, e, gradients, evaluations, descents = pair_loop(
            split, ul_sub, dl_sub, *start, k, j, ul_free, dl_free, start_mode,
            self._slot_fields, settings,
        )  # fmt: skip
        return cost, best, Point(p, q, e), gradients, evaluations, descents

    def best_move(
        self,
        split: np.ndarray,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        start: Point,
        moves: np.ndarray,
        uplink: bool,
        contest: Contest,
    ) -> tuple[int, Descent, int]:
        """The best of ``moves`` (``[C, K]``, new subchannel vectors of one link) that costs less
        than ``contest.rival``, as ``(index, descent, descended)`` (index -1 if none does,
        the point then the start; the first of equal costs): each move descended from
        ``start`` by :func:`~agents.li_gd.core.descend_moves` as ``contest`` says.

        A descent is a function of its inputs alone, and a search tries the same move
        from the same point again and again (user j's swap with k is k's swap with j;
        a co-channel user displaced in k's update is that user's own move): each
        move's result is kept by its inputs, and only the moves not seen yet are
        descended (29% of the moves on ``default``, 15% on ``dense`` were seen). The
        descent's counts and ``descended`` (how many moves were descended) are those
        of this call."""
        c = contest
        settings = self._contest_settings(c)
        rival = c.rival
        inputs = hashlib.blake2b(digest_size=16)  # of everything but the moves
        inputs.update(struct.pack("<2?3q4d", uplink, c.decompose, c.start_mode, c.max_iter,
                                  c.give_up_after, rival, c.gtol, c.ftol,
                                  c.give_up_slack))  # fmt: skip
        for x in (split, ul_sub, dl_sub):
            inputs.update(np.ascontiguousarray(x, dtype=np.int64).tobytes())
        for x in start:
            inputs.update(np.ascontiguousarray(x, dtype=np.float64).tobytes())
        prefix = inputs.digest()
        moves = np.ascontiguousarray(moves, dtype=np.int64)
        raw, width = moves.tobytes(), 8 * moves.shape[1]
        keys = [prefix + raw[i * width : (i + 1) * width] for i in range(moves.shape[0])]
        fresh: dict[bytes, int] = {}  # the first row of each move not seen yet
        for i, key in enumerate(keys):
            if key not in self._moves and key not in fresh:
                fresh[key] = i
        gradients = evaluations = 0
        if fresh:
            rows = list(fresh.values())
            costs, points, work = descend_moves(
                split, ul_sub, dl_sub, *start, moves[rows],
                uplink, c.decompose, c.start_mode, rival, self._slot_fields, settings,
            )  # fmt: skip
            for j, i in enumerate(rows):  # a point is kept only where it could win
                won = costs[j] < rival
                self._moves[keys[i]] = (float(costs[j]), points[j].copy() if won else None)
            gradients, evaluations = int(work[:, 0].sum()), int(work[:, 1].sum())
        row, cost = -1, rival
        for i, key in enumerate(keys):
            if self._moves[key][0] < cost:
                row, cost = i, self._moves[key][0]
        found = start if row < 0 else self._moves[keys[row]][1]
        point = Point(*(np.array(x, dtype=np.float64) for x in found))
        return row, Descent(point, cost, gradients, evaluations), len(fresh)

    def swap_loop(
        self,
        split: np.ndarray,
        ul_sub: np.ndarray,
        dl_sub: np.ndarray,
        start: Point,
        k: int,
        partners: np.ndarray,
        contest: Contest,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~agents.li_gd.core.swap_loop`: user ``k``'s split swaps with each of
        ``partners`` in turn, against the best so far; ``(costs, points, work)`` per
        partner (``points[i]`` a ``[3, K]`` array, ``work[i]`` gradients and
        evaluations)."""
        c = contest
        return swap_loop(
            split, ul_sub, dl_sub, *start, k, partners, c.decompose, c.start_mode, c.rival,
            self._slot_fields, self._contest_settings(c),
        )  # fmt: skip

    def refill_loop(
        self,
        split: np.ndarray,
        current: np.ndarray,
        other: np.ndarray,
        uplink: bool,
        start: Point,
        partners: np.ndarray,
        freed: int,
        contest: Contest,
    ) -> tuple[int, Descent]:
        """:func:`~agents.li_gd.core.refill_loop`: each partner in turn moves to
        ``freed`` on one link, from the best so far; ``(row, descent)`` of the last
        move that lowered the cost (-1: none, the point then ``start``), with the
        work of all the descents."""
        c = contest
        row, cost, p, q, e, gradients, evaluations = refill_loop(
            split, current, other, uplink, *start, partners, freed, c.decompose, c.start_mode,
            c.rival, self._slot_fields, self._contest_settings(c),
        )  # fmt: skip
        point = start if row < 0 else Point(p, q, e)
        return row, Descent(point, cost, gradients, evaluations)

    def cost(
        self, split: np.ndarray, ul_sub: np.ndarray, dl_sub: np.ndarray, point: Point
    ) -> float:
        """The slot cost at a point, without building an :class:`Allocation`."""
        return point_cost(split, ul_sub, dl_sub, *point, self._slot_fields, self._base_fields)

    def default_start(self, split: np.ndarray, scale: float = 1.0) -> Point:
        """``scale`` x (max power, equal BS power, equal edge shares) for offloading users."""
        point = Point(*np.empty((3, self.num_users)))
        default_start_into(
            np.asarray(split, dtype=np.int64), self.num_layers, float(self.p_max),
            float(self.q_max), float(scale), *point,
        )  # fmt: skip
        return point

    def allocation(
        self, split: np.ndarray, ul_sub: np.ndarray, dl_sub: np.ndarray, point: Point
    ) -> Allocation:
        """The :class:`Allocation` of a point (edge shares only if the scenario has them)."""
        active = split < self.num_layers
        return Allocation(
            split=split.copy(),
            ul_subchannel=ul_sub.copy(),
            dl_subchannel=dl_sub.copy(),
            ul_power=np.where(active, np.minimum(point.p, self.p_max), 0.0),
            dl_power=np.where(active, point.q, 0.0),
            edge_share=np.where(active, point.e, 0.0) if self.with_share else None,
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

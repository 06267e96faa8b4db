"""A cheap repair of any agent's allocation: single-user moves scored by ``evaluate``.

:class:`Refined` asks its base agent for an allocation, then tries, user by user,

* keeping the user local (``s_k = L_k``), if it offloads;
* moving it to every other uplink subchannel, and to every other downlink subchannel;

scores these moves together (one call of the batched kernel of
:mod:`noma_split_env.evaluate`, the same arithmetic as ``evaluate``) and takes the
best one if it lowers the slot cost, for at most ``rounds`` passes over the users,
stopping early after a pass without a move. The powers stay the base agent's. A
pass costs ``K`` kernel calls of ``1 + 2 (N - 1)`` evaluations each (1 ms for two
passes on ``dense``), which is what makes it a fit for learned policies: a network
that clones Li-GD makes rare but costly mistakes (a user offloading over a bad
channel, two strong users on one subchannel), and these are exactly the ones a
single move undoes. It never raises the cost of its base agent's allocation.

>>> import agents
>>> from noma_split_env import NomaSplitEnv, Scenario, evaluate
>>> env = NomaSplitEnv(Scenario.preset("default"))
>>> _ = env.reset(seed=0)
>>> refined = agents.Refined(agents.make("all-edge"))
>>> base = evaluate(env.slot, agents.make("all-edge").act(env.slot)).cost
>>> evaluate(env.slot, refined.act(env.slot)).cost <= base
True
"""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.base import Agent, BaseAgent, make, register
from noma_split_env import Allocation, Slot, evaluate
from noma_split_env.evaluate import evaluate_batch_kernel, kernel_slot, slot_terms

__all__ = ["Refined", "refine"]


class Refined(BaseAgent):
    """``base``'s allocation, improved by single-user moves (module docstring).

    Args:
        base: An agent, or the name of a registered one.
        rounds: Passes over the users, at least 1 (default 2).
    """

    def __init__(self, base: Agent | str = "greedy", rounds: int = 2) -> None:
        super().__init__()
        if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
            raise ValueError(f"Refined.rounds: got {rounds!r}, allowed: an integer >= 1")
        self.base = make(base) if isinstance(base, str) else base
        self.rounds = rounds

    def reset(self, seed: int | None = None) -> None:
        self.base.reset(seed)

    def _act(self, slot: Slot) -> Allocation:
        allocation, self.stats.evaluations = refine(slot, self.base.act(slot), self.rounds)
        return allocation

    def __repr__(self) -> str:
        return f"Refined(base={self.base!r}, rounds={self.rounds})"


def refine(slot: Slot, allocation: Allocation, rounds: int = 2) -> tuple[Allocation, int]:
    """``allocation`` improved by at most ``rounds`` passes of single-user moves (module
    docstring), and the number of evaluations spent."""
    best = evaluate(slot, allocation).cost  # checks the given allocation once
    evaluations = 1
    n = slot.scenario.num_subchannels
    fields = kernel_slot(slot)
    cells = [np.repeat(x[None], 1 + 2 * (n - 1), 0) for x in fields[:-1]]  # one per move
    consts = fields[-1]
    for _ in range(rounds):
        moved = False
        for k in range(slot.num_users):
            if allocation.split[k] >= slot.num_layers[k]:
                continue  # local: nothing to move
            moves = [(_SPLIT, int(slot.num_layers[k]))]
            moves += [(_UL, c) for c in range(n) if c != allocation.ul_subchannel[k]]
            moves += [(_DL, c) for c in range(n) if c != allocation.dl_subchannel[k]]
            costs = _move_costs(slot, allocation, k, moves, cells, consts)
            evaluations += len(moves)
            i = int(np.argmin(costs))
            if costs[i] < best:
                field, value = moves[i]
                changed = np.array(getattr(allocation, _FIELDS[field]), copy=True)
                changed[k] = value
                allocation = dataclasses.replace(allocation, **{_FIELDS[field]: changed})
                best, moved = float(costs[i]), True
        if not moved:
            break
    return allocation, evaluations


_SPLIT, _UL, _DL = 0, 1, 2
_FIELDS = ("split", "ul_subchannel", "dl_subchannel")


def _move_costs(
    slot: Slot,
    allocation: Allocation,
    k: int,
    moves: list[tuple[int, int]],
    cells: list[np.ndarray],
    consts: np.ndarray,
) -> np.ndarray:
    """The slot cost after each move ``(field, value)`` of user ``k`` alone, in one
    call of the batched kernel (the arithmetic of :func:`~noma_split_env.evaluate`);
    ``cells`` are the slot's kernel arrays repeated once per move, ``consts`` its
    constants (built once per :func:`refine` call)."""
    count = len(moves)
    a = allocation
    discrete = np.repeat(
        np.stack((a.split, a.ul_subchannel, a.dl_subchannel)).astype(np.int64)[:, None], count, 1
    )
    for i, (field, value) in enumerate(moves):
        discrete[field, i, k] = value
    equal_share = a.edge_share is None
    share = slot.t_ref if equal_share else a.edge_share
    continuous = np.repeat(
        np.stack((a.ul_power, a.dl_power, share)).astype(np.float64)[:, None], count, 1
    )
    stacked, terms = evaluate_batch_kernel(
        discrete[0], discrete[1], discrete[2], continuous[0], continuous[1], continuous[2],
        equal_share, slot.scenario.access == "oma", *cells, consts,
    )  # fmt: skip
    return slot_terms(stacked, terms[:, 0], slot.scenario).cost


register("refined", Refined)

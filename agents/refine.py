"""A cheap repair of any agent's allocation: single-user moves scored by ``evaluate``.

:class:`Refined` asks its base agent for an allocation, then tries, user by user,

* keeping the user local (``s_k = L_k``), if it offloads;
* moving it to every other uplink subchannel, and to every other downlink subchannel;

and keeps a move whenever it lowers the slot cost (:func:`noma_split_env.evaluate`,
first improvement), for at most ``rounds`` passes over the users, stopping early
after a pass without a move. The powers stay the base agent's. A pass costs about
``K (1 + 2 (N - 1))`` evaluations (at most ``K (1 + 2 N)``) of about 10 us each, which is what makes it a fit
for learned policies: a network that clones Li-GD makes rare but costly mistakes (a
user offloading over a bad channel, two strong users on one subchannel), and these
are exactly the ones a single move undoes. It never raises the cost of its base
agent's allocation.

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
    num_subchannels = slot.scenario.num_subchannels
    for _ in range(rounds):
        moved = False
        for k in range(slot.num_users):
            for field, value in _moves(k, int(slot.num_layers[k]), num_subchannels):
                if allocation.split[k] >= slot.num_layers[k]:
                    break  # local (or just made local): nothing to move
                current = getattr(allocation, field)
                if current[k] == value:
                    continue
                changed = np.array(current, copy=True)
                changed[k] = value
                candidate = dataclasses.replace(allocation, **{field: changed})
                cost = evaluate(slot, candidate, check=False).cost
                evaluations += 1
                if cost < best:
                    allocation, best, moved = candidate, cost, True
        if not moved:
            break
    return allocation, evaluations


def _moves(k: int, layers: int, num_subchannels: int) -> list[tuple[str, int]]:
    """User ``k``'s single moves as (field, new value): local, then every uplink and
    every downlink subchannel (its current one is skipped when tried)."""
    return [("split", layers)] + [
        (field, n) for field in ("ul_subchannel", "dl_subchannel") for n in range(num_subchannels)
    ]


register("refined", Refined)

"""Lyapunov drift-plus-penalty control of the queued env (docs/model.md section 12.6).

Each slot, minimize ``V x cost + drift``. The drift of user k's queue is what its
head task's time in service does to the tasks waiting behind it: each of the
``Q_k - 1`` of them waits that long too. With a battery, the deficit
``1 - b_k / B_max`` is a virtual queue that weighs the energy. Per user the slot's
objective becomes

    alpha_k T_k / T_ref,k + beta_k E_k / E_ref,k,
    alpha_k = lambda + (Q_k - 1) / V,     beta_k = (1 - lambda) (1 + (1 - b_k / B_max) / V)

(``T_k``, ``E_k`` the latency and energy of the head task's remaining work as
:func:`~noma_split_env.evaluate` computes them), which is the v0 cost of a slot whose
references ``T_ref``, ``E_ref`` are rescaled per user. The base solver (Li-GD by
default) minimizes it on that reweighted slot, with all its machinery. Large ``V``
approaches the myopic base solver; small ``V`` serves long queues fast at the price of
energy. On a v0 slot (no queues) the agent is its base solver.

>>> import gymnasium as gym
>>> import agents, noma_split_env
>>> env = gym.make("NomaSplit-queue-v0")
>>> _ = env.reset(seed=0)
>>> allocation = agents.make("lyapunov", v=1.0).act(env.unwrapped.slot)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

import agents.li_gd  # noqa: F401  (the default base solver, registered there)
from agents.base import Agent, BaseAgent, make, register
from noma_split_env import Allocation, Slot
from noma_split_env.queue import QueueSlot

__all__ = ["Lyapunov", "weighted_slot"]


def weighted_slot(slot: QueueSlot, v: float) -> Slot:
    """``slot`` with the references rescaled so that its v0 cost is the drift-plus-
    penalty objective of the module docstring (divided by V); a latency weight of 0 or
    1 is replaced by 1/2 with the references rescaled to match."""
    sc = slot.scenario
    lam = sc.latency_weight
    alpha = lam + np.maximum(slot.queue_length - 1, 0) / v
    beta = np.full(sc.num_users, 1.0 - lam)
    if sc.battery_capacity_j is not None:
        beta *= 1.0 + (1.0 - slot.battery_j / sc.battery_capacity_j) / v
    scenario = sc if 0.0 < lam < 1.0 else sc.replace(latency_weight=0.5)
    lam_w = scenario.latency_weight
    with np.errstate(divide="ignore"):
        t_ref = np.where(alpha > 0, lam_w * slot.t_ref / alpha, np.inf)
        e_ref = np.where(beta > 0, (1.0 - lam_w) * slot.e_ref / beta, np.inf)
    return dataclasses.replace(slot, scenario=scenario, t_ref=t_ref, e_ref=e_ref)


class Lyapunov(BaseAgent):
    """Drift-plus-penalty on the queued env (module docstring).

    Args:
        v: The penalty weight V > 0: large = myopic cost, small = queues first.
        base: The solver of the reweighted slot, an agent or a registered name
            (default ``"li-gd"``).
    """

    name = "lyapunov"

    def __init__(self, v: float = 1.0, base: Agent | str = "li-gd") -> None:
        super().__init__()
        if not (isinstance(v, (int, float)) and not isinstance(v, bool)) or not (
            math.isfinite(v) and v > 0
        ):
            raise ValueError(f"Lyapunov.v: got {v!r}, allowed: a finite number > 0")
        self.v = float(v)
        self.base = make(base) if isinstance(base, str) else base

    def reset(self, seed: int | None = None) -> None:
        self.base.reset(seed)

    def _act(self, slot: Slot) -> Allocation:
        if not isinstance(slot, QueueSlot):
            return self.base.act(slot)
        return self.base.act(weighted_slot(slot, self.v))

    def __repr__(self) -> str:
        return f"Lyapunov(v={self.v}, base={self.base!r})"


register("lyapunov", Lyapunov)

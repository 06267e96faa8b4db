"""A short rollout of a NomaSplit env with any agent, printed slot by slot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

import agents
from noma_split_env import NomaSplitEnv

__all__ = ["SlotRecord", "rollout"]


@dataclass(frozen=True)
class SlotRecord:
    """One slot of a rollout, averaged over users."""

    step: int
    cost: float
    latency_ms: float
    device_energy_j: float
    edge_energy_j: float
    offloading: int
    misses: int


def rollout(scenario: str, agent_name: str, steps: int, seed: int) -> Iterator[SlotRecord]:
    """Run ``agent_name`` for ``steps`` slots of ``scenario`` from ``seed``."""
    if steps < 1:
        raise ValueError(f"rollout.steps: got {steps}, allowed: an integer >= 1")
    env = NomaSplitEnv(scenario)
    agent = agents.make(agent_name)
    agent.reset(seed)
    env.reset(seed=seed)
    for step in range(steps):
        slot = env.slot
        allocation = agent.act(slot)
        _, reward, _, truncated, info = env.step_allocation(allocation)
        yield SlotRecord(
            step=step,
            cost=-reward,
            latency_ms=float(np.mean(info["latency"])) * 1e3,
            device_energy_j=float(np.mean(info["device_energy"])),
            edge_energy_j=float(np.mean(info["edge_energy"])),
            offloading=int(np.sum(allocation.split < slot.num_layers)),
            misses=int(info["num_misses"]),
        )
        if truncated:
            env.reset()

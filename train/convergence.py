"""The convergence study of ``noma-split sweep --study convergence``: Li-GD against GD.

Both run the same discrete search; Li-GD warm-starts each descent of a split loop
from the previous split's optimum and GD starts every descent cold, so the study
shows what the warm start saves, on the same slots (``seeds`` x ``steps`` of the
base scenario):

* cost against gradients: for every slot, the best cost the search has found after
  ``G`` gradients (``agent.stats.extra["trace"]``, starting at all-local with 0
  gradients), averaged over the slots, for ``G`` on a log grid;
* gradients against the split-loop iteration: the gradients spent at split ``s`` of
  a user, over the whole search of a slot (``agent.stats.extra
  ["iterations_per_split"]``: the split loops, and the swaps and subchannel moves
  tried at that split), averaged over the users whose model has at least ``s``
  layers and over the slots, for ``s = 0 .. L_max``.

Files: ``convergence.csv`` (every trace point: agent, seed, step, gradients, best
cost), ``convergence_splits.csv`` (agent, split, mean gradients, users) and
``convergence.png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import agents
from noma_split_env import Allocation, NomaSplitEnv, Scenario
from noma_split_env.files import write_rows

__all__ = ["AGENTS", "convergence"]

AGENTS = ("li-gd", "gd")
"""The two solvers compared."""


def convergence(
    scenario: Scenario, seeds: Sequence[int], steps: int, out_dir: Path
) -> dict[str, Any]:
    """Run the study of the module docstring into ``out_dir``; returns the curves:
    ``{"grid": [G], agent: {"cost": [G], "split_gradients": [L_max + 1]}}``."""
    traces: dict[str, list[list[tuple[int, float]]]] = {a: [] for a in AGENTS}
    splits: dict[str, list[list[np.ndarray]]] = {a: [] for a in AGENTS}
    rows = []
    env = NomaSplitEnv(scenario)
    solvers = {name: agents.make(name) for name in AGENTS}
    for seed in seeds:
        env.reset(seed=seed)
        for solver in solvers.values():
            solver.reset(seed)
        for step in range(steps):
            slot = env.unwrapped.slot
            for name, solver in solvers.items():
                solver.act(slot)
                trace = [(int(g), float(c)) for g, c in solver.stats.extra["trace"]]
                traces[name].append(trace)
                splits[name].append(solver.stats.extra["iterations_per_split"])
                rows += [
                    {"agent": name, "seed": seed, "step": step, "gradients": g, "best_cost": c}
                    for g, c in trace
                ]
            env.step_allocation(Allocation.all_local(slot))  # the slots do not depend on it
    top = max(t[-1][0] for per in traces.values() for t in per)
    grid = np.unique(np.geomspace(1, max(top, 1), 60).round().astype(np.int64))
    curves: dict[str, Any] = {"grid": grid}
    split_rows = []
    for name in AGENTS:
        cost = np.mean([_best_after(trace, grid) for trace in traces[name]], axis=0)
        per_split, users = _per_split(splits[name])
        curves[name] = {"cost": cost, "split_gradients": per_split}
        split_rows += [
            {"agent": name, "split": s, "mean_gradients": float(g), "users": int(n)}
            for s, (g, n) in enumerate(zip(per_split, users, strict=True))
        ]
    write_rows(out_dir / "convergence.csv", rows)
    write_rows(out_dir / "convergence_splits.csv", split_rows)
    from train.plots import plot_convergence

    plot_convergence(curves, AGENTS, out_dir / "convergence.png")
    return curves


def _best_after(trace: list[tuple[int, float]], grid: np.ndarray) -> np.ndarray:
    """The best cost found after each number of gradients of ``grid`` (a step function
    of the trace)."""
    gradients = np.array([g for g, _ in trace])
    costs = np.array([c for _, c in trace])
    index = np.searchsorted(gradients, grid, side="right") - 1
    return costs[index]


def _per_split(per_slot: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean gradients per split index over every user of every slot that has it."""
    longest = max(len(x) for users in per_slot for x in users)
    total = np.zeros(longest)
    count = np.zeros(longest, dtype=np.int64)
    for users in per_slot:
        for x in users:
            total[: len(x)] += x
            count[: len(x)] += 1
    return total / np.maximum(count, 1), count

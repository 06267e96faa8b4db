"""Agents on the queued env: long-run figures and the load sweep (docs/model.md §12).

:func:`run_queued` runs every agent for one episode per seed of ``NomaSplit-queue-v0``
(the same arrivals, harvests and channels for every agent: docs/model.md section
12.1) and returns one row per episode: long-run average cost, drop and miss rates
(per arrived task), mean queue length, battery outages (per user and slot), mean
sojourn time and decision time. :func:`load_sweep` repeats it over arrival rates and
writes ``episodes.csv``, ``summary.csv`` (means and 95% CIs over the seeds) and
``load.png``. From the command line::

    noma-split queue --agents li-gd lyapunov --rates 0.3,0.5,0.7,0.9 --seeds 3

Episodes run in parallel over the cores (``--workers``); the rows do not depend on
the number of workers (decision times aside).
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.base import Agent, make
from agents.parallel import run_tasks
from agents.runner import ci_half_width, default_workers
from noma_split_env import Scenario
from noma_split_env.files import atomic_write, write_json_rows
from noma_split_env.queue import QueueEnv

__all__ = ["QUEUE_METRICS", "load_sweep", "run_queued", "summarize"]

QUEUE_METRICS: tuple[tuple[str, str, float, str], ...] = (
    ("cost", "cost", 1.0, "long-run cost per slot"),
    ("loss_rate", "loss_rate", 1.0, "tasks dropped or missed / arrived"),
    ("queue", "queue_length", 1.0, "mean queue length [tasks]"),
    ("sojourn_ms", "sojourn_s", 1e3, "arrival to result [ms]"),
)
"""Plotted metrics of the load sweep: ``(summary name, episode column, scale, label)``."""

EPISODE_COLUMNS = (
    "agent", "seed", "arrival_rate", "steps", "cost", "latency_term", "energy_term",
    "drop_term", "miss_term", "arrived", "completed", "dropped", "expired", "drop_rate",
    "miss_rate", "loss_rate", "queue_length", "outage_rate", "sojourn_s",
    "decision_time_s",
)  # fmt: skip
"""Columns of an episode row."""


@dataclass(frozen=True)
class _Episode:
    label: str
    agent: Agent | str
    scenario: Scenario
    seed: int
    steps: int

    def describe(self) -> str:
        return f"agent {self.label!r}, seed {self.seed}, arrival_rate {self.scenario.arrival_rate}"


def _episode(task: _Episode) -> dict[str, Any]:
    agent = make(task.agent) if isinstance(task.agent, str) else task.agent
    env = QueueEnv(task.scenario, info_level="full")
    env.reset(seed=task.seed)
    agent.reset(task.seed)
    sums = {"cost": 0.0, "latency": 0.0, "energy": 0.0, "drop": 0.0, "miss": 0.0}
    queue = outages = 0.0
    decide = 0.0
    sojourn: list[float] = []
    k = task.scenario.num_users
    for _ in range(task.steps):
        start = time.perf_counter()
        allocation = agent.act(env.slot)
        decide += time.perf_counter() - start
        *_, info = env.step_allocation(allocation)
        sums["cost"] += info["cost"]
        for name, value in info["reward_terms"].items():
            sums[name] += value
        queue += float(info["queue_length"].mean())
        outages += info["num_outages"] / k
        sojourn.extend(info["sojourn_s"][info["completed"]].tolist())
    totals = env.totals
    arrived = max(totals["arrived"], 1)
    n = task.steps
    return {
        "agent": task.label,
        "seed": task.seed,
        "arrival_rate": task.scenario.arrival_rate,
        "steps": n,
        "cost": sums["cost"] / n,
        "latency_term": sums["latency"] / n,
        "energy_term": sums["energy"] / n,
        "drop_term": sums["drop"] / n,
        "miss_term": sums["miss"] / n,
        "arrived": totals["arrived"],
        "completed": totals["completed"],
        "dropped": totals["dropped"],
        "expired": totals["expired"],
        "drop_rate": totals["dropped"] / arrived,
        "miss_rate": totals["expired"] / arrived,
        "loss_rate": (totals["dropped"] + totals["expired"]) / arrived,
        "queue_length": queue / n,
        "outage_rate": outages / n,
        "sojourn_s": statistics.fmean(sojourn) if sojourn else 0.0,
        "decision_time_s": decide / n,
    }


def run_queued(
    agents: Mapping[str, Agent | str] | Sequence[str],
    scenario: Scenario,
    seeds: Sequence[int],
    steps: int | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """One episode row per (agent, seed) (module docstring), in that order.

    ``agents``: names, or labels mapped to agents or names; ``steps``: slots per
    episode (default ``scenario.max_episode_steps``); ``workers``: processes (default
    all cores).
    """
    named = dict(agents) if isinstance(agents, Mapping) else {a: a for a in agents}
    if not named:
        raise ValueError("run_queued.agents: got none, allowed: one or more agents")
    for label, agent in named.items():
        if isinstance(agent, str):
            make(agent)  # an unknown name fails here, with the list of names
        elif not hasattr(agent, "act"):
            raise ValueError(f"run_queued.agents[{label!r}]: got {agent!r}, allowed: an agent")
    steps = scenario.max_episode_steps if steps is None else steps
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"run_queued.steps: got {steps!r}, allowed: an integer >= 1")
    tasks = [
        _Episode(label, agent, scenario, int(seed), steps)
        for label, agent in named.items()
        for seed in seeds
    ]
    workers = default_workers() if workers is None else workers
    return run_tasks(_episode, tasks, min(workers, len(tasks)), progress=progress)


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (arrival rate, agent): episodes, the mean and 95% CI half-width over
    episodes of every :data:`QUEUE_METRICS` entry, and the mean drop, miss and outage
    rates and decision time."""
    out = []
    keys = list(dict.fromkeys((r["arrival_rate"], r["agent"]) for r in rows))
    for rate, agent in keys:
        mine = [r for r in rows if r["arrival_rate"] == rate and r["agent"] == agent]
        row: dict[str, Any] = {"value": rate, "agent": agent, "episodes": len(mine)}
        for name, column, scale, _ in QUEUE_METRICS:
            values = [scale * r[column] for r in mine]
            row[f"{name}_mean"] = statistics.fmean(values)
            row[f"{name}_ci"] = ci_half_width(values, 0.95)
        for column in ("drop_rate", "miss_rate", "outage_rate"):
            row[column] = statistics.fmean(r[column] for r in mine)
        row["decision_time_ms"] = 1e3 * statistics.fmean(r["decision_time_s"] for r in mine)
        out.append(row)
    return out


def load_sweep(
    agents: Mapping[str, Agent | str] | Sequence[str],
    scenario: Scenario,
    rates: Sequence[float],
    seeds: Sequence[int],
    out_dir: str | Path,
    steps: int | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """:func:`run_queued` at each arrival rate; writes ``episodes.csv``, ``summary.csv``
    and ``load.png`` into ``out_dir`` and returns the summary rows."""
    scenarios = [scenario.replace(arrival_rate=float(rate)) for rate in rates]
    rows: list[dict[str, Any]] = []
    for sc in scenarios:
        rows.extend(run_queued(agents, sc, seeds, steps, workers, progress))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(rows)
    _write_csv(out / "episodes.csv", rows)
    _write_csv(out / "summary.csv", summary)
    write_json_rows(out / "summary.json", summary)
    from train.plots import plot_sweep

    plot_sweep(summary, "arrival_rate", QUEUE_METRICS, out / "load.png")
    return summary


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

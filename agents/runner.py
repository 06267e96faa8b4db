"""Evaluation runner: every agent on the same seeds, episodes and channels, slot by slot.

>>> from agents.runner import run
>>> records = run(["all-local", "greedy"], "tiny", seeds=[0, 1], max_steps=3)
>>> len(records.rows)
12
>>> print(records.summary().format(["agent", "episodes", "cost_mean"]))
agent      episodes  cost_mean
all-local         2          1
greedy            2   0.587579

How it runs: one :class:`~noma_split_env.NomaSplitEnv` on ``scenario``; for each
agent, each seed and each episode ``e`` the env is reset (``reset(seed=seed)`` for
``e = 0``, then ``reset()``, which continues the env's seeded generator, as Gymnasium
intends) and so is the agent (``agent.reset(seed)`` for ``e = 0``, then
``agent.reset(None)``: a seeded agent continues its own stream). Each step the agent
decides on the env's current slot, ``env.unwrapped.slot``, and the env scores the
decision with :meth:`~noma_split_env.NomaSplitEnv.step_allocation` (the one
:func:`~noma_split_env.evaluate`). Mobility, fading and tasks do not depend on the
decisions (docs/model.md section 6), so every agent faces exactly the same slots.

The result is a :class:`Records` table, one row per slot (fields in
:data:`RECORD_SCHEMA`), written to CSV or JSON with the standard library, and
:meth:`Records.summary` gives per-agent means with a confidence interval on the cost.
"""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from agents.base import Agent, available, make
from noma_split_env import NomaSplitEnv, Scenario
from noma_split_env.files import atomic_write, write_json_rows

__all__ = [
    "BACKENDS",
    "RECORD_SCHEMA",
    "SUMMARY_SCHEMA",
    "Records",
    "Summary",
    "Table",
    "check_parallel",
    "ci_half_width",
    "default_workers",
    "run",
    "t_quantile",
]

RECORD_SCHEMA: tuple[tuple[str, type, str], ...] = (
    ("agent", str, "agent label"),
    ("seed", int, "seed of the episode's first reset"),
    ("episode", int, "episode index within the seed, 0.."),
    ("step", int, "slot index within the episode, 0.."),
    ("num_users", int, "K"),
    ("cost", float, "slot cost mean_k c_k + mu misses / K (reward = -cost)"),
    ("latency_term", float, "lambda mean_k T_k / T_ref,k"),
    ("energy_term", float, "(1 - lambda) mean_k E_k / E_ref,k"),
    ("failure_term", float, "what failed tasks add to the cost (docs/model.md section 5.3)"),
    ("miss_term", float, "mu misses / K"),
    ("latency_s", float, "mean_k T_k [s]"),
    ("t_local_s", float, "mean_k T_loc [s]"),
    ("t_up_s", float, "mean_k T_up [s]"),
    ("t_edge_s", float, "mean_k T_edge [s]"),
    ("t_dl_s", float, "mean_k T_dl [s]"),
    ("device_energy_j", float, "mean_k (E_loc + E_up) [J]"),
    ("edge_energy_j", float, "mean_k (E_edge + E_dl) [J]"),
    ("failures", int, "users whose task failed (a stage could not finish within the cap)"),
    ("misses", int, "users whose task failed or missed the deadline"),
    ("offloading", int, "users with s_k < L_k"),
    ("decision_time_s", float, "wall time of agent.act, measured by the runner [s]"),
    ("iterations", int, "agent.stats.iterations (0 if the agent has no stats)"),
    ("evaluations", int, "agent.stats.evaluations (0 if the agent has no stats)"),
)
"""Per-slot record fields: ``(name, type, meaning [unit])``. Means are over the K users."""

SUMMARY_SCHEMA: tuple[tuple[str, type, str], ...] = (
    ("agent", str, "agent label"),
    ("episodes", int, "episodes run"),
    ("slots", int, "slots run"),
    ("cost_mean", float, "mean slot cost"),
    ("cost_ci_half_width", float, "half-width of the confidence interval of cost_mean"),
    ("cost_ci_low", float, "cost_mean - cost_ci_half_width"),
    ("cost_ci_high", float, "cost_mean + cost_ci_half_width"),
    ("cost_median", float, "median slot cost (robust to the rare capped stages)"),
    ("latency_ms", float, "mean per-user latency [ms]"),
    ("t_up_ms", float, "mean per-user upload time [ms]"),
    ("device_energy_j", float, "mean per-user device energy per slot [J]"),
    ("edge_energy_j", float, "mean per-user edge energy per slot [J]"),
    ("failure_rate", float, "failed tasks / tasks"),
    ("miss_rate", float, "missed (failed or late) tasks / tasks"),
    ("offload_rate", float, "offloading users / users"),
    ("decision_time_ms", float, "mean wall time of agent.act [ms]"),
    ("iterations", float, "mean agent iterations per slot"),
)
"""Per-agent summary fields: ``(name, type, meaning [unit])``."""


# --------------------------------------------------------------------------- tables
class Table:
    """A light table: a list of row dicts over a fixed schema, saved with the stdlib.

    Subclasses set ``SCHEMA``, ``(name, type, meaning)`` per column; rows are plain
    dicts keyed by the column names, in schema order.
    """

    SCHEMA: ClassVar[tuple[tuple[str, type, str], ...]] = ()

    def __init__(self, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        names = self.columns
        self.rows: list[dict[str, Any]] = []
        for row in rows:
            if set(row) != set(names):
                raise ValueError(
                    f"{type(self).__name__}: got a row with columns {sorted(row)}, "
                    f"allowed: exactly {list(names)}"
                )
            self.rows.append({name: row[name] for name in names})

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(name for name, _, _ in self.SCHEMA)

    def column(self, name: str) -> list[Any]:
        """The values of column ``name``, one per row."""
        if name not in self.columns:
            raise ValueError(f"{type(self).__name__}.column: got {name!r}, allowed: {self.columns}")
        return [row[name] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return type(self) is type(other) and _rows_equal(self.rows, other.rows)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.rows)} rows x {len(self.columns)} columns)"

    # ---------------------------------------------------------------- files
    def to_csv(self, path: str | PathLike[str]) -> Path:
        """Write a CSV file with a header row; floats exactly (``repr``). Returns the path.

        The file appears complete or not at all (written atomically)."""
        path = Path(path)
        with atomic_write(path, newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(self.rows)
        return path

    def to_json(self, path: str | PathLike[str]) -> Path:
        """Write a JSON array of row objects (NaN and infinities as null), atomically.
        Returns the path."""
        return write_json_rows(path, self.rows)

    @classmethod
    def from_csv(cls, path: str | PathLike[str]) -> Table:
        """Read a file written by :meth:`to_csv` back, with the schema's types."""
        with Path(path).open(newline="", encoding="utf-8") as f:
            return cls(cls._typed(row) for row in csv.DictReader(f))

    @classmethod
    def from_json(cls, path: str | PathLike[str]) -> Table:
        """Read a file written by :meth:`to_json` back (null becomes NaN in float columns)."""
        with Path(path).open(encoding="utf-8") as f:
            return cls(cls._typed(row) for row in json.load(f))

    @classmethod
    def _typed(cls, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for name, kind, _ in cls.SCHEMA:
            value = row.get(name)
            if value is None and kind is float:
                out[name] = math.nan
            elif value is None:
                raise ValueError(f"{cls.__name__}: row {dict(row)!r} has no {name!r}")
            else:
                out[name] = kind(value)
        return out

    # ---------------------------------------------------------------- display
    def format(self, columns: Sequence[str] | None = None, digits: int = 6) -> str:
        """The table as aligned text (floats to ``digits`` significant digits)."""
        columns = self.columns if columns is None else tuple(columns)
        for name in columns:
            if name not in self.columns:
                raise ValueError(
                    f"{type(self).__name__}.format: got column {name!r}, allowed: {self.columns}"
                )
        cells = [list(columns)] + [
            [f"{row[c]:.{digits}g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
        kinds = dict((name, kind) for name, kind, _ in self.SCHEMA)
        lines = []
        for line in cells:
            parts = [
                cell.ljust(w) if kinds[c] is str else cell.rjust(w)
                for cell, w, c in zip(line, widths, columns, strict=True)
            ]
            lines.append("  ".join(parts).rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _rows_equal(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Row-wise equality where NaN equals NaN."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for key, va in ra.items():
            vb = rb.get(key)
            both_nan = isinstance(va, float) and isinstance(vb, float) and va != va and vb != vb
            if va != vb and not both_nan:
                return False
    return True


class Summary(Table):
    """Per-agent summary of a run (columns in :data:`SUMMARY_SCHEMA`)."""

    SCHEMA = SUMMARY_SCHEMA


class Records(Table):
    """Per-slot records of a run (columns in :data:`RECORD_SCHEMA`)."""

    SCHEMA = RECORD_SCHEMA

    @property
    def agents(self) -> tuple[str, ...]:
        """Agent labels in order of first appearance."""
        return tuple(dict.fromkeys(row["agent"] for row in self.rows))

    def summary(
        self, confidence: float = 0.95, over: Literal["episode", "slot"] = "episode"
    ) -> Summary:
        """Per-agent means, with a Student-t confidence interval on the mean cost.

        Args:
            confidence: Two-sided confidence level of the interval, in (0, 1).
            over: The samples of the interval. ``"episode"`` (default): the mean cost
                of each episode, the independent replications (slots within an
                episode are correlated through the users' positions and shadowing);
                ``cost_mean +- t_{(1+confidence)/2, n-1} sd / sqrt(n)`` with ``n``
                episodes and ``sd`` their sample standard deviation. ``"slot"``: every
                slot as a sample (narrower; valid only for nearly independent slots).
                With a single sample the half-width is NaN.

        ``cost_mean`` is the mean over all slots (episodes have equal lengths, so it
        also equals the mean of the episode means). The other columns are means
        over slots of the records' per-user means, in the units of
        :data:`SUMMARY_SCHEMA`; ``miss_rate = sum misses / sum K``.
        """
        if not (isinstance(confidence, float | int) and 0 < confidence < 1):
            raise ValueError(f"Records.summary.confidence: got {confidence!r}, allowed: (0, 1)")
        if over not in ("episode", "slot"):
            raise ValueError(f"Records.summary.over: got {over!r}, allowed: 'episode' or 'slot'")
        out = []
        for label in self.agents:
            rows = [r for r in self.rows if r["agent"] == label]
            episodes: dict[tuple[int, int], list[float]] = {}
            for r in rows:
                episodes.setdefault((r["seed"], r["episode"]), []).append(r["cost"])
            if over == "episode":
                samples = [statistics.fmean(costs) for costs in episodes.values()]
            else:
                samples = [r["cost"] for r in rows]
            cost_mean = statistics.fmean(r["cost"] for r in rows)
            half = ci_half_width(samples, confidence)
            users = sum(r["num_users"] for r in rows)
            out.append(
                {
                    "agent": label,
                    "episodes": len(episodes),
                    "slots": len(rows),
                    "cost_mean": cost_mean,
                    "cost_ci_half_width": half,
                    "cost_ci_low": cost_mean - half,
                    "cost_ci_high": cost_mean + half,
                    "cost_median": statistics.median(r["cost"] for r in rows),
                    "latency_ms": 1e3 * _mean(rows, "latency_s"),
                    "t_up_ms": 1e3 * _mean(rows, "t_up_s"),
                    "device_energy_j": _mean(rows, "device_energy_j"),
                    "edge_energy_j": _mean(rows, "edge_energy_j"),
                    "failure_rate": sum(r["failures"] for r in rows) / users,
                    "miss_rate": sum(r["misses"] for r in rows) / users,
                    "offload_rate": sum(r["offloading"] for r in rows) / users,
                    "decision_time_ms": 1e3 * _mean(rows, "decision_time_s"),
                    "iterations": _mean(rows, "iterations"),
                }
            )
        return Summary(out)


def _mean(rows: list[dict[str, Any]], name: str) -> float:
    return statistics.fmean(float(r[name]) for r in rows)


def ci_half_width(samples: Sequence[float], confidence: float) -> float:
    """Half-width of the two-sided Student-t interval of the mean of ``samples`` at
    ``confidence``; NaN with fewer than two samples."""
    n = len(samples)
    if n < 2:
        return math.nan
    return t_quantile((1 + confidence) / 2, n - 1) * statistics.stdev(samples) / math.sqrt(n)


def plus_minus(half_width: float, spec: str = ".4f", sep: str = "") -> str:
    """``"±<half_width>"`` in the format ``spec``, or ``"±n/a"`` where the interval is
    undefined (NaN: fewer than two samples, as :func:`ci_half_width` gives)."""
    if math.isnan(half_width):
        return f"±{sep}n/a"
    return f"±{sep}{half_width:{spec}}"


# --------------------------------------------------------------------------- statistics
def t_quantile(p: float, df: int) -> float:
    """Quantile of Student's t distribution with ``df`` degrees of freedom, ``p`` in (0, 1).

    For ``df <= 1000`` the exact CDF for integer ``df`` (Abramowitz & Stegun 26.7.3 and
    26.7.4, a finite series in ``theta = atan(t / sqrt(df))``) inverted by bisection
    on ``theta``; beyond, the Cornish-Fisher expansion A&S 26.7.5 around the normal
    quantile (error below 1e-12 there). No SciPy needed.

    >>> round(t_quantile(0.975, 4), 4)
    2.7764
    """
    if not 0 < p < 1:
        raise ValueError(f"t_quantile.p: got {p!r}, allowed: (0, 1)")
    if not isinstance(df, int | np.integer) or df < 1:
        raise ValueError(f"t_quantile.df: got {df!r}, allowed: an integer >= 1")
    df = int(df)
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if df > 1000:
        return _cornish_fisher(p, df)
    target = 2 * p - 1  # P(|T| <= t)
    lo, hi = 0.0, math.pi / 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if _t_central_probability(mid, df) < target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(df) * math.tan(0.5 * (lo + hi))


def _t_central_probability(theta: float, df: int) -> float:
    """``P(|T| <= sqrt(df) tan(theta))`` for integer ``df`` (A&S 26.7.3 / 26.7.4)."""
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 1:
        term, total = math.cos(theta), 0.0
        for j in range(1, (df - 1) // 2 + 1):  # cos, (2/3) cos^3, (2 4)/(3 5) cos^5, ...
            total += term
            term *= c2 * (2 * j) / (2 * j + 1)
        return 2 / math.pi * (theta + s * total)
    term, total = 1.0, 0.0
    for j in range(df // 2):  # 1, (1/2) cos^2, (1 3)/(2 4) cos^4, ...
        total += term
        term *= c2 * (2 * j + 1) / (2 * j + 2)
    return s * total


def _cornish_fisher(p: float, df: int) -> float:
    z = statistics.NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


# --------------------------------------------------------------------------- the run
BACKENDS = ("process", "ray")
"""Parallel backends of :func:`run`: a local process pool, or Ray tasks."""


def run(
    agents: Mapping[str, Agent] | Sequence[str],
    scenario: str | Scenario = "default",
    seeds: Sequence[int] = (0,),
    episodes_per_seed: int = 1,
    max_steps: int | None = None,
    workers: int | None = 1,
    backend: str = "process",
    address: str | None = None,
    progress: bool = False,
) -> Records:
    """Run every agent over the same seeds and episodes; one record per slot.

    Args:
        agents: Registered agent names (``["greedy", "li-gd"]``, or one name), each
            built with :func:`agents.make`, or a mapping ``label -> agent`` of built
            agents (a value may also be a registered name). Labels must be unique.
        scenario: A preset name or a :class:`~noma_split_env.Scenario`.
        seeds: Distinct seeds ``>= 0``, one series of episodes each.
        episodes_per_seed: Episodes per seed (>= 1).
        max_steps: Slots per episode; None = the scenario's ``max_episode_steps``
            (a larger value is capped there: the episode is truncated).
        workers: Parallel workers; 1 (default) runs everything in this process, None
            uses every core this process may run on (:func:`default_workers`). The
            tasks are the (agent, seed) pairs; more workers than tasks are not started.
        backend: ``"process"``: a pool of local worker processes. ``"ray"``: Ray
            tasks (``pip install "noma-split[ray]"``), on a local Ray instance
            started for the run or on the cluster at ``address``.
        address: A Ray cluster address (``"ray://host:10001"``, ``"host:6379"`` or
            ``"auto"``); only with ``backend="ray"``.
        progress: A progress bar over the tasks on stderr (tqdm).

    Every agent acts once on the first slot before the episodes, untimed and not
    recorded, so that decision times exclude one-off start-up costs (numba kernels
    are compiled on a fresh install's first call). Agents are reseeded at the start of
    each seed's first episode (``agent.reset(seed)``), so the warm-up call does not
    change their decisions, and each (agent, seed) task depends on nothing else:
    records are identical whatever the workers and the backend (the decision times
    aside). With several workers each task gets its own copy of the agent (a built
    agent is pickled; one that cannot be is an error) and warms it up on the seed's
    first slot; each worker computes on one thread (numba, torch), so that the
    workers share the cores instead of crowding them.

    Returns:
        The :class:`Records`, ordered by agent, seed, episode and step.

    Raises:
        ValueError: unknown agent names (the message lists the available ones),
            duplicate labels, empty or invalid ``seeds``, invalid counts, an unknown
            backend, an agent that cannot be sent to the workers.
        ImportError: ``backend="ray"`` without Ray installed.
        ConnectionError: no Ray cluster at ``address``.
        KeyboardInterrupt: Ctrl-C; the workers are stopped first.
        Exception: what a failing agent raised, with a note naming the agent, the
            seed, the episode and the step.
    """
    resolved = _resolve_agents(agents)
    seeds = _check_seeds(seeds)
    _check_count("episodes_per_seed", episodes_per_seed)
    if max_steps is not None:
        _check_count("max_steps", max_steps)
    check_parallel("run", workers, backend, address)
    if not isinstance(progress, bool):
        raise ValueError(f"run.progress: got {progress!r}, allowed: True or False")
    env = NomaSplitEnv(scenario)
    limit = env.scenario.max_episode_steps
    steps = limit if max_steps is None else min(max_steps, limit)
    tasks = [
        _Task(label, agent, env.scenario, seed, episodes_per_seed, steps)
        for label, agent in resolved.items()
        for seed in seeds
    ]
    count = default_workers() if workers is None else workers
    count = min(count, len(tasks))
    if backend == "process" and count == 1:
        return Records(_run_serial(env, resolved, seeds, episodes_per_seed, steps, progress))
    from agents.parallel import run_tasks

    results = run_tasks(_run_task, tasks, count, backend, address, progress)
    return Records(row for rows in results for row in rows)


def check_parallel(owner: str, workers: int | None, backend: str, address: str | None) -> None:
    """Raise a ValueError naming ``owner`` unless the parallel arguments of :func:`run`
    are valid."""
    if workers is not None and (
        not isinstance(workers, int | np.integer) or isinstance(workers, bool) or workers < 1
    ):
        raise ValueError(f"{owner}.workers: got {workers!r}, allowed: an integer >= 1 or None")
    if backend not in BACKENDS:
        raise ValueError(f"{owner}.backend: got {backend!r}, allowed: {', '.join(BACKENDS)}")
    if address is not None and (backend != "ray" or not isinstance(address, str) or not address):
        raise ValueError(
            f"{owner}.address: got {address!r} with backend {backend!r}, allowed: a Ray "
            "address, only with backend='ray'"
        )


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _run_serial(
    env: NomaSplitEnv,
    resolved: dict[str, Agent],
    seeds: list[int],
    episodes_per_seed: int,
    steps: int,
    progress: bool,
) -> list[dict[str, Any]]:
    """Every task in this process, in order, one env for all."""
    rows: list[dict[str, Any]] = []
    from agents.parallel import progress_bar

    bar = progress_bar(len(resolved) * len(seeds), progress)
    for label, agent in resolved.items():
        # one untimed call first: one-off costs (compiling or loading numba kernels,
        # torch start-up) are not decision time; every episode below reseeds the agent
        env.reset(seed=seeds[0])
        agent.reset(seeds[0])
        agent.act(env.unwrapped.slot)
        for seed in seeds:
            rows += _run_episodes(env, agent, label, seed, episodes_per_seed, steps)
            bar.update()
    bar.close()
    return rows


def _run_episodes(
    env: NomaSplitEnv, agent: Agent, label: str, seed: int, episodes: int, steps: int
) -> list[dict[str, Any]]:
    """The records of one seed's episodes (the env reset with ``seed`` first, then
    continuing its generator; the agent likewise)."""
    rows = []
    for episode in range(episodes):
        first = episode == 0
        env.reset(seed=seed if first else None)
        agent.reset(seed if first else None)
        for step in range(steps):
            rows.append(_run_slot(env, agent, label, seed, episode, step))
    return rows


@dataclass(frozen=True)
class _Task:
    """One (agent, seed) series of episodes: what a worker needs to run it."""

    label: str
    agent: Agent | str
    scenario: Scenario
    seed: int
    episodes: int
    steps: int

    def describe(self) -> str:
        return f"agent {self.label!r}, seed {self.seed}"


def _run_task(task: _Task) -> list[dict[str, Any]]:
    """A task in a worker: a fresh env, the agent warmed up on the seed's first slot."""
    agent = make(task.agent) if isinstance(task.agent, str) else task.agent
    env = NomaSplitEnv(task.scenario)
    env.reset(seed=task.seed)
    agent.reset(task.seed)
    agent.act(env.unwrapped.slot)
    return _run_episodes(env, agent, task.label, task.seed, task.episodes, task.steps)


def _run_slot(
    env: NomaSplitEnv, agent: Agent, label: str, seed: int, episode: int, step: int
) -> dict[str, Any]:
    slot = env.unwrapped.slot
    start = time.perf_counter()
    try:
        allocation = agent.act(slot)
        elapsed = time.perf_counter() - start
        _, _, _, _, info = env.unwrapped.step_allocation(allocation)
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(f"in agents.runner.run: agent {label!r}, seed {seed}, "
                         f"episode {episode}, step {step}")  # fmt: skip
        raise
    stats = getattr(agent, "stats", None)
    return {
        "agent": label,
        "seed": seed,
        "episode": episode,
        "step": step,
        "num_users": slot.num_users,
        "cost": float(info["cost"]),
        "latency_term": float(info["latency_term"]),
        "energy_term": float(info["energy_term"]),
        "failure_term": float(info["failure_term"]),
        "miss_term": float(info["miss_term"]),
        "latency_s": float(info["latency"].mean()),
        "t_local_s": float(info["t_local"].mean()),
        "t_up_s": float(info["t_up"].mean()),
        "t_edge_s": float(info["t_edge"].mean()),
        "t_dl_s": float(info["t_dl"].mean()),
        "device_energy_j": float(info["device_energy"].mean()),
        "edge_energy_j": float(info["edge_energy"].mean()),
        "failures": int(info["num_failed"]),
        "misses": int(info["num_misses"]),
        "offloading": int(np.count_nonzero(allocation.split < slot.num_layers)),
        "decision_time_s": elapsed,
        "iterations": int(getattr(stats, "iterations", 0)),
        "evaluations": int(getattr(stats, "evaluations", 0)),
    }


def _resolve_agents(agents: Mapping[str, Agent | str] | Sequence[str] | str) -> dict[str, Agent]:
    if isinstance(agents, str):
        agents = [agents]
    if isinstance(agents, Mapping):
        items = list(agents.items())
    elif isinstance(agents, Sequence):
        items = [(a, a) if isinstance(a, str) else (getattr(a, "name", None), a) for a in agents]
    else:
        raise ValueError(
            f"run.agents: got {agents!r}, allowed: a sequence of agent names or a mapping "
            "label -> agent"
        )
    if not items:
        raise ValueError("run.agents: got no agents, allowed: at least one")
    names = available()
    unknown = [v for _, v in items if isinstance(v, str) and v not in names]
    if unknown:
        raise ValueError(
            f"run.agents: unknown agent(s) {', '.join(map(repr, unknown))}; "
            f"available: {', '.join(names)}"
        )
    resolved: dict[str, Agent] = {}
    for label, value in items:
        if not isinstance(label, str) or not label:
            raise ValueError(f"run.agents: got label {label!r}, allowed: a non-empty string")
        if label in resolved:
            raise ValueError(f"run.agents: label {label!r} appears twice, allowed: unique labels")
        agent = make(value) if isinstance(value, str) else value
        if not (callable(getattr(agent, "act", None)) and callable(getattr(agent, "reset", None))):
            raise ValueError(
                f"run.agents[{label!r}]: got {agent!r}, allowed: an Agent (with act(slot) "
                "and reset(seed)) or a registered name"
            )
        resolved[label] = agent
    return resolved


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    if isinstance(seeds, int | np.integer):
        seeds = [seeds]
    seeds = list(seeds)
    if not seeds:
        raise ValueError("run.seeds: got an empty sequence, allowed: at least one seed")
    for s in seeds:
        if not isinstance(s, int | np.integer) or isinstance(s, bool) or s < 0:
            raise ValueError(f"run.seeds: got {s!r}, allowed: integers >= 0")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"run.seeds: got {seeds!r}, allowed: distinct seeds (no repeats)")
    return [int(s) for s in seeds]


def _check_count(name: str, value: int) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise ValueError(f"run.{name}: got {value!r}, allowed: an integer >= 1")

"""The comparison's figures (matplotlib, Agg backend: no display needed).

Each function draws one figure from plain rows (the tables of :mod:`train.compare`
and :mod:`train.training`) and writes it to ``path`` (PNG); none reads files. Colours
are fixed per agent, so the same agent has the same colour in every figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator, NullLocator

from noma_split_env.files import atomic_path

__all__ = [
    "plot_access",
    "plot_convergence",
    "plot_cost_bars",
    "plot_latency_cdf",
    "plot_learning_curves",
    "plot_sweep",
    "plot_tradeoff",
]

_PALETTE = plt.get_cmap("tab10").colors
_FIXED = {
    "li-gd": 0,
    "gd": 1,
    "greedy": 2,
    "all-edge": 3,
    "all-local": 7,
    "random": 5,
    "exhaustive": 6,
}


def agent_color(label: str, index: int = 0) -> Any:
    """A fixed colour for the built-in agents, the rest by position (RL agents: 4, 8, 9)."""
    if label in _FIXED:
        return _PALETTE[_FIXED[label]]
    return _PALETTE[(4, 8, 9)[index % 3]]


def _save(fig: plt.Figure, path: str | PathLike[str]) -> Path:
    path = Path(path)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:  # complete or absent, never a truncated picture
            fig.savefig(tmp, dpi=120)
    finally:
        plt.close(fig)
    return path


def plot_cost_bars(
    summary: Sequence[Mapping[str, Any]], path: str | PathLike[str], title: str = ""
) -> Path:
    """Mean slot cost per agent with its 95% confidence interval (rows of a Summary).

    Bars are sorted by cost; the dashed line is all-local (cost 1). Bars taller than
    3 are cut at 3 and labelled with their value, so one bad agent does not flatten
    the others.
    """
    rows = sorted(summary, key=lambda r: r["cost_mean"])
    labels = [r["agent"] for r in rows]
    means = np.array([r["cost_mean"] for r in rows])
    half = np.nan_to_num(np.array([r["cost_ci_half_width"] for r in rows]))
    top = 3.0
    fig, ax = plt.subplots(figsize=(1.1 * len(rows) + 2.5, 4.0))
    rl = 0
    colors = []
    for label in labels:
        colors.append(agent_color(label, rl))
        rl += label not in _FIXED
    shown = np.minimum(means, top)
    ax.bar(labels, shown, color=colors)
    inside = means <= top
    ax.errorbar(
        np.flatnonzero(inside), means[inside], yerr=half[inside], fmt="none", ecolor="k", capsize=4
    )
    for i, m in enumerate(means):
        y = min(m + half[i], top) if m <= top else top
        ax.text(i, y + 0.02, f"{m:.3g}", ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color="0.4", ls="--", lw=1, label="all-local = 1")
    ax.set_ylabel("mean slot cost (95% CI)")
    ax.set_ylim(0, min(top, max(1.1, float(np.max(shown + half)) * 1.15)) + 0.15)
    ax.set_title(title or "Cost per agent (lower is better)")
    ax.legend(loc="upper left", fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    return _save(fig, path)


def plot_latency_cdf(
    latencies_ms: Mapping[str, Sequence[float]], path: str | PathLike[str], title: str = ""
) -> Path:
    """Empirical CDF of the per-slot mean user latency [ms], one curve per agent (log x)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    rl = 0
    for label, values in latencies_ms.items():
        x = np.sort(np.asarray(values, dtype=float))
        y = np.arange(1, x.size + 1) / x.size
        ax.step(x, y, where="post", label=label, color=agent_color(label, rl))
        rl += label not in _FIXED
    ax.set_xscale("log")
    ax.set_xlabel("mean user latency in a slot [ms]")
    ax.set_ylabel("fraction of slots")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Latency CDF")
    return _save(fig, path)


def plot_tradeoff(rows: Sequence[Mapping[str, Any]], path: str | PathLike[str]) -> Path:
    """Latency against energy as lambda sweeps, one curve per agent.

    ``rows``: one per (agent, lambda) with ``agent``, ``latency_weight``,
    ``latency_ms`` and ``energy_j`` (mean per-user device + edge energy per slot).
    Each point is annotated with its lambda.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    labels = list(dict.fromkeys(r["agent"] for r in rows))
    rl = 0
    for label in labels:
        pts = sorted((r for r in rows if r["agent"] == label), key=lambda r: r["latency_weight"])
        x = [r["latency_ms"] for r in pts]
        y = [r["energy_j"] for r in pts]
        color = agent_color(label, rl)
        rl += label not in _FIXED
        ax.plot(x, y, "o-", color=color, label=label, ms=4)
        for r in pts:
            ax.annotate(
                f"{r['latency_weight']:g}",
                (r["latency_ms"], r["energy_j"]),
                textcoords="offset points",
                xytext=(4, 3),
                fontsize=7,
                color=color,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mean user latency [ms]")
    ax.set_ylabel("mean user energy, device + edge [J]")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Latency-energy trade-off as lambda goes 0 -> 1 (labels: lambda)")
    return _save(fig, path)


def plot_access(rows: Sequence[Mapping[str, Any]], path: str | PathLike[str]) -> Path:
    """Cost and latency of each agent under NOMA and OMA, grouped bars with 95% CI.

    ``rows``: one per (agent, access) with ``agent``, ``access``, ``cost_mean``,
    ``cost_ci_half_width`` and ``latency_ms``.
    """
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    modes = list(dict.fromkeys(r["access"] for r in rows))
    table = {(r["agent"], r["access"]): r for r in rows}
    x = np.arange(len(agents))
    width = 0.8 / len(modes)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.0))
    for j, mode in enumerate(modes):
        offset = (j - (len(modes) - 1) / 2) * width
        cost = [table[a, mode]["cost_mean"] for a in agents]
        half = np.nan_to_num([table[a, mode]["cost_ci_half_width"] for a in agents])
        lat = [table[a, mode]["latency_ms"] for a in agents]
        axes[0].bar(x + offset, cost, width, yerr=half, capsize=3, label=mode.upper())
        axes[1].bar(x + offset, lat, width, label=mode.upper())
    for ax, ylabel in zip(axes, ("mean slot cost (95% CI)", "mean user latency [ms]"), strict=True):
        ax.set_xticks(x, agents)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    axes[0].axhline(1.0, color="0.4", ls="--", lw=1)
    axes[0].set_title("NOMA vs OMA: cost")
    axes[1].set_title("NOMA vs OMA: latency")
    return _save(fig, path)


def plot_learning_curves(
    curves: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | PathLike[str],
    references: Mapping[str, float] | None = None,
    title: str = "",
) -> Path:
    """Evaluation cost against training steps, one curve per run.

    ``curves``: label -> rows with ``timesteps``, ``cost_mean`` and ``cost_std`` (the
    learning-curve table of a run). ``references``: label -> cost, drawn as
    horizontal lines (e.g. Li-GD and the heuristics in the comparison).
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    for i, (label, rows) in enumerate(curves.items()):
        if not rows:
            continue
        t = np.array([r["timesteps"] for r in rows], dtype=float)
        m = np.array([r["cost_mean"] for r in rows], dtype=float)
        s = np.nan_to_num(np.array([r["cost_std"] for r in rows], dtype=float))
        color = agent_color(label, i)
        ax.plot(t, m, "o-", ms=3, color=color, label=label)
        ax.fill_between(t, m - s, m + s, color=color, alpha=0.15, lw=0)
    for label, cost in (references or {}).items():
        ax.axhline(cost, ls="--", lw=1, color=agent_color(label), label=f"{label} ({cost:.3g})")
    finite = [r["cost_mean"] for rows in curves.values() for r in rows]
    finite += list((references or {}).values())
    if finite:
        low = min(finite)
        ax.set_ylim(max(0.0, 0.9 * low), min(max(finite), max(2.0, 1.6 * low)) * 1.05)
    ax.set_xlabel("training steps (slots)")
    ax.set_ylabel("evaluation cost per slot")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # nothing evaluated yet: no legend to draw
        ax.legend(fontsize=8)
    ax.set_title(title or "Learning curve (deterministic policy, fixed evaluation episodes)")
    return _save(fig, path)


def plot_sweep(
    rows: Sequence[Mapping[str, Any]],
    field: str,
    metrics: Sequence[tuple[str, str, float, str]],
    path: str | PathLike[str],
) -> Path:
    """One panel per metric against the values of ``field``, one line per agent with
    its 95% CI band (rows of :data:`train.sweep.SUMMARY_COLUMNS`, ``<metric>_mean`` and
    ``<metric>_ci``; ``metrics`` as :data:`train.sweep.METRICS`). Numeric values go on a
    numeric axis (a log axis when they span more than a decade and are positive),
    others (access, models, switches) one per tick."""
    values = list(dict.fromkeys(r["value"] for r in rows))
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        numbers = None
    x_of = dict(zip(values, numbers if numbers is not None else range(len(values)), strict=True))
    log_x = numbers is not None and min(numbers) > 0 and max(numbers) > 10 * min(numbers)
    columns = 2 if len(metrics) > 2 else len(metrics)
    lines = -(-len(metrics) // columns)
    fig, grid = plt.subplots(lines, columns, figsize=(4.6 * columns, 3.4 * lines), squeeze=False)
    axes = grid.ravel()
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    for ax, (name, _, _, label) in zip(axes, metrics, strict=False):
        means = np.array([r[f"{name}_mean"] for r in rows], dtype=float)
        # a log axis when one agent's values dwarf the others' (all-edge's cost often)
        log_y = means.min() > 0 and means.max() > 20 * means.min()
        for i, agent in enumerate(agents):
            mine = [r for r in rows if r["agent"] == agent]
            x = np.array([x_of[r["value"]] for r in mine], dtype=float)
            y = np.array([r[f"{name}_mean"] for r in mine], dtype=float)
            ci = np.nan_to_num(np.array([r[f"{name}_ci"] for r in mine], dtype=float))
            low = np.maximum(y - ci, y / 10) if log_y else y - ci
            color = agent_color(agent, i)
            ax.plot(x, y, marker="o", color=color, label=agent)
            ax.fill_between(x, low, y + ci, color=color, alpha=0.2, linewidth=0)
        ax.set_xlabel(field)
        ax.set_ylabel(label)
        if log_x:  # the values themselves as ticks, no minor labels
            ax.set_xscale("log")
            ax.set_xticks(numbers, values)
            ax.xaxis.set_minor_locator(NullLocator())
        if log_y:
            ax.set_yscale("log")
        if numbers is None:  # categories: one tick each
            ax.set_xticks(range(len(values)), values)
        elif not log_x and all(v.is_integer() for v in numbers):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"against {field} (95% CI over episodes)", fontsize=10)
    return _save(fig, path)


def plot_convergence(
    curves: Mapping[str, Any], agents: Sequence[str], path: str | PathLike[str]
) -> Path:
    """Li-GD against GD (:func:`train.convergence.convergence`): mean best cost against
    gradients (log axis), and the mean gradients spent at each split of the users'
    split loops."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    grid = np.asarray(curves["grid"])
    for i, agent in enumerate(agents):
        color = agent_color(agent, i)
        left.plot(grid, curves[agent]["cost"], color=color, label=agent)
        per_split = np.asarray(curves[agent]["split_gradients"])
        right.plot(np.arange(per_split.size), per_split, marker="o", markersize=3,
                   color=color, label=agent)  # fmt: skip
    left.set_xscale("log")
    left.set_xlabel("gradients spent on the slot")
    left.set_ylabel("best cost found so far (mean over slots)")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    right.set_xlabel("split s of a user's split loop")
    right.set_ylabel("gradients at split s (mean per user and slot)")
    right.grid(alpha=0.3)
    fig.suptitle("Li-GD's warm start against GD's cold starts (same search, same slots)",
                 fontsize=10)  # fmt: skip
    return _save(fig, path)

"""``noma-split sweep``: agents against one Scenario field at a time, with 95% CIs.

Each ``--vary FIELD=v1,v2,...`` is a one-dimensional sweep around the base scenario
(the preset ``--scenario``): for every value the field is set (everything else as in
the preset) and every agent runs on the same seeds (:func:`agents.runner.run`, in
parallel with ``workers``). Several ``--vary`` are several sweeps, one plot each. A
named study (:data:`STUDIES`, ``--study NAME``) is a set of sweeps that reproduces a
figure of a NOMA-MEC evaluation section.

Files written to the results folder (``results/sweep__<scenario>__<time>`` unless
``--out``):

``records.csv`` / ``.json``  every slot: ``field``, ``value`` and the columns of
                             :data:`agents.runner.RECORD_SCHEMA`
``summary.csv`` / ``.json``  one row per (field, value, agent): :data:`SUMMARY_COLUMNS`,
                             each metric's mean and the half-width of its 95%
                             Student-t interval over episodes
``<field>.png``              cost, latency, device and edge energy against the value,
                             one line per agent, with the CI bands
``summary.md``               the command and the summary tables
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from agents.parallel import progress_bar as make_bar
from agents.runner import check_parallel, ci_half_width, plus_minus, run
from noma_split_env import PRESETS, Scenario
from noma_split_env.files import (
    atomic_write,
    check_output_dir,
    claim_dir,
    exclusive_dir,
    missing_root,
    release_dir,
    write_json_rows,
    write_rows,
)
from noma_split_env.scenario import FIELD_RANGES
from train.extras import model_based_agents

__all__ = [
    "STUDIES",
    "SUMMARY_COLUMNS",
    "SWEEPABLE",
    "SweepConfig",
    "SweepResult",
    "parse_vary",
    "sweep",
]

SWEEPABLE: tuple[str, ...] = (*FIELD_RANGES, "access", "allocate_edge_share", "models")
"""The Scenario fields a sweep can vary: every numeric field, the access scheme, the
edge-share switch and the model mix (one model, or several joined by ``+``)."""

METRICS: tuple[tuple[str, str, float, str], ...] = (
    ("cost", "cost", 1.0, "slot cost (all-local = 1)"),
    ("latency_ms", "latency_s", 1e3, "latency per user [ms]"),
    ("device_energy_j", "device_energy_j", 1.0, "device energy per user [J]"),
    ("edge_energy_j", "edge_energy_j", 1.0, "edge energy per user [J]"),
)
"""Plotted metrics: ``(summary name, record column, scale, axis label)``."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "field",
    "value",
    "agent",
    "episodes",
    "slots",
    *(f"{name}{part}" for name, *_ in METRICS for part in ("_mean", "_ci")),
    "miss_rate",
    "offload_rate",
    "decision_time_ms",
)
"""Columns of ``summary.csv``: ``<metric>_mean`` and ``<metric>_ci`` (half-width of the
95% CI over episodes) for cost, latency [ms], device and edge energy [J]."""


@dataclass(frozen=True)
class Study:
    """A named set of sweeps."""

    description: str
    vary: tuple[tuple[str, tuple[Any, ...]], ...]


STUDIES: dict[str, Study] = {
    "users": Study("cost against the number of users K", (("num_users", (2, 4, 6, 8)),)),
    "bandwidth": Study(
        "cost against the uplink subchannel bandwidth",
        (("ul_bandwidth_hz", (1e6, 2e6, 5e6, 10e6, 20e6)),),
    ),
    "power": Study(
        "cost against the user power budget",
        (("user_max_power_w", (0.05, 0.1, 0.2, 0.5, 1.0)),),
    ),
    "sic": Study(
        "cost against the SIC residual psi", (("sic_residual", (0.0, 0.01, 0.05, 0.1, 0.2)),)
    ),
    "access": Study("NOMA against OMA", (("access", ("noma", "oma")),)),
    "tradeoff": Study(
        "the latency-energy trade-off (latency weight lambda)",
        (("latency_weight", (0.0, 0.25, 0.5, 0.75, 1.0)),),
    ),
}
STUDIES["convergence"] = Study(
    "Li-GD against GD: cost against gradients, gradients per split-loop iteration", ()
)
STUDIES["paper"] = Study(
    "every study above, one figure each",
    tuple(sweep for study in list(STUDIES.values()) for sweep in study.vary),
)
CONVERGENCE_STUDIES = ("convergence", "paper")
"""Studies that include the convergence study (:mod:`train.convergence`)."""

DEFAULT_AGENTS = ("li-gd", "greedy", "all-edge", "all-local")
"""Agents of a sweep unless ``--agents`` is given."""


# --------------------------------------------------------------------------- parsing
def parse_vary(text: str) -> tuple[str, tuple[Any, ...]]:
    """``"FIELD=v1,v2,..."`` as ``(field, values)``, each value of the field's type.

    Raises:
        ValueError: one line: no ``=``, an unknown field (the message lists the
            sweepable ones), no values, a repeated value, or a value the field does
            not allow (the message gives the range).
    """
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep:
        raise ValueError(f"--vary {text!r}: expected FIELD=v1,v2,... (e.g. num_users=2,4,8)")
    if name not in SWEEPABLE:
        raise ValueError(
            f"--vary {text!r}: unknown field {name!r}; sweepable Scenario fields: "
            f"{', '.join(SWEEPABLE)}"
        )
    items = [item.strip() for item in rest.split(",")]
    if not rest.strip() or any(not item for item in items):
        raise ValueError(f"--vary {text!r}: expected one or more comma-separated values")
    values = tuple(_parse_value(name, item) for item in items)
    if len(set(map(repr, values))) != len(values):
        raise ValueError(f"--vary {text!r}: a value appears twice, allowed: distinct values")
    return name, values


def _parse_value(name: str, text: str) -> Any:
    rng = FIELD_RANGES.get(name)
    if rng is not None:
        if rng.optional and text.lower() == "none":
            return None
        try:
            value: Any = int(text) if rng.integer else float(text)
        except ValueError:
            raise ValueError(f"--vary {name}: got {text!r}, allowed: {rng.allowed()}") from None
        if not rng.contains(value):
            raise ValueError(f"--vary {name}: got {text!r}, allowed: {rng.allowed()}")
        return value
    if name == "access":
        if text not in ("noma", "oma"):
            raise ValueError(f"--vary access: got {text!r}, allowed: noma, oma")
        return text
    if name == "allocate_edge_share":
        flag = {"true": True, "false": False}.get(text.lower())
        if flag is None:
            raise ValueError(f"--vary allocate_edge_share: got {text!r}, allowed: true, false")
        return flag
    return tuple(text.split("+"))  # models: one name, or several joined by "+"


def _label(value: Any) -> str:
    """A value as it appears in the files and on the plots' axes."""
    if isinstance(value, tuple):
        return "+".join(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class SweepConfig:
    """Settings of one sweep; the defaults are ``noma-split sweep``'s."""

    vary: tuple[tuple[str, tuple[Any, ...]], ...]
    """``(field, values)`` per sweep (:func:`parse_vary`)."""
    scenario: str = "default"
    """The base scenario preset."""
    agents: tuple[str, ...] = DEFAULT_AGENTS
    """Registered agents."""
    seeds: tuple[int, ...] = tuple(range(5))
    """Seeds of the episodes (one episode each)."""
    steps: int = 20
    """Slots per episode."""
    out: str | None = None
    """Results folder; None = a new ``results/sweep__<scenario>__<time>``."""
    overwrite: bool = False
    """Allow ``out`` to be a non-empty folder."""
    workers: int | None = None
    """Parallel workers; None = every core."""
    backend: str = "process"
    """``"process"`` or ``"ray"``."""
    address: str | None = None
    """Ray cluster address (``backend="ray"``)."""
    study: str | None = None
    """The named study the sweeps come from, if any (recorded in ``summary.md``)."""
    convergence: bool = False
    """Also run the convergence study of Li-GD against GD (:mod:`train.convergence`)
    on the base scenario, ``seeds`` x ``steps``; set by ``study`` when it includes it."""

    def __post_init__(self) -> None:
        if self.scenario not in PRESETS:
            raise ValueError(
                f"sweep.scenario: got {self.scenario!r}, allowed: {', '.join(PRESETS)}"
            )
        if not self.vary and not self.convergence:
            raise ValueError("sweep.vary: got no sweeps, allowed: --vary FIELD=v1,... or --study")
        names = [name for name, _ in self.vary]
        if len(set(names)) != len(names):
            raise ValueError(f"sweep.vary: got {names}, allowed: each field once")
        for name, values in self.vary:
            for value in values:  # every scenario is valid before anything runs
                try:
                    Scenario.preset(self.scenario, **{name: value})
                except ValueError as error:
                    raise ValueError(f"--vary {name}={_label(value)}: {error}") from None
        valid = model_based_agents()
        for name in self.agents:
            if name not in valid:
                raise ValueError(
                    f"sweep.agents: unknown agent {name!r}; choose from {', '.join(valid)}"
                )
        if not self.agents:
            raise ValueError("sweep.agents: got none, allowed: at least one agent")
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 1:
            raise ValueError(f"sweep.steps: got {self.steps!r}, allowed: an integer >= 1")
        if not self.seeds or any(not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"sweep.seeds: got {self.seeds!r}, allowed: integers >= 0")
        check_parallel("sweep", self.workers, self.backend, self.address)


@dataclass
class SweepResult:
    """Everything a sweep produced (also written to ``out_dir``)."""

    out_dir: Path
    records: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    plots: dict[str, Path] = field(default_factory=dict)
    wall_time_s: float = 0.0
    convergence: dict[str, Any] | None = None
    """The curves of the convergence study, if it ran (:func:`train.convergence.convergence`)."""


# --------------------------------------------------------------------------- the run
def sweep(
    config: SweepConfig,
    *,
    progress_bar: bool = True,
    log: Callable[[str], None] = print,
    command: str = "",
) -> SweepResult:
    """Run the sweeps of ``config`` and write the results folder (module docstring).

    A sweep that fails or is interrupted leaves no half-made folder behind.
    """
    start = time.perf_counter()
    if config.out is None:
        check_output_dir("results", "results folder", overwrite=True)
        target = _default_out(config.scenario)
    else:
        check_output_dir(
            config.out,
            "--out",
            overwrite=config.overwrite,
            hint="pass --overwrite to write into it",
        )
        target = Path(config.out)
    made = missing_root(target)
    if config.out is None:
        out_dir, created = exclusive_dir(target), True
    else:
        out_dir, created = target, claim_dir(target, "--out", overwrite=config.overwrite)
    try:
        result = _run(config, out_dir, progress_bar, log)
        if config.convergence:
            from train.convergence import convergence

            log(f"convergence: li-gd against gd, {len(config.seeds)} seeds x {config.steps} slots")
            result.convergence = convergence(
                Scenario.preset(config.scenario), config.seeds, config.steps, out_dir
            )
        result.wall_time_s = time.perf_counter() - start
        _write(result, config, command)
        return result
    except BaseException:
        if created:
            import shutil

            shutil.rmtree(out_dir, ignore_errors=True)
            if made is not None and made != out_dir and not any(made.rglob("*")):
                shutil.rmtree(made, ignore_errors=True)
        raise
    finally:
        release_dir(out_dir)


def _default_out(scenario: str) -> Path:
    return Path("results") / f"sweep__{scenario}__{datetime.now():%Y%m%d-%H%M%S}"


def _run(
    config: SweepConfig, out_dir: Path, progress: bool, log: Callable[[str], None]
) -> SweepResult:
    parallel = {"workers": config.workers, "backend": config.backend, "address": config.address}
    records: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    total = sum(len(values) for _, values in config.vary)
    bar = make_bar(total, progress, unit="value", desc="sweep")
    try:
        _run_sweeps(config, parallel, records, summary, bar, log)
    finally:
        bar.close()
    return SweepResult(out_dir, records, summary)


def _run_sweeps(
    config: SweepConfig,
    parallel: dict[str, Any],
    records: list[dict[str, Any]],
    summary: list[dict[str, Any]],
    bar: Any,
    log: Callable[[str], None],
) -> None:
    for name, values in config.vary:
        log(f"{name} = {', '.join(map(_label, values))}: {', '.join(config.agents)}, "
            f"{len(config.seeds)} seeds x {config.steps} slots")  # fmt: skip
        for value in values:
            scenario = Scenario.preset(config.scenario, **{name: value})
            rows = run(
                list(config.agents), scenario, config.seeds, max_steps=config.steps, **parallel
            ).rows
            bar.update()
            label = _label(value)
            records += [{"field": name, "value": label} | row for row in rows]
            summary += [
                {"field": name, "value": label} | _summarize(rows, agent) for agent in config.agents
            ]


def _summarize(rows: Sequence[Mapping[str, Any]], agent: str) -> dict[str, Any]:
    """One agent's means and 95% CI half-widths over its episodes."""
    mine = [r for r in rows if r["agent"] == agent]
    episodes: dict[tuple[int, int], list[Mapping[str, Any]]] = {}
    for r in mine:
        episodes.setdefault((r["seed"], r["episode"]), []).append(r)
    out: dict[str, Any] = {"agent": agent, "episodes": len(episodes), "slots": len(mine)}
    for name, column, scale, _ in METRICS:
        per_episode = [
            scale * statistics.fmean(r[column] for r in slots) for slots in episodes.values()
        ]
        out[f"{name}_mean"] = scale * statistics.fmean(r[column] for r in mine)
        out[f"{name}_ci"] = ci_half_width(per_episode, 0.95)
    users = sum(r["num_users"] for r in mine)
    out["miss_rate"] = sum(r["misses"] for r in mine) / users
    out["offload_rate"] = sum(r["offloading"] for r in mine) / users
    out["decision_time_ms"] = 1e3 * statistics.fmean(r["decision_time_s"] for r in mine)
    return out


# --------------------------------------------------------------------------- files
def _write(result: SweepResult, config: SweepConfig, command: str) -> None:
    out = result.out_dir
    if result.records:  # not for the convergence study alone
        write_rows(out / "records.csv", result.records)
        write_json_rows(out / "records.json", result.records)
        write_rows(out / "summary.csv", result.summary)
        write_json_rows(out / "summary.json", result.summary)
    from train.plots import plot_sweep

    for name, _ in config.vary:
        rows = [r for r in result.summary if r["field"] == name]
        result.plots[name] = plot_sweep(rows, name, METRICS, out / f"{name}.png")
    _write_markdown(result, config, command)


def _write_markdown(result: SweepResult, config: SweepConfig, command: str) -> None:
    lines = [f"# NomaSplit sweep on {config.scenario}", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += [
        f"Agents {', '.join(config.agents)}; {len(config.seeds)} seeds x {config.steps} slots "
        f"per value; means with 95% CIs over episodes; wall time {result.wall_time_s:.0f} s.",
        "",
    ]
    for name, _ in config.vary:
        lines += [f"## {name}", "", f"![{name}]({name}.png)", ""]
        header = ["value", "agent", "cost", "latency [ms]", "device E [J]", "edge E [J]"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in result.summary:
            if r["field"] != name:
                continue
            cells = [r["value"], r["agent"]] + [
                f"{r[f'{m}_mean']:{spec}} {plus_minus(r[f'{m}_ci'], spec, ' ')}"
                for m, spec in (
                    ("cost", ".4f"),
                    ("latency_ms", ".1f"),
                    ("device_energy_j", ".4f"),
                    ("edge_energy_j", ".4f"),
                )
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if result.convergence is not None:
        curves = result.convergence
        lines += ["## convergence: Li-GD against GD", "", "![convergence](convergence.png)", ""]
        for agent in ("li-gd", "gd"):
            cost = curves[agent]["cost"]
            lines.append(
                f"- {agent}: mean best cost {cost[-1]:.4f} after all its gradients; "
                f"mean gradients per split, user and slot "
                f"{float(np.mean(curves[agent]['split_gradients'])):.1f}"
            )
        lines.append("")
    with atomic_write(result.out_dir / "summary.md") as f:
        f.write("\n".join(lines))

"""The comparison, the project's main job: ``noma-split compare``.

:func:`compare` runs, on the same seeds (so on the very same slots):

1. **the main table**: Li-GD, GD, the heuristics and RL policies (by default the
   policy shipped for the scenario, :mod:`train.pretrained`; with ``runs`` the runs
   given, with ``train`` one trained on the spot as well), with
   :func:`agents.runner.run`; per agent the mean slot cost with its 95% confidence
   interval over episodes, latency, device and edge energy, deadline-miss rate and
   decision time;
2. **the latency-energy trade-off**: Li-GD against the heuristics as the latency
   weight lambda (``Scenario.latency_weight``) sweeps from 0 (energy only) to 1
   (latency only);
3. **NOMA against OMA** (``Scenario.access``): the same agents on both.

and writes the results folder (``results/<scenario>__<time>/`` or ``out``):

=======================  =============================================================
``records.csv`` / json   every slot of the main table (:data:`agents.runner.RECORD_SCHEMA`)
``summary.csv`` / json   one row per agent (:data:`agents.runner.SUMMARY_SCHEMA`)
``summary.md``           the tables, the settings and the figures, in Markdown
``sweep.csv``            the lambda sweep, one row per (agent, lambda)
``access.csv``           NOMA vs OMA, one row per (agent, access)
``cost.png``             mean cost per agent with its 95% CI
``latency_cdf.png``      CDF of the per-slot mean latency
``tradeoff.png``         latency against energy along the lambda sweep
``noma_vs_oma.png``      cost and latency under NOMA and OMA
``learning_curve.png``   evaluation cost of the RL runs against training steps
``runs/``                the policy trained on the spot (``--train``; reuse it with
                         ``--run``)
=======================  =============================================================

Everything but the decision times is reproducible: same arguments, same numbers
(the RL training included, on CPU).
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agents.runner import Records, Summary, check_parallel, plus_minus, run
from noma_split_env import PRESETS, Scenario
from noma_split_env.files import (
    atomic_write,
    check_output_dir,
    claim_dir,
    exclusive_dir,
    missing_root,
    release_dir,
    write_rows,
)
from train.extras import model_based_agents

__all__ = [
    "DEFAULT_AGENTS",
    "CompareConfig",
    "CompareResult",
    "compare",
    "format_table",
    "markdown_table",
]

DEFAULT_AGENTS = ("li-gd", "gd", "greedy", "all-edge", "all-local", "random")
"""Model-based agents of the main table."""
SWEEP_AGENTS = ("li-gd", "greedy", "all-edge", "all-local")
"""Agents of the lambda sweep and of NOMA vs OMA."""


@dataclass(frozen=True)
class CompareConfig:
    """Settings of one comparison; the defaults are ``noma-split compare``'s."""

    scenario: str = "default"
    """Scenario preset."""
    seeds: tuple[int, ...] = tuple(range(10))
    """Seeds of the episodes (one episode each); every agent faces the same slots."""
    steps: int = 50
    """Slots per episode."""
    agents: tuple[str, ...] = DEFAULT_AGENTS
    """Registered model-based agents of the main table."""
    runs: tuple[str, ...] = ()
    """RL run folders (or model files) to include."""
    train: bool = False
    """Train ``algo`` on the spot (``--train``) and include it."""
    algo: str = "ppo"
    """Algorithm trained on the spot with ``train``."""
    timesteps: int | None = None
    """Training budget on the spot [steps]; None = the training config's."""
    train_seed: int = 0
    """Seed of the training on the spot."""
    train_config: str | None = None
    """YAML config of the training on the spot (default: ``train/configs/<algo>.yaml``)."""
    lambdas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    """Latency weights of the trade-off sweep."""
    sweep_agents: tuple[str, ...] = SWEEP_AGENTS
    """Agents of the lambda sweep and of NOMA vs OMA."""
    sweep_steps: int = 20
    """Slots per episode in the sweep and in NOMA vs OMA (same seeds)."""
    out: str | None = None
    """Results folder; None = a new ``results/<scenario>__<time>``. An existing
    non-empty folder is refused unless ``overwrite``."""
    overwrite: bool = False
    """Allow ``out`` to be a non-empty folder (its files of the same names are replaced)."""
    workers: int | None = None
    """Parallel workers of the runs (:func:`agents.runner.run`); None = every core."""
    backend: str = "process"
    """``"process"`` (local worker processes) or ``"ray"``."""
    address: str | None = None
    """Ray cluster address (``backend="ray"``); None = a local Ray instance."""

    def __post_init__(self) -> None:
        if self.scenario not in PRESETS:
            raise ValueError(
                f"unknown scenario {self.scenario!r}; choose from {', '.join(PRESETS)}"
            )
        valid = model_based_agents()
        for name in (*self.agents, *self.sweep_agents):
            if name not in valid:
                raise ValueError(
                    f"unknown agent {name!r}; choose from {', '.join(valid)} (learned "
                    "policies: the "
                    "shipped one by default, --run, --train)"
                )
        from train.config import ALGORITHMS

        if self.algo not in ALGORITHMS:
            raise ValueError(
                f"unknown algorithm {self.algo!r}; choose from {', '.join(sorted(ALGORITHMS))}"
            )
        for name in ("steps", "timesteps", "sweep_steps"):
            value = getattr(self, name)
            if name == "timesteps" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"compare.{name}: got {value!r}, allowed: an integer >= 1")
        if not self.seeds or any(not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"compare.seeds: got {self.seeds!r}, allowed: integers >= 0")
        for lam in self.lambdas:
            if not 0 <= lam <= 1:
                raise ValueError(f"compare.lambdas: got {lam!r}, allowed: numbers in [0, 1]")
        check_parallel("compare", self.workers, self.backend, self.address)

    @property
    def parallel(self) -> dict[str, Any]:
        """The parallel arguments of :func:`agents.runner.run`."""
        return {"workers": self.workers, "backend": self.backend, "address": self.address}


@dataclass
class CompareResult:
    """Everything a comparison produced (also written to ``out_dir``)."""

    out_dir: Path
    records: Records
    summary: Summary
    sweep: list[dict[str, Any]]
    access: list[dict[str, Any]]
    rl_runs: dict[str, Path]
    """RL label -> run folder."""
    curves: dict[str, list[dict[str, float]]]
    """RL label -> learning curve."""
    timings_s: dict[str, float] = field(default_factory=dict)
    """Wall time of each stage [s]: train, main, sweep, access, total."""
    table: str = ""
    """The printed table."""


# --------------------------------------------------------------------------- tables
_COLUMNS = (
    ("agent", "agent", "{}"),
    ("cost", "cost", "{:.4f}"),
    ("ci", "95% CI", plus_minus),
    ("vs", "vs Li-GD", "{:.3f}"),
    ("latency_ms", "latency [ms]", "{:.2f}"),
    ("device_energy_j", "device E [J]", "{:.4f}"),
    ("edge_energy_j", "edge E [J]", "{:.4f}"),
    ("miss_rate", "miss rate", "{:.3f}"),
    ("decision_time_ms", "decision [ms]", "{:.3f}"),
)


def _table_cells(summary: Summary, reference: str = "li-gd") -> tuple[list[str], list[list[str]]]:
    ref = next((r["cost_mean"] for r in summary if r["agent"] == reference), None)
    columns = [c for c in _COLUMNS if c[0] != "vs" or ref is not None]
    header = [title for _, title, _ in columns]
    lines = []
    for row in sorted(summary, key=lambda r: r["cost_mean"]):
        values = {
            **row,
            "cost": row["cost_mean"],
            "ci": row["cost_ci_half_width"],
            "vs": row["cost_mean"] / ref if ref else math.nan,
        }
        cells = []
        for key, _, fmt in columns:
            value = values[key]
            if callable(fmt):  # a formatter of its own, NaN included
                cells.append(fmt(value))
            elif isinstance(value, float) and math.isnan(value):
                cells.append("n/a")
            else:
                cells.append(fmt.format(value))
        lines.append(cells)
    return header, lines


def format_table(summary: Summary, reference: str = "li-gd") -> str:
    """The comparison table as aligned text, sorted by cost (``vs Li-GD`` = cost ratio)."""
    header, lines = _table_cells(summary, reference)
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]
    out = []
    for cells in [header, *lines]:
        parts = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        out.append("  ".join(parts).rstrip())
    return "\n".join(out)


def markdown_table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table; first column left-aligned, the others right-aligned."""
    align = ["---"] + ["---:"] * (len(header) - 1)
    rows = [header, align, *lines]
    return "\n".join("| " + " | ".join(map(str, r)) + " |" for r in rows)


# --------------------------------------------------------------------------- stages
def _training_config(config: CompareConfig) -> Any:
    """The validated config of the training on the spot (nothing is created)."""
    from train.config import load_config

    return load_config(
        config.algo,
        path=config.train_config,
        overrides={
            "scenario": config.scenario,
            "timesteps": config.timesteps,
            "seed": config.train_seed,
        },
    )


def _train_on_the_spot(
    cfg: Any, out_dir: Path, progress_bar: bool, log: Callable[[str], None]
) -> str:
    """Train ``cfg`` into ``out_dir/runs``; the run folder."""
    from train.training import train

    log(
        f"training {cfg.algo} on {cfg.scenario}: {cfg.timesteps} steps, seed {cfg.seed} "
        f"(skip with --run RUN_DIR)"
    )
    result = train(cfg, out_dir / "runs", progress_bar=progress_bar, log=log)
    if result.interrupted:
        raise KeyboardInterrupt(
            f"training interrupted at step {result.timesteps}; resume it with "
            f"`noma-split train --resume {result.run_dir}`"
        )
    log(f"trained in {result.wall_time_s:.0f} s: {result.run_dir}")
    return str(result.run_dir)


def _load_runs(
    paths: Sequence[str], taken: Sequence[str], scenario: str
) -> tuple[dict[str, Any], dict[str, Path], dict[str, list[dict[str, float]]]]:
    """The trained policies of ``paths`` as agents, labelled by algorithm (``ppo``,
    ``ppo-2``, ... avoiding the ``taken`` labels), with their run folders and curves;
    each checked to fit the preset ``scenario``."""
    built: dict[str, Any] = {}
    if not paths:
        return built, {}, {}
    from train.sb3_agent import SB3Agent
    from train.training import read_curve

    run_dirs: dict[str, Path] = {}
    curves: dict[str, list[dict[str, float]]] = {}
    for path in paths:
        agent = SB3Agent(path)
        agent.check_scenario(Scenario.preset(scenario))
        label, i = agent.algo, 1
        while label in built or label in taken:
            i += 1
            label = f"{agent.algo}-{i}"
        built[label] = agent
        run_dirs[label] = agent.run_dir
        curves[label] = read_curve(agent.run_dir)
    return built, run_dirs, curves


def _shipped_policy(
    scenario: str, log: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, Path], dict[str, list[dict[str, float]]]]:
    """The policy shipped for ``scenario`` (:mod:`train.pretrained`), labelled
    ``pretrained``; none, with a note, if the package has none for it."""
    from train.pretrained import PretrainedAgent, shipped
    from train.training import read_curve

    if scenario not in shipped():
        log(
            f"no pretrained policy is shipped for {scenario} (only for "
            f"{', '.join(shipped()) or 'none'}): the table has no RL policy; add one with "
            "--train or --run RUN_DIR"
        )
        return {}, {}, {}
    agent = PretrainedAgent(scenario)
    log(f"RL policy: the pretrained {agent.algo} shipped for {scenario} (train one with --train)")
    return (
        {"pretrained": agent},
        {"pretrained": agent.run_dir},
        {"pretrained": read_curve(agent.run_dir)},
    )


def _make_out_dir(config: CompareConfig) -> tuple[Path, bool]:
    """The results folder, taken now for this comparison alone: ``(path, created)``.

    The default, ``results/<scenario>__<time>``, is always new (``-2``, ``-3``, ... if
    taken, also by a comparison started in the same second); ``config.out`` (checked
    by :func:`_check_out`) is created, or claimed if it exists and is empty, or used as
    it is with ``overwrite``; a comparison started at the same moment on the same
    ``out`` gets an error instead of sharing it."""
    if config.out is None:
        return exclusive_dir(default_out_dir(config.scenario)), True
    path = Path(config.out)
    return path, claim_dir(path, "--out", overwrite=config.overwrite)


def _check_out(config: CompareConfig) -> None:
    """Refuse, before any computation, an ``out`` that is a file, cannot be written or
    is a non-empty folder (unless ``overwrite``); the default parent likewise."""
    if config.out is None:
        check_output_dir("results", "results folder", overwrite=True)
    else:
        check_output_dir(
            config.out,
            "--out",
            overwrite=config.overwrite,
            hint="pass --overwrite to write into it",
        )


_VARIED_COLUMNS = (
    "cost_mean",
    "cost_ci_half_width",
    "latency_ms",
    "t_up_ms",
    "device_energy_j",
    "edge_energy_j",
    "failure_rate",
)
"""Summary columns kept per (agent, value) by :func:`_vary`."""


def _vary(
    config: CompareConfig, field: str, values: Sequence[Any], progress: bool = False
) -> list[dict[str, Any]]:
    """The sweep agents on the comparison's seeds with ``Scenario.field`` set to each of
    ``values`` in turn: one row per (agent, value) with :data:`_VARIED_COLUMNS`."""
    rows = []
    for value in values:
        scenario = Scenario.preset(config.scenario, **{field: value})
        records = run(
            list(config.sweep_agents), scenario, config.seeds, max_steps=config.sweep_steps,
            progress=progress, **config.parallel,
        )  # fmt: skip
        for row in records.summary():
            rows.append(
                {"agent": row["agent"], field: value}
                | {name: row[name] for name in _VARIED_COLUMNS}
                | {"energy_j": row["device_energy_j"] + row["edge_energy_j"]}
            )
    return rows


# --------------------------------------------------------------------------- main
def default_out_dir(scenario: str, when: datetime | None = None) -> Path:
    """``results/<scenario>__<YYYYmmdd-HHMMSS>``."""
    return Path("results") / f"{scenario}__{(when or datetime.now()).strftime('%Y%m%d-%H%M%S')}"


def compare(
    config: CompareConfig,
    *,
    progress_bar: bool = True,
    log: Callable[[str], None] = print,
    command: str = "",
) -> CompareResult:
    """Run the comparison of the module docstring and write the results folder.

    Args:
        config: The settings.
        progress_bar: Show the progress bars of the training on the spot and of the runs.
        log: Where progress lines go (``print`` by default).
        command: The command line, recorded in ``summary.md``.

    Raises:
        ValueError / FileNotFoundError: a bad run folder or model file (one line).
        KeyboardInterrupt: Ctrl-C during the training on the spot (its checkpoint is
            saved; the message says how to resume).
    """
    start = time.perf_counter()
    # everything is checked before anything is created: a failing command leaves nothing
    _check_out(config)
    training = _training_config(config) if config.train else None
    rl, run_dirs, curves = _load_runs(config.runs, config.agents, config.scenario)
    if not config.runs and not config.train:
        rl, run_dirs, curves = _shipped_policy(config.scenario, log)
    # undo on failure: the folder made here, and the parents made for it
    target = Path(config.out) if config.out else default_out_dir(config.scenario)
    made = missing_root(target)
    out_dir, created = _make_out_dir(config)
    try:
        return _run_stages(
            config, out_dir, training, rl, run_dirs, curves, progress_bar, log, command, start
        )
    except BaseException:
        # a policy trained here (or its interrupt checkpoint) is kept; nothing else is
        if created and not any((out_dir / "runs").glob("*")):
            shutil.rmtree(out_dir, ignore_errors=True)
            if (
                made is not None
                and made != out_dir
                and not any(f.is_file() for f in made.rglob("*"))
            ):
                shutil.rmtree(made, ignore_errors=True)
        raise
    finally:
        release_dir(out_dir)


def _run_stages(
    config: CompareConfig,
    out_dir: Path,
    training: Any,
    rl: dict[str, Any],
    run_dirs: dict[str, Path],
    curves: dict[str, list[dict[str, float]]],
    progress_bar: bool,
    log: Callable[[str], None],
    command: str,
    start: float,
) -> CompareResult:
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    if training is not None:
        path = _train_on_the_spot(training, out_dir, progress_bar, log)
        trained = _load_runs([path], [*config.agents, *rl], config.scenario)
        rl, run_dirs, curves = rl | trained[0], run_dirs | trained[1], curves | trained[2]
    timings["train"] = time.perf_counter() - tick

    tick = time.perf_counter()
    everyone: dict[str, Any] = {name: name for name in config.agents} | rl
    log(
        f"comparing {', '.join(everyone)} on {config.scenario}: {len(config.seeds)} seeds x "
        f"{config.steps} slots"
    )
    records = run(
        everyone, config.scenario, config.seeds, max_steps=config.steps,
        progress=progress_bar, **config.parallel,
    )  # fmt: skip
    summary = records.summary()
    timings["main"] = time.perf_counter() - tick

    tick = time.perf_counter()
    log(f"lambda sweep {list(config.lambdas)}: {', '.join(config.sweep_agents)}")
    sweep = _vary(config, "latency_weight", [float(x) for x in config.lambdas], progress_bar)
    timings["sweep"] = time.perf_counter() - tick
    tick = time.perf_counter()
    log("NOMA vs OMA")
    access = _vary(config, "access", ["noma", "oma"], progress_bar)
    timings["access"] = time.perf_counter() - tick

    result = CompareResult(out_dir, records, summary, sweep, access, run_dirs, curves, timings)
    result.table = format_table(summary)
    _write_outputs(result, config)
    timings["total"] = time.perf_counter() - start
    _write_markdown(result, config, command)
    return result


def _write_outputs(result: CompareResult, config: CompareConfig) -> None:
    from train import plots

    out = result.out_dir
    result.records.to_csv(out / "records.csv")
    result.records.to_json(out / "records.json")
    result.summary.to_csv(out / "summary.csv")
    result.summary.to_json(out / "summary.json")
    if result.sweep:
        write_rows(out / "sweep.csv", result.sweep)
        plots.plot_tradeoff(result.sweep, out / "tradeoff.png")
    write_rows(out / "access.csv", result.access)
    title = f"{config.scenario}: {len(config.seeds)} seeds x {config.steps} slots"
    plots.plot_cost_bars(list(result.summary), out / "cost.png", title=f"Cost per agent, {title}")
    latencies = {
        label: [1e3 * r["latency_s"] for r in result.records if r["agent"] == label]
        for label in result.records.agents
    }
    plots.plot_latency_cdf(latencies, out / "latency_cdf.png", title=f"Latency CDF, {title}")
    plots.plot_access(result.access, out / "noma_vs_oma.png")
    if any(result.curves.values()):
        costs = {r["agent"]: r["cost_mean"] for r in result.summary}
        refs = {k: costs[k] for k in ("li-gd", "greedy", "all-local") if k in costs}
        plots.plot_learning_curves(
            result.curves,
            out / "learning_curve.png",
            references=refs,
            title="Learning curve (lines: the comparison's costs, on its own seeds)",
        )


def _write_markdown(result: CompareResult, config: CompareConfig, command: str) -> None:
    header, lines = _table_cells(result.summary)
    parts = [
        f"# NomaSplit comparison: {config.scenario}",
        "",
        f"Command: `{command}`" if command else "",
        "",
        f"Seeds {list(config.seeds)}, {config.steps} slots per episode; every agent "
        "faces the same slots. Cost = mean over slots of mean_k [lambda T_k/T_ref,k + "
        "(1-lambda) E_k/E_ref,k] + mu misses/K (all-local = 1); 95% CI over episodes; "
        "latency and energies are per user and slot; `vs Li-GD` = cost / Li-GD's cost.",
        "",
        markdown_table(header, lines),
        "",
        "![cost per agent](cost.png)",
        "![latency CDF](latency_cdf.png)",
    ]
    if result.rl_runs:
        parts += ["", "## RL runs", ""]
        for label, path in result.rl_runs.items():
            curve = result.curves.get(label) or []
            last = f", last evaluation cost {curve[-1]['cost_mean']:.4f}" if curve else ""
            steps = f" at {curve[-1]['timesteps']} steps" if curve else ""
            parts.append(f"- `{label}`: `{path}`{last}{steps}")
        if any(result.curves.values()):
            parts += ["", "![learning curve](learning_curve.png)"]
    if result.sweep:
        parts += [
            "",
            "## Latency-energy trade-off (lambda sweep)",
            "",
            f"{config.sweep_steps} slots per seed.",
            "",
            markdown_table(
                ["agent", "lambda", "cost", "latency [ms]", "energy [J]"],
                [
                    [
                        r["agent"],
                        f"{r['latency_weight']:g}",
                        f"{r['cost_mean']:.4f}",
                        f"{r['latency_ms']:.2f}",
                        f"{r['energy_j']:.4f}",
                    ]
                    for r in result.sweep
                ],
            ),
            "",
            "![trade-off](tradeoff.png)",
        ]
    parts += [
        "",
        "## NOMA vs OMA",
        "",
        markdown_table(
            ["agent", "access", "cost", "95% CI", "latency [ms]", "upload [ms]"],
            [
                [
                    r["agent"],
                    r["access"].upper(),
                    f"{r['cost_mean']:.4f}",
                    plus_minus(r["cost_ci_half_width"]),
                    f"{r['latency_ms']:.2f}",
                    f"{r['t_up_ms']:.2f}",
                ]
                for r in result.access
            ],
        ),
        "",
        "![NOMA vs OMA](noma_vs_oma.png)",
        "",
        "Wall time [s]: "
        + ", ".join(f"{k} {v:.0f}" for k, v in result.timings_s.items())
        + " (decision times and wall times vary between runs; everything else is "
        "reproducible).",
        "",
    ]
    with atomic_write(result.out_dir / "summary.md") as f:
        f.write("\n".join(parts))

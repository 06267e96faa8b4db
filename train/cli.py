"""``noma-split``: the project's command line.

    noma-split rollout [--scenario default] [--agent li-gd] [--steps 10] [--seed 0]
    noma-split train   [--algo ppo] [--scenario default] [--timesteps N] [--seed 0]
                       [--config my.yaml] [--resume RUN_DIR]
    noma-split compare [--scenario default] [--seeds 10] [--steps 50] [--run RUN_DIR]
    noma-split sweep   --vary FIELD=V1,V2,... | --study NAME [--agents ...] [--seeds 5]
    noma-split queue   [--agents ...] [--rates 0.3,0.5,0.7,0.9] [--seeds 3] [--run RUN_DIR]
    noma-split cache   [--clear-stale | --clear]

Each subcommand is argument parsing and wiring only; the logic lives in importable
modules of :mod:`train` and :mod:`agents`. Errors are one line on stderr with a
non-zero exit code: 2 for bad input (a missing RL extra included), 130 for Ctrl-C,
whatever the command is doing (importing, compiling, inside a numba kernel, saving).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import NoReturn

__all__ = ["build_parser", "main"]

ALGOS = ("a2c", "ppo", "sac", "td3")
"""Algorithms of ``train`` (see :data:`train.config.ALGORITHMS`)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``noma-split <cmd>: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Help(argparse.HelpFormatter):
    """Help lines end with ``(default: X)`` where there is a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if default in (None, argparse.SUPPRESS) or isinstance(default, bool) or "(default" in text:
            return text
        if isinstance(default, list):  # numbers as --lambdas takes them, names as nargs
            numbers = all(isinstance(x, (int, float)) for x in default)
            default = ",".join(f"{x:g}" for x in default) if numbers else " ".join(default)
        return f"{text} (default: {default})" if text else f"(default: {default})"


# --------------------------------------------------------------------------- rollout
def _rollout(args: argparse.Namespace) -> int:
    from train.rollout import rollout

    print(
        f"NomaSplit rollout: scenario={args.scenario} agent={args.agent} "
        f"steps={args.steps} seed={args.seed}"
    )
    header = f"{'slot':>4} {'cost':>7} {'latency[ms]':>12} {'device E[J]':>12} "
    header += f"{'edge E[J]':>10} {'offload':>8} {'misses':>7}"
    print(header)
    costs = []
    for r in rollout(args.scenario, args.agent, args.steps, args.seed):
        costs.append(r.cost)
        print(
            f"{r.step:>4} {r.cost:>7.4f} {r.latency_ms:>12.2f} {r.device_energy_j:>12.4f} "
            f"{r.edge_energy_j:>10.4f} {r.offloading:>8d} {r.misses:>7d}"
        )
    print(f"mean cost over {len(costs)} slots: {sum(costs) / len(costs):.4f} (all-local = 1)")
    return 0


# --------------------------------------------------------------------------- train
def _train(args: argparse.Namespace) -> int:
    from train.extras import require_rl

    require_rl("noma-split train")
    from train.config import load_config
    from train.training import resume, train

    if args.resume:
        given = [
            f
            for f in ("algo", "scenario", "env", "seed", "config", "n_envs", "init")
            if getattr(args, f)
        ]
        if given:
            flags = ", ".join("--" + f.replace("_", "-") for f in given)
            raise ValueError(
                f"--resume continues a run with its own config.yaml; drop {flags} "
                "(only --timesteps may change)"
            )
        print(f"NomaSplit train: resuming {args.resume}")
        result = resume(args.resume, args.timesteps, progress_bar=args.progress_bar)
    else:
        config = load_config(
            args.algo,
            path=args.config,
            overrides={
                "scenario": args.scenario,
                "env": args.env,
                "timesteps": args.timesteps,
                "seed": args.seed,
                "n_envs": args.n_envs,
                "init": args.init,
            },
        )
        print(
            f"NomaSplit train: algo={config.algo} scenario={config.scenario} "
            + (f"env={config.env} " if config.env != "v0" else "")
            + f"timesteps={config.timesteps} seed={config.seed} view={config.action_view}"
            + (f" init={config.init}" if config.init != "none" else "")
        )
        result = train(config, args.runs_dir, progress_bar=args.progress_bar)
    if result.interrupted:
        print(
            f"\nnoma-split train: interrupted at step {result.timesteps}: checkpoint saved to "
            f"{result.model_path}; resume with: noma-split train --resume {result.run_dir}",
            file=sys.stderr,
        )
        return 130
    curve = result.curve
    last = f", evaluation cost {curve[-1]['cost_mean']:.4f} per slot" if curve else ""
    print(f"trained {result.timesteps} steps in {result.wall_time_s:.0f} s{last}")
    print(f"run folder: {result.run_dir}")
    print("  model.zip, vecnormalize.pkl, config.yaml, learning_curve.csv/.png, tb/ (TensorBoard)")
    from train.config import read_yaml

    if read_yaml(result.run_dir / "config.yaml").get("env") == "queue":
        print(f"compare it: noma-split queue --run {result.run_dir}")
    else:
        print(f"compare it: noma-split compare --run {result.run_dir}")
    return 0


# --------------------------------------------------------------------------- compare
def _compare(args: argparse.Namespace) -> int:
    from train.extras import require_rl

    require_rl("noma-split compare (it trains or loads an RL policy)")
    from train.compare import DEFAULT_AGENTS, CompareConfig, compare

    start = time.perf_counter()
    config = CompareConfig(
        scenario=args.scenario,
        seeds=tuple(range(args.seeds)),
        steps=args.steps,
        agents=tuple(args.agents) if args.agents is not None else DEFAULT_AGENTS,
        runs=tuple(args.run or ()),
        algo=args.algo,
        train=args.train,
        timesteps=args.timesteps,
        train_seed=args.train_seed,
        train_config=args.config,
        lambdas=tuple(args.lambdas),
        sweep_steps=args.sweep_steps,
        out=args.out,
        overwrite=args.overwrite,
        workers=args.workers,
        backend=args.backend,
        address=args.address,
    )
    result = compare(config, progress_bar=args.progress_bar, command=_command(args))
    print()
    print(
        f"NomaSplit comparison: scenario={config.scenario}, {len(config.seeds)} seeds x "
        f"{config.steps} slots (95% CI over episodes)"
    )
    print(result.table)
    print(f"\nresults: {result.out_dir} (summary.md, records.csv/json, *.png)")
    print(f"wall time: {time.perf_counter() - start:.0f} s")
    return 0


# --------------------------------------------------------------------------- sweep
def _sweep(args: argparse.Namespace) -> int:
    import numpy as np

    from agents.runner import plus_minus
    from train.sweep import (
        CONVERGENCE_STUDIES,
        DEFAULT_AGENTS,
        STUDIES,
        SweepConfig,
        parse_vary,
        sweep,
    )

    if not args.vary and args.study is None:
        raise ValueError("give --vary FIELD=v1,v2,... (repeatable) or --study NAME")
    vary = [parse_vary(text) for text in args.vary or ()]
    if args.study is not None:
        vary = list(STUDIES[args.study].vary) + vary
    start = time.perf_counter()
    config = SweepConfig(
        vary=tuple(vary),
        scenario=args.scenario,
        agents=tuple(args.agents) if args.agents is not None else DEFAULT_AGENTS,
        seeds=tuple(range(args.seeds)),
        steps=args.steps,
        out=args.out,
        overwrite=args.overwrite,
        workers=args.workers,
        backend=args.backend,
        address=args.address,
        study=args.study,
        convergence=args.study in CONVERGENCE_STUDIES,
    )
    result = sweep(config, progress_bar=args.progress_bar, command=_command(args))
    print()
    for name, _ in config.vary:
        print(f"{name}: mean cost (95% CI over {len(config.seeds)} episodes)")
        rows = [r for r in result.summary if r["field"] == name]
        values = list(dict.fromkeys(r["value"] for r in rows))
        width = max(8, *(len(v) for v in values))
        print("  " + "agent".ljust(10) + "".join(v.rjust(width + 10) for v in values))
        for agent in config.agents:
            cells = [
                f"{r['cost_mean']:.4f} {plus_minus(r['cost_ci'])}"
                for r in rows
                if r["agent"] == agent
            ]
            print("  " + agent.ljust(10) + "".join(c.rjust(width + 10) for c in cells))
    if result.convergence is not None:
        print("convergence (li-gd against gd on the same slots):")
        for agent in ("li-gd", "gd"):
            curve = result.convergence[agent]
            total = result.convergence["grid"][np.argmax(curve["cost"] <= curve["cost"][-1])]
            print(f"  {agent:<6} reaches its final mean cost {curve['cost'][-1]:.4f} after "
                  f"{int(total)} gradients; {float(np.mean(curve['split_gradients'])):.1f} "
                  "gradients per split, user and slot")  # fmt: skip
    files = ", ".join(sorted(p.name for p in result.out_dir.iterdir() if p.is_file()))
    print(f"\nresults: {result.out_dir} ({files})")
    print(f"wall time: {time.perf_counter() - start:.0f} s")
    return 0


# --------------------------------------------------------------------------- queue
def _queue(args: argparse.Namespace) -> int:
    from datetime import datetime
    from pathlib import Path

    from agents.lyapunov import Lyapunov
    from agents.runner import plus_minus
    from noma_split_env import Scenario
    from noma_split_env.files import check_output_dir
    from noma_split_env.queue import QUEUE_DEFAULTS
    from train.queued import load_sweep
    from train.sweep import parse_vary

    fields = dict(QUEUE_DEFAULTS)
    for text in args.set or ():
        name, values = parse_vary(text)
        if len(values) != 1:
            raise ValueError(f"--set {text!r}: give one value, FIELD=VALUE")
        fields[name] = values[0]
    _, rates = parse_vary(f"arrival_rate={args.rates}")
    scenario = Scenario.preset(args.scenario, **fields)
    for rate in rates:
        scenario.replace(arrival_rate=rate)  # every rate checked before anything runs
    agents = {a: Lyapunov(v=args.v) if a == "lyapunov" else a for a in args.agents}
    for run_dir in args.run or ():
        from train.extras import require_rl

        require_rl("noma-split queue --run")
        from train.sb3_agent import SB3Agent

        policy = SB3Agent(run_dir)
        if policy.config.env != "queue":
            raise ValueError(
                f"--run {run_dir!r}: trained on env {policy.config.env!r}, allowed: a run "
                "trained with --env queue"
            )
        policy.check_scenario(scenario)
        label = policy.algo if policy.algo not in agents else f"{policy.algo}-{len(agents)}"
        agents[label] = policy
    out = Path(args.out or f"results/queue__{args.scenario}__{datetime.now():%Y%m%d-%H%M%S}")
    hint = "pass --overwrite to write into it"
    check_output_dir(out, "--out", overwrite=args.overwrite or not args.out, hint=hint)
    steps = args.steps or scenario.max_episode_steps
    print(
        f"NomaSplit queue: scenario={args.scenario} agents={' '.join(agents)} "
        f"rates={','.join(f'{r:g}' for r in rates)} seeds={args.seeds} steps={steps}"
    )
    start = time.perf_counter()
    summary = load_sweep(
        agents, scenario, rates, range(args.seeds), out, steps, args.workers, args.progress_bar
    )
    battery = scenario.battery_capacity_j is not None
    header = f"{'rate':>5} {'agent':<10} {'cost':>16} {'drops':>7} {'misses':>7} {'queue':>6} "
    header += f"{'sojourn[ms]':>12} {'decide[ms]':>11}" + (f" {'outages':>8}" if battery else "")
    print(header)
    for r in summary:
        print(
            f"{r['value']:>5g} {r['agent']:<10} {r['cost_mean']:>8.4f} "
            f"{plus_minus(r['cost_ci']):<7} "
            f"{r['drop_rate']:>7.3f} {r['miss_rate']:>7.3f} {r['queue_mean']:>6.2f} "
            f"{r['sojourn_ms_mean']:>12.0f} {r['decision_time_ms']:>11.2f}"
            + (f" {r['outage_rate']:>8.3f}" if battery else "")
        )
    print(f"\nresults: {out} (episodes.csv, summary.csv, summary.json, load.png)")
    print(f"wall time: {time.perf_counter() - start:.0f} s")
    return 0


# --------------------------------------------------------------------------- cache
def _cache(args: argparse.Namespace) -> int:
    from train.imitation import cache_dir, cached_datasets

    found = cached_datasets()
    print(f"expert cache: {cache_dir()} ($NOMA_SPLIT_CACHE moves it)")
    removed = 0
    for item in found:
        state = "current" if item.current else ("stale" if item.expert else "unreadable")
        drop = args.clear or (args.clear_stale and not item.current)
        if drop:
            item.path.unlink(missing_ok=True)
            removed += item.size_bytes
        mark = "  removed" if drop else ""
        print(f"  {item.size_bytes / 1e6:8.1f} MB  {state:<10} {item.path.name}{mark}")
    total = sum(item.size_bytes for item in found)
    print(f"{len(found)} datasets, {total / 1e6:.1f} MB; removed {removed / 1e6:.1f} MB")
    return 0


# --------------------------------------------------------------------------- parsing
def _command(args: argparse.Namespace) -> str:
    """The command line as typed, for the summaries (``noma-split compare ...``)."""
    return ("noma-split " + " ".join(shlex.quote(a) for a in args.argv)).strip()


def _choice(name: str, choices: Sequence[str]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise argparse.ArgumentTypeError(
                f"unknown {name} {value!r}; choose from {', '.join(choices)}"
            )
        return value

    return parse


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
        if number < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {number}")
        return number

    return parse


_positive_int = _int_at_least(1)


def _lambdas(value: str) -> list[float]:
    try:
        out = [float(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers in [0, 1], got {value!r}"
        ) from None
    if any(not 0 <= x <= 1 for x in out):
        raise argparse.ArgumentTypeError(f"latency weights must be in [0, 1], got {value!r}")
    return out


def _agents() -> list[str]:
    from train.extras import model_based_agents

    return list(model_based_agents())


def build_parser() -> argparse.ArgumentParser:
    from noma_split_env import PRESETS

    parser = _Parser(prog="noma-split", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    scenario = _choice("scenario", list(PRESETS))
    from train.compare import DEFAULT_AGENTS

    scenarios = f"one of {', '.join(PRESETS)}"
    agent_names = f"from {', '.join(_agents())}"
    algos = f"one of {', '.join(ALGOS)}"

    roll = sub.add_parser(
        "rollout",
        help="run an agent for a few slots and print them",
        formatter_class=_Help,
    )
    roll.add_argument("--scenario", type=scenario, default="default", help=scenarios)
    roll.add_argument(
        "--agent", type=_choice("agent", _agents()), default="li-gd", help=agent_names
    )
    roll.add_argument("--steps", type=_positive_int, default=10, help="slots")
    roll.add_argument("--seed", type=_int_at_least(0), default=0, help="episode seed")
    roll.set_defaults(handler=_rollout)

    tr = sub.add_parser(
        "train",
        formatter_class=_Help,
        help="train an RL policy (PPO, A2C, SAC, TD3) into runs/<scenario>__<algo>__<seed>__<time>",
        description="Train an SB3 policy. Settings: train/configs/<algo>.yaml, then --config, "
        "then these flags.",
    )
    tr.add_argument("--algo", type=_choice("algorithm", ALGOS), help=f"{algos} (default: ppo)")
    tr.add_argument("--scenario", type=scenario, help=f"{scenarios} (default: the config's)")
    tr.add_argument(
        "--env",
        type=_choice("env", ("v0", "queue")),
        help="v0, or queue: the queued variant NomaSplit-queue-v0 (default: the config's)",
    )
    tr.add_argument(
        "--timesteps",
        type=_int_at_least(0),
        help="training steps (slots) in total (0 with --init bc: the clone alone)",
    )
    tr.add_argument(
        "--init",
        type=_choice("init", ("none", "bc")),
        help="bc: behaviour-clone Li-GD first, then RL from there (default: the config's)",
    )
    tr.add_argument("--seed", type=_int_at_least(0), help="seed of everything (default 0)")
    tr.add_argument("--n-envs", type=_positive_int, help="parallel envs (default: the config's)")
    tr.add_argument("--config", help="YAML config (a copy of train/configs/<algo>.yaml)")
    tr.add_argument("--runs-dir", default="runs", help="parent of the run folder (default runs)")
    tr.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    tr.add_argument(
        "--no-progress-bar", dest="progress_bar", action="store_false", help="no progress bar"
    )
    tr.set_defaults(handler=_train)

    cmp_ = sub.add_parser(
        "compare",
        help="compare Li-GD, GD, the heuristics and RL on the same seeds; write results/",
        description="Compare agents on the same slots, with the shipped pretrained policy "
        "(or --run RUN_DIR, or --train).",
        formatter_class=_Help,
    )
    cmp_.add_argument("--scenario", type=scenario, default="default", help=scenarios)
    cmp_.add_argument("--seeds", type=_positive_int, default=10, help="episodes: seeds 0..N-1")
    cmp_.add_argument("--steps", type=_positive_int, default=50, help="slots per episode")
    cmp_.add_argument(
        "--agents",
        nargs="+",
        type=_choice("agent", _agents()),
        help=f"model-based agents, {agent_names} (default: {' '.join(DEFAULT_AGENTS)})",
    )
    cmp_.add_argument(
        "--run", action="append", metavar="RUN_DIR", help="trained RL run (repeatable)"
    )
    cmp_.add_argument(
        "--train",
        action="store_true",
        help="train --algo on the spot and include it (default: the shipped pretrained policy)",
    )
    cmp_.add_argument(
        "--algo",
        type=_choice("algorithm", ALGOS),
        default="ppo",
        help=f"{algos}, trained with --train",
    )
    cmp_.add_argument(
        "--timesteps",
        type=_positive_int,
        help="training budget with --train (default: the config's)",
    )
    cmp_.add_argument("--train-seed", type=_int_at_least(0), default=0, help="training seed")
    cmp_.add_argument("--config", help="YAML config of the training with --train")
    cmp_.add_argument(
        "--lambdas", type=_lambdas, default=[0.0, 0.25, 0.5, 0.75, 1.0], help="e.g. 0,0.5,1"
    )
    cmp_.add_argument("--sweep-steps", type=_positive_int, default=20, help="slots per seed")
    _output_arguments(cmp_, "a new results/<scenario>__<time>")
    _parallel_arguments(cmp_)
    cmp_.set_defaults(handler=_compare)

    from train.sweep import DEFAULT_AGENTS as SWEEP_AGENTS
    from train.sweep import STUDIES

    studies = "; ".join(f"{name}: {study.description}" for name, study in STUDIES.items())
    sw = sub.add_parser(
        "sweep",
        help="agents against Scenario fields, one field at a time; CSV/JSON, CIs, plots",
        description="Sweep Scenario fields around a preset, one at a time, every agent on "
        "the same seeds; write records, a summary with 95% CIs and one plot per field.",
        formatter_class=_Help,
    )
    sw.add_argument(
        "--vary",
        action="append",
        metavar="FIELD=V1,V2,...",
        help="a Scenario field and its values (repeatable: one sweep and plot each)",
    )
    sw.add_argument(
        "--study", type=_choice("study", list(STUDIES)), help=f"a named study ({studies})"
    )
    sw.add_argument("--scenario", type=scenario, default="default", help=f"base, {scenarios}")
    sw.add_argument(
        "--agents",
        nargs="+",
        type=_choice("agent", _agents()),
        help=f"{agent_names} (default: {' '.join(SWEEP_AGENTS)})",
    )
    sw.add_argument("--seeds", type=_positive_int, default=5, help="episodes: seeds 0..N-1")
    sw.add_argument("--steps", type=_positive_int, default=20, help="slots per episode")
    _output_arguments(sw, "results/sweep__<scenario>__<time>")
    _parallel_arguments(sw)
    sw.set_defaults(handler=_sweep)

    qu = sub.add_parser(
        "queue",
        help="agents on the queued env (NomaSplit-queue-v0) against the arrival rate",
        description="Run agents on the queued env at each arrival rate, the same arrivals "
        "and channels for all; write episodes, a summary with 95% CIs and load.png.",
        formatter_class=_Help,
    )
    qu.add_argument("--scenario", type=scenario, default="default", help=scenarios)
    qu.add_argument(
        "--agents",
        nargs="+",
        type=_choice("agent", _agents()),
        default=["all-local", "li-gd", "lyapunov"],
        help=agent_names,
    )
    qu.add_argument("--rates", default="0.3,0.5,0.7,0.9", help="arrival rates [tasks/slot]")
    qu.add_argument("--v", type=float, default=1.0, help="V of the lyapunov agent")
    qu.add_argument(
        "--run",
        action="append",
        metavar="RUN_DIR",
        help="also a policy trained with noma-split train --env queue (repeatable)",
    )
    qu.add_argument(
        "--set", action="append", metavar="FIELD=VALUE", help="a Scenario field (repeatable)"
    )
    qu.add_argument("--seeds", type=_positive_int, default=3, help="episodes: seeds 0..N-1")
    qu.add_argument("--steps", type=_positive_int, help="slots per episode (default 500)")
    _output_arguments(qu, "results/queue__<scenario>__<time>")
    qu.add_argument("--workers", type=_positive_int, help="parallel workers (default: every core)")
    qu.set_defaults(handler=_queue)

    ca = sub.add_parser(
        "cache",
        help="list (or clear) the expert datasets cached for behaviour cloning",
        description="List the expert datasets of the cache (--init bc), with their size "
        "and whether the code as it is now made them; stale ones (older code) are never "
        "read again unless that code comes back.",
        formatter_class=_Help,
    )
    what = ca.add_mutually_exclusive_group()
    what.add_argument("--clear-stale", action="store_true", help="delete the stale ones")
    what.add_argument("--clear", action="store_true", help="delete every dataset")
    ca.set_defaults(handler=_cache)
    return parser


def _output_arguments(parser: argparse.ArgumentParser, default_out: str) -> None:
    """``--out``, ``--overwrite`` and ``--no-progress-bar``."""
    parser.add_argument("--out", help=f"results folder (default: {default_out})")
    parser.add_argument(
        "--overwrite", action="store_true", help="let --out be a folder that is not empty"
    )
    parser.add_argument(
        "--no-progress-bar", dest="progress_bar", action="store_false", help="no progress bar"
    )


def _parallel_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers``, ``--backend`` and ``--address`` (of :func:`agents.runner.run`)."""
    from agents.runner import BACKENDS, default_workers

    parser.add_argument(
        "--workers",
        type=_positive_int,
        help=f"parallel workers (default: every core, here {default_workers()})",
    )
    parser.add_argument(
        "--backend",
        type=_choice("backend", BACKENDS),
        default="process",
        help='local worker processes, or Ray tasks (pip install "noma-split[ray]")',
    )
    parser.add_argument(
        "--address", help="Ray cluster address with --backend ray (default: a local instance)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), "")
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv
        return args.handler(args)
    except KeyboardInterrupt as stop:
        return _interrupted(command, stop)
    except (ValueError, FileNotFoundError, ImportError, ConnectionError) as error:
        print(f"{_prog(command)}: error: {error}", file=sys.stderr)
        return 2
    except SystemError as error:  # numba's wrapper of a Ctrl-C inside a compiled kernel
        from agents.base import caused_by_interrupt

        if caused_by_interrupt(error):
            return _interrupted(command, None)
        raise


def _interrupted(command: str, stop: BaseException | None) -> int:
    """One line on stderr and exit code 130; a second Ctrl-C now changes nothing."""
    if _main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    detail = f": {stop}" if stop is not None and str(stop) else ""
    print(f"\n{_prog(command)}: interrupted{detail}", file=sys.stderr)
    return 130


def _prog(command: str) -> str:
    return f"noma-split {command}" if command else "noma-split"


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())

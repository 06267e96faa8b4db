"""``noma-split``: the project's command line.

    noma-split rollout [--scenario default] [--agent all-local] [--steps 10] [--seed 0]

Each subcommand is argument parsing and wiring only; the logic lives in importable
modules of :mod:`train` and :mod:`agents`. Errors are one line on stderr with a
non-zero exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import agents
from noma_split_env import PRESETS

__all__ = ["main"]


def _rollout(args: argparse.Namespace) -> None:
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


def _choice(name: str, choices: Sequence[str]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise argparse.ArgumentTypeError(
                f"unknown {name} {value!r}; choose from {', '.join(choices)}"
            )
        return value

    return parse


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="noma-split", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    roll = sub.add_parser("rollout", help="run an agent for a few slots and print them")
    roll.add_argument("--scenario", type=_choice("scenario", list(PRESETS)), default="default")
    roll.add_argument("--agent", type=_choice("agent", agents.available()), default="all-local")
    roll.add_argument("--steps", type=_positive_int, default=10)
    roll.add_argument("--seed", type=int, default=0)
    roll.set_defaults(run=_rollout)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"noma-split: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
